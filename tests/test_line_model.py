"""The quality stage's line model: features, the shipped trees, its place among the rules, and its training script."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from builder.stages import Batch
from builder.stages.quality import Quality, QualityParams
from builder.stages.quality.line_model import (
    LINE_FEATURES,
    SHIPPED_LINE_MODEL,
    LineModelFileError,
    line_features,
    load_line_model,
)
from builder.stages.quality.lines import BatchLines
from conftest import ARTICLES, REPO, write_jsonl

HEADLINES = [
    "杭州全面取消住房限购 买房可申请落户",
    "奥运火种抵达马赛 开启法国境内传递",
    "上周ETF份额增加超百亿份",
    "东莞证券：电动车下半场已至",
    "云南一中学生遇害 当地发布通报",
    "华为新款平板开售 4599元起",
]
CHROME_ABOVE = ["首页", "新闻", "财经", "登录 注册"]


def page(article: list[str]) -> str:
    """An article as a crawl's text extraction gives it: menus above, a list of teaser headlines below."""
    return "\n".join([*CHROME_ABOVE, *article, "相关推荐", *HEADLINES, "关于我们 | 联系我们 | 网站地图"])


def quality(**params) -> Quality:
    return Quality(QualityParams(min_han=0, annotate=True, **params))


def test_features_are_per_line_and_blank_lines_are_zero():
    lines = BatchLines(["第一行有字。\n\n第二行也有字，而且更长一些。", "另一篇"])
    features = line_features(lines)
    assert features.shape == (lines.n_lines, len(LINE_FEATURES))
    assert not features[1].any()  # the blank line
    named = dict(zip(LINE_FEATURES, features[0]))
    assert named["is_first"] == 1 and named["next1_exists"] == 1 and named["prev1_exists"] == 0
    assert named["next1_log_chars"] == pytest.approx(np.log1p(len("第二行也有字，而且更长一些。")))
    assert dict(zip(LINE_FEATURES, features[3]))["prev1_exists"] == 0  # neighbours never cross into another document


def test_cohesion_tells_a_paragraph_of_the_article_from_a_teaser_of_another():
    article = [
        "市教育局今天公布了今年中考招生计划，全市普通高中计划招生两万三千人，比去年增加一千人。",
        "今年中考招生计划中，普通高中的招生人数增加，主要是新建的三所高中开始招生。",
        "教育局提醒考生和家长，中考招生计划以最后公布的为准，填报志愿时要注意招生人数的变化。",
    ]
    teaser = "夏季养生吃什么水果好"
    lines = BatchLines(["\n".join([*article, teaser]), "1234"])
    named = [dict(zip(LINE_FEATURES, row)) for row in line_features(lines)]
    paragraph, other = named[1], named[3]
    assert paragraph["bigrams_in_kept_lines"] > 0.5 and paragraph["bigrams_in_text_lines"] > 0.5
    assert other["bigrams_in_kept_lines"] == 0 and other["bigrams_in_text_lines"] == 0
    assert other["log_han_bigrams"] == pytest.approx(np.log1p(len(teaser) - 1))
    assert named[4]["bigrams_in_kept_lines"] == -1  # no Han at all: no share to speak of
    # Lines to the nearest text line (a kept sentence of 40+ characters): the teaser has one right above.
    assert other["log_lines_up_to_text"] == pytest.approx(np.log1p(1))
    assert other["log_lines_down_to_text"] == pytest.approx(np.log1p(1000))


def test_bigram_keys_made_a_few_pages_at_a_time_give_the_same_features(monkeypatch):
    """Keys hold a page's number in the batch in 22 bits, so larger batches are keyed in parts."""
    from builder.stages.quality import line_model

    lines = BatchLines([page(ARTICLES[:2]), "", page(ARTICLES[2:5]), "短", page(ARTICLES[:3])])
    whole = line_features(lines)
    monkeypatch.setattr(line_model, "DOCUMENTS_PER_SORT", 2)
    assert line_features(lines).tobytes() == whole.tobytes()


def test_a_document_scores_the_same_alone_and_in_a_batch():
    model = load_line_model(str(SHIPPED_LINE_MODEL))
    texts = [page(ARTICLES[:2]), page(ARTICLES[2:5]), "短"]

    def logits(batch: list[str]) -> np.ndarray:
        lines = BatchLines(batch)
        return model.logits(lines, np.flatnonzero(lines.visible > 0))

    together = logits(texts)
    alone = np.concatenate([logits([text]) for text in texts])
    assert len(together) == sum(len(t.split("\n")) for t in texts) and together.tobytes() == alone.tobytes()


