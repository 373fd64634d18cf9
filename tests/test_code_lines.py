"""Program code inside Chinese pages: which lines are code, and that rules and the page model read
the prose around it instead of treating a tutorial's script as junk."""
from __future__ import annotations

import numpy as np

from builder.stages import Batch
from builder.stages.language import Language, LanguageParams
from builder.stages.quality import Quality, QualityParams
from builder.stages.quality.lines import BatchLines
from builder.stages.quality_model import QualityModel, QualityModelParams
from builder.stages.quality_model.prose import prose_for_scoring

INTRO = (
    "在部署服务之前，先说明一下为什么要自己写启动脚本：容器编排工具虽然方便，但出了问题很难排查，"
    "而一段简单的脚本可以把每一步都写清楚，出错时也能很快定位到是哪一步。下面是我在线上用的版本。"
)
OUTRO = (
    "注意事项：容器之间通过名字互相访问时，需要先把它们放进同一个网络；另外，挂载本地时区文件可以避免"
    "日志时间相差八个小时的问题。以上脚本在两台服务器上运行了半年，没有出过问题，供大家参考。"
)
SERVICE = [
    "docker stop {name} && docker rm {name}",
    "docker run -d --name {name} \\",
    "-v /etc/localtime:/etc/localtime:ro \\",
    "-e ENV=dev \\",
    "-e JAVA_OPTS='-Xmx128m -Xms128m' \\",
    "example/{name}:2.0.1",
    "sleep 30s",
]
SCRIPT = [line.format(name=name) for name in ("config", "admin", "portal") for line in SERVICE]
TUTORIAL = "\n".join(["部署配置中心", INTRO, *SCRIPT, OUTRO])


def code_of(texts: list[str]) -> list[list[bool]]:
    lines = BatchLines(texts)
    return [lines.code[lines.first_line[d] : lines.first_line[d + 1]].tolist() for d in range(len(texts))]


def test_code_lines_are_told_from_prose_timestamps_rules_links_and_markup():
    lines = [
        ("int main() {", True),
        ("}", True),
        ("import numpy as np", True),  # no program punctuation, but beside a code line
        ("x = np.arange(10)", True),
        ("# 设置代理，中文注释是正文", False),
        ("2016-11-08 11:31:56", False),
        ("==========================", False),
        ("https://www.example.com/a/b?c=1", False),
        ("<span id=\"0ztrd\"></span>", False),
        ("Home | About | Services | Blog | Contact", False),  # a menu
        ("百家乐 http://www.example.com/vod/1.html", False),  # anchor text and link: a link list
        ("本文来源：新华网，记者从会上获悉，项目将于明年开工。", False),
        ("SELECT name FROM users WHERE id = 1;", True),
        ("git clone https://github.com/example/repo.git", True),  # a link inside a command beside code
        ("make install;", True),
    ]
    assert code_of(["\n".join(line for line, _ in lines)])[0] == [code for _, code in lines]
    assert code_of([f"{INTRO}\nimport numpy as np\n{OUTRO}"])[0] == [False, False, False]


def test_a_command_beside_code_is_code_only_on_its_own_page():
    """`sleep 30s` under a script line is code; at the top of the next page of a batch it is not."""
    alone = code_of(["sleep 30s\n正文第一段，说明这个命令的作用。"])[0]
    after_script = code_of(["docker run -d --name web \\\nsleep 30s", "sleep 30s\n正文第一段，说明这个命令的作用。"])
    assert after_script[0] == [True, True]
    assert after_script[1] == alone == [False, False]


def test_a_tutorial_keeps_its_repeated_script_lines_and_is_not_dropped():
    stage = Quality(QualityParams(line_model=None))
    out = stage(Batch({"id": ["t"], "text": [TUTORIAL]}))
    assert out.drops == {}
    kept = out["text"][0].split("\n")
    assert kept.count("-e ENV=dev \\") == 3 and kept.count("sleep 30s") == 3
    # The same repeats in prose still go: the third copy of a sentence line is a repeat.
    prose_copies = "\n".join([INTRO, OUTRO, *["这一段话在页面上重复出现了三次，用来说明重复行的规则。"] * 3])
    assert "repeat" in stage.clean_lines([prose_copies]).rule.tolist()


def test_the_page_model_scores_a_page_that_is_mostly_code_on_its_prose():
    prose_only = "\n".join(["部署配置中心", INTRO, OUTRO])
    assert prose_for_scoring([TUTORIAL, prose_only], 0.2) == [prose_only, prose_only]
    assert prose_for_scoring([TUTORIAL], 1.0) == [TUTORIAL]  # 1: every page scored whole
    little_code = "\n".join([INTRO, "x = 1;", OUTRO])
    assert prose_for_scoring([little_code], 0.2) == [little_code]

    scored = QualityModel(QualityModelParams(annotate=True))
    whole = QualityModel(QualityModelParams(annotate=True, code_share=1.0))
    batch = lambda: Batch({"id": ["t", "p"], "text": [TUTORIAL, prose_only]})  # noqa: E731
    tutorial, prose = scored(batch())["quality_score"]
    assert tutorial == prose
    assert whole(batch())["quality_score"][0] < tutorial


def test_code_mask_is_vectorised_over_any_batch_the_same_as_alone():
    rng = np.random.default_rng(0)
    pieces = [*SCRIPT, INTRO, OUTRO, "}", "", "2016-11-08 11:31:56", "sleep 30s"]
    pages = ["\n".join(rng.choice(pieces, size=rng.integers(1, 12)).tolist()) for _ in range(40)]
    together = code_of(pages)
    assert together == [code_of([page])[0] for page in pages]


def test_a_tutorial_that_is_half_script_is_chinese_and_a_menu_beside_english_is_no_code():
    language = Language(LanguageParams())
    out = language(Batch({"id": ["t"], "text": [TUTORIAL]}))
    assert out.drops == {} and out["lang"] == ["zh"]
    english = "Home | About | Contact\nWe build tools for data teams. Our products help you clean and ship data."
    assert code_of([english])[0] == [False, False]


def test_a_pages_code_block_is_kept_whatever_its_lines_look_like():
    """Lines that look like a byline (`-p 19090:19090 \\`), a menu (`-v "/sys:/host/sys" \\`) or symbols (`}`)
    are kept inside a page's code; the same shapes alone on a page of prose still go."""
    script = ["docker run -d --name=node-exporter \\", "-p 19100:19100 \\", '-v "/proc:/host/proc" \\',
              '-v "/sys:/host/sys" \\', "prom/node-exporter", "if (ready) {", "    start();", "}"]
    page = "\n".join(["部署监控", INTRO, *script, OUTRO])
    stage = Quality(QualityParams())  # the shipped line model too
    out = stage(Batch({"id": ["t"], "text": [page]}))
    assert out.drops == {} and all(line in out["text"][0].split("\n") for line in script)
    stray = "\n".join([INTRO, "}", OUTRO])
    assert stage.clean_lines([stray]).rule.tolist()[1] == "symbols"
