"""benchmarks/eval_realweb.py: line accounting on hand-made cases, and every figure on a tiny folder laid out like realweb.

The folder's text is written here (nothing from ../shared/realweb); it runs through the real builder
with the flagship recipe once, and each figure is checked against what the text and labels make it.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

from conftest import write_jsonl

REPO = Path(__file__).resolve().parents[1]


def load_eval():
    spec = importlib.util.spec_from_file_location("eval_realweb", REPO / "benchmarks" / "eval_realweb.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


E = load_eval()


def han_alnum(text: str) -> int:
    """Characters the fingerprint counts, counted independently of it: Han, ASCII letters and digits."""
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or (c.isascii() and c.isalnum()))


# -- line accounting -------------------------------------------------------------------------------

def test_fingerprint_folds_width_and_case_and_drops_punctuation_and_placeholders():
    assert E.fingerprint("Ｈｅｌｌｏ，世界！１２３") == "hello世界123"
    assert E.fingerprint("電話：<PHONE>。 ") == "電話"
    assert E.fingerprint("——，。！？   ") == ""


def test_removed_repeated_and_redacted_lines():
    lines = ["首页 | 新闻 | 体育", "今天天气很好，我们去公园散步。", "联系电话：13812345678", "今天天气很好，我们去公园散步。", "", "——"]
    kept = "今天天气很好，我们去公园散步。\n联系电话：<PHONE>"
    assert E.kept_per_line(lines, kept) == [(0, 6), (13, 13), (4, 15), (0, 13), (0, 0), (0, 0)]
    # the repeat counts as removed; the redacted line keeps 4 of 15, under half: removed too
    assert [E.line_is_kept(*c) for c in E.kept_per_line(lines, kept)] == [False, True, False, False, False, False]


def test_a_line_split_in_several_and_width_folded_counts_whole():
    lines = ["第一句话很长很长 | 第二句话也很长很长", "ＡＰＰ下载量超过１００万次"]
    assert E.kept_per_line(lines, "第一句话很长很长\n第二句话也很长很长\nAPP下载量超过100万次") == [(17, 17), (13, 13)]


def test_a_short_kept_line_is_matched_as_a_whole_line_not_inside_earlier_text():
    nav = "栏目" * 30 + "总结" + "栏目" * 5  # contains 总结 far past the cursor
    lines = [nav, "总结", "全文完，感谢阅读这篇文章。"]
    assert E.kept_per_line(lines, "总结\n全文完，感谢阅读这篇文章。") == [(0, 72), (2, 2), (11, 11)]


def test_a_dropped_document_keeps_nothing_and_untraced_text_is_counted():
    assert E.kept_per_line(["一行字", "二行字"], None) == [(0, 3), (0, 3)]
    alignment = E.align(["一行字"], "一行字\n新添加")
    assert alignment.lines == [(3, 3)] and alignment.untraced == 3


def test_main_content_lines_short_ones_only_as_whole_lines():
    main = "标题在这里\n正文第一段写了很多内容。\n正文第二段"
    page = ["首页", "标题在这里", "正文第一段写了很多内容。", "正文", "正文第二段", "版权所有"]
    assert E.main_line_labels(page, main) == [False, True, True, False, True, False]


# -- the whole run on a tiny folder ------------------------------------------------------------------

ART = [
    "城市公园在周末举办了一场社区读书会，吸引了许多附近的居民参加。",
    "组织者介绍说，活动已经连续举办了三年，每个月选一本书，大家轮流分享自己的读后感。",
    "一位退休教师表示，她在这里认识了很多新朋友，也重新找回了读书的乐趣。",
    "主办方计划明年把读书会扩展到更多街道，并邀请作家来和读者面对面交流。",
]
CRUMB = "首页 > 新闻 > 社区"
ICP = "版权所有 © 2023 社区网 京ICP备12345678号"
COMMENT = "网友留言说这次活动办得非常好，希望以后能够多举办一些类似的活动。"
ENGLISH = "This page is written in English only, with several sentences about a community reading club. It has no Chinese at all."


def write_folder(root: Path) -> Path:
    page = "\n".join([CRUMB, *ART, ICP])
    write_jsonl(root / "text" / "dureader_search.jsonl", [
        {"id": "d-keep", "text": page, "url": None},
        {"id": "d-short", "text": "好的。", "url": None},
        {"id": "d-english", "text": ENGLISH, "url": None},
        {"id": "d-good-labelled-drop", "text": "\n".join(ART), "url": None},
    ])
    write_jsonl(root / "labels" / "dureader.jsonl", [
        # line 3 (ART[2]) is labelled junk here on purpose: a junk line the builder keeps
        {"id": "d-keep", "doc_label": "keep", "category": "article", "junk_lines": [0, 3, 5], "note": ""},
        {"id": "d-short", "doc_label": "drop", "category": "too_short", "junk_lines": [], "note": ""},
        {"id": "d-english", "doc_label": "keep", "category": "other", "junk_lines": [], "note": ""},
        {"id": "d-good-labelled-drop", "doc_label": "drop", "category": "seo_other_spam", "junk_lines": [], "note": "a test label"},
    ])
    write_jsonl(root / "text" / "crud_rag_news.jsonl", [
        {"id": "n-1", "text": "".join(ART), "url": None},
        {"id": "n-2", "text": "短讯。", "url": None},
    ])
    write_jsonl(root / "html" / "page_text.jsonl", [
        {"id": "page-a", "text": "\n".join([CRUMB, ART[0], ART[1], COMMENT, ICP]), "url": None},
        {"id": "page-b", "text": "好的。", "url": None},
        {"id": "page-c", "text": "\n".join([CRUMB, *ART, ICP]), "url": None},
    ])
    write_jsonl(root / "labels" / "html_pages.jsonl", [
        {"id": "page-a", "doc_label": "keep", "category": "article", "junk_lines": [], "note": ""},
        {"id": "page-b", "doc_label": "drop", "category": "too_short", "junk_lines": [], "note": ""},
    ])
    write_jsonl(root / "html" / "main_content.jsonl", [
        {"file": "page-c.html", "kind": "article", "main_content": "\n".join(ART)},
    ])
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = write_folder(tmp_path_factory.mktemp("realweb"))
    json_path = folder.parent / "figures.json"
    # A pinned recipe, so that these figures test the scoring, not whatever the flagship recipe does today.
    recipe = folder.parent / "recipe.yaml"
    recipe.write_text(
        "name: eval-test\nversion: 1.0.0\ninput: {paths: [unused.jsonl], format: jsonl}\n"
        "stages:\n  - type: normalize\n  - type: language\n  - type: quality\n  - type: dedup\n",
        encoding="utf-8",
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = E.main([str(folder), "--config", str(recipe), "--show", "3", "--json", str(json_path)])
    assert code == 0
    return json.loads(json_path.read_text(encoding="utf-8")), printed.getvalue()


def test_builder_funnel_and_skipped_parts(run):
    figures, printed = run
    assert figures["builder"]["input"] == 9
    assert figures["builder"]["kept"] == 5  # d-keep, d-good-labelled-drop, n-1, page-a, page-c
    assert sum(figures["builder"]["dropped"].values()) + sum(figures["builder"]["quarantined"].values()) == 4
    assert figures["stages"] == ["normalize", "language", "quality"]  # dedup left out
    assert figures["skipped"] == []
    assert "normalize → language → quality" in printed


def test_page_level_figures(run):
    figures, printed = run
    page = figures["dureader"]["page"]
    assert (page["labelled"], page["labelled_drop"], page["labelled_keep"]) == (4, 2, 2)
    assert (page["dropped_and_labelled_drop"], page["kept_but_labelled_drop"], page["dropped_but_labelled_keep"]) == (1, 1, 1)
    assert (page["drop_recall"], page["drop_precision"], page["keep_recall"]) == (0.5, 0.5, 0.5)
    assert page["per_category"] == {"drop/seo_other_spam": {"documents": 1, "dropped": 0}, "drop/too_short": {"documents": 1, "dropped": 1},
                                    "keep/article": {"documents": 1, "dropped": 0}, "keep/other": {"documents": 1, "dropped": 1}}
    html = figures["html_pages"]["page"]
    assert (html["drop_recall"], html["drop_precision"], html["keep_recall"]) == (1.0, 1.0, 1.0)
    assert "lines" not in figures["html_pages"]  # page labels only
    assert figures["misses"]["kept_but_labelled_drop"] == [["d-good-labelled-drop", "seo_other_spam", "a test label"]]
    [[doc_id, reason, _detail]] = figures["misses"]["dropped_but_labelled_keep"]
    assert (doc_id, reason) == ("d-english", "language.not_kept")
    assert "d-good-labelled-drop" in printed and "target >= 90%" in printed


def test_line_level_figures(run):
    figures, _ = run
    lines = figures["dureader"]["lines"]
    # junk: the breadcrumb and ICP lines (removed) and ART[2] (kept); good: the other three sentences
    assert (lines["junk_lines"], lines["junk_removed"], lines["good_lines"], lines["good_removed"]) == (3, 2, 3, 0)
    assert lines["junk_lines_removed"] == 2 / 3 and lines["good_lines_removed"] == 0.0
    assert lines["per_category"]["article"]["junk_removed"] == 2


def test_news_and_main_content_figures(run):
    figures, _ = run
    news = figures["news"]
    assert (news["documents"], news["kept"], news["dropped"], news["dropped_ids"]) == (2, 1, 1, ["n-2"])
    assert sum(news["dropped_by_reason"].values()) == 1 and news["kept_articles_chars_removed"] == 0.0
    main = figures["main_content"]
    assert (main["pages"], main["pages_dropped"]) == (1, 0)
    assert main["main_chars"] == main["main_chars_kept"] == sum(map(han_alnum, ART))
    assert main["non_main_chars"] == main["non_main_chars_removed"] == han_alnum(CRUMB) + han_alnum(ICP)
    assert main["main_content_kept"] == 1.0 and main["non_main_removed"] == 1.0


def test_share_of_kept_characters_labelled_junk(run):
    figures, _ = run
    junk = figures["kept_junk"]
    assert junk["kept_drop_doc_chars"] == sum(map(han_alnum, ART))       # d-good-labelled-drop, kept whole
    assert junk["kept_junk_line_chars"] == han_alnum(ART[2])             # the one junk line kept
    assert junk["kept_non_main_chars"] == 0
    labelled_kept = 4 * sum(map(han_alnum, ART)) + han_alnum(COMMENT)   # d-keep, d-good-labelled-drop, page-c, page-a
    assert junk["kept_labelled_chars"] == labelled_kept - han_alnum(ART[2]) - han_alnum(ART[3])
    assert junk["junk_share_of_kept"] == junk["junk_chars"] / junk["kept_labelled_chars"]
    assert figures["alignment"]["kept_chars_untraced"] == 0


def test_limit_reads_the_first_documents_of_each_source(tmp_path):
    folder = E.read_folder(write_folder(tmp_path), limit=1)
    assert {s: [r["id"] for r in rs] for s, rs in folder.documents.items()} == {
        "dureader": ["d-keep"], "news": ["n-1"], "html_pages": ["page-a"]}
    assert list(folder.labels["dureader"]) == ["d-keep"] and folder.main_content == {}


def test_missing_parts_are_skipped_and_said(tmp_path):
    root = write_folder(tmp_path)
    (root / "html" / "main_content.jsonl").unlink()
    (root / "labels" / "dureader.jsonl").unlink()
    (root / "text" / "crud_rag_news.jsonl").unlink()
    folder = E.read_folder(root)
    assert folder.skipped == ["dureader: labels/dureader.jsonl not found, documents run but not scored",
                              "news: text/crud_rag_news.jsonl not found",
                              "main_content: html/main_content.jsonl not found"]


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    root = write_folder(tmp_path)
    with open(root / "labels" / "dureader.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "d-short", "category": "too_short"}\n')
    assert E.main([str(root)]) == 2
    assert f"{root / 'labels' / 'dureader.jsonl'}:5: missing field 'doc_label'" in capsys.readouterr().err
    write_jsonl(root / "labels" / "dureader.jsonl", [])
    write_jsonl(root / "html" / "page_text.jsonl", [{"id": "d-keep", "text": "重复的编号", "url": None}])
    assert E.main([str(root)]) == 2
    assert "page_text.jsonl:1: field 'id' 'd-keep' already used in text/dureader_search.jsonl" in capsys.readouterr().err
    assert E.main([str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