def test_the_model_removes_a_menu_the_rules_keep_and_keeps_the_article():
    text = page(ARTICLES[:3])
    rules_only = quality()(Batch({"id": ["a"], "text": [text]}))["text"][0].split("\n")
    with_model = quality(line_model="builtin")(Batch({"id": ["a"], "text": [text]}))
    cleaned = with_model["text"][0].split("\n")
    assert all(paragraph in cleaned for paragraph in ARTICLES[:3])
    menu_left_by_rules = [line for line in CHROME_ABOVE if line in rules_only]
    menu_left_by_model = [line for line in CHROME_ABOVE if line in cleaned]
    assert len(menu_left_by_rules) >= 3 and len(menu_left_by_model) <= 1  # short lines above an article: the rules let them head it
    assert with_model.counters["quality.lines_removed.line_model"] >= len(menu_left_by_rules) - len(menu_left_by_model)


def test_a_model_off_leaves_the_rules_alone_and_thresholds_steer_it():
    text = page(ARTICLES[:3])
    off = quality()(Batch({"id": ["a"], "text": [text]}))["text"][0]
    never = quality(line_model="builtin", line_model_remove_above=1.0, line_model_restore_below=0.0)
    assert never(Batch({"id": ["a"], "text": [text]}))["text"][0] == off


def test_bad_model_files_are_named(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        QualityParams(line_model=str(tmp_path / "missing.npz"))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ValidationError, match="broken.npz"):
        QualityParams(line_model=str(broken))
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(LineModelFileError, match="lacks"):
        load_line_model(str(tmp_path / "other.npz"))
    with pytest.raises(ValidationError):
        QualityParams(line_model_remove_above=1.5)


def test_training_script_exports_trees_the_stage_loads(tmp_path):
    pytest.importorskip("sklearn")
    root = tmp_path / "realweb"
    docs, labels = [], []
    for i in range(30):
        article = [ARTICLES[(i + k) % len(ARTICLES)] for k in range(2)]
        docs.append({"id": f"du-{i}", "text": page(article), "locator": {"question_id": i}})
        junk = [*range(len(CHROME_ABOVE)), *range(len(CHROME_ABOVE) + 2, len(CHROME_ABOVE) + 2 + len(HEADLINES) + 2)]
        labels.append({"id": f"du-{i}", "doc_label": "keep", "category": "article", "junk_lines": junk, "note": ""})
    write_jsonl(root / "text" / "dureader_search.jsonl", docs)
    write_jsonl(root / "labels" / "dureader.jsonl", labels)
    pages = [{"id": f"magichtml-{i}", "text": page(ARTICLES[i % 6 : i % 6 + 1]), "url": f"https://s{i}.example.cn/a"} for i in range(10)]
    # Pages whose lines were read one by one (`--extra-labels`), beside those with a true main content.
    read = [{"id": f"gne-{i}", "text": page(ARTICLES[i % 6 : i % 6 + 1]), "url": f"https://r{i}.example.cn/a"} for i in range(10)]
    write_jsonl(root / "html" / "page_text.jsonl", pages + read)
    write_jsonl(root / "html" / "main_content.jsonl", [
        {"file": f"{p['id']}.html", "main_content": ARTICLES[i % 6]} for i, p in enumerate(pages)])  # fmt: skip
    write_jsonl(tmp_path / "extra" / "lines.jsonl", [
        {"id": p["id"], "doc_label": "keep", "category": "article", "note": "",
         "junk_lines": [*range(len(CHROME_ABOVE)), *range(len(CHROME_ABOVE) + 1, len(CHROME_ABOVE) + 1 + len(HEADLINES) + 2)]}
        for p in read])  # fmt: skip
    out = tmp_path / "model"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "train_line_model.py"), str(root), "--out", str(out), "--trees", "20",
         "--extra-labels", str(tmp_path / "extra")],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert min(metrics["trained_on"][source] for source in ("dureader", "main_content", "html_lines")) > 0
    assert set(metrics["grid"]["rules"]) == {"dureader_junk_removed", "dureader_good_removed", "html_junk_removed", "html_good_removed",
                                             "main_chars_kept", "other_chars_removed"}
    model = load_line_model(str(out / "line_model.npz"))
    assert len(model.trees.roots) == 20 and model.ngram_weights.any()
    stage = quality(line_model=str(out / "line_model.npz"))
    cleaned = stage(Batch({"id": ["a"], "text": [page(ARTICLES[:2])]}))["text"][0]
    assert all(paragraph in cleaned for paragraph in ARTICLES[:2])
