"""line_frequency: line keys, the counting rules, the copy guard, and edits applied by the real runner."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from builder.config import load_config
from builder.runner import Build
from builder.stages import Batch, Edit, GlobalContext, Keys
from builder.stages.line_frequency import LineFrequency, LineFrequencyParams, site_of
from builder.text.line_keys import line_keys
from conftest import REPO, run_cli, write_config, write_jsonl
from test_dedup import chinese_text

HEADER = "首页 > 新闻中心 > 行业动态"
SHARE = "分享到： 微信 微博 QQ空间"
FOOTER = "Copyright © 2023 示例网 版权所有"


def decide(texts: list[str], urls: list[str | None] | None = None, **params) -> tuple[list, dict]:
    """Map in batches of 3 (so records cross batch boundaries), then decide, as the runner does."""
    stage = LineFrequency(LineFrequencyParams(**params))
    urls = urls or [None] * len(texts)
    tables = []
    for lo in range(0, len(texts), 3):
        batch = stage(Batch({"id": [str(i) for i in range(lo, min(lo + 3, len(texts)))], "text": texts[lo : lo + 3], "url": urls[lo : lo + 3]}))
        tables.append(pa.table({"id": batch["id"], **{c: pa.array(batch[c], t) for c, t in stage.key_columns().items()}}))
    context = GlobalContext([], None)
    return stage.decide(Keys(tables, tables[0].schema), context), dict(context.counters)


def removed_lines(texts: list[str], decisions: list) -> list[list[str]]:
    return [[t.split("\n")[i] for i in d.lines] if isinstance(d, Edit) else [] for t, d in zip(texts, decisions)]


def page(seed: int, *chrome: str, size: int = 300) -> str:
    return "\n".join([chrome[0], chinese_text(seed, size), *chrome[1:]]) if chrome else chinese_text(seed, size)


# -- line keys ----------------------------------------------------------------------

def test_line_keys_fold_width_whitespace_case_and_digit_runs():
    texts = ["第3页 共12页\n２０２３－０１－０５\nＡＢＣ", "第4页  共9页\n2024-11-30\nabc\n第三页"]
    keys = line_keys(texts)
    first, second = keys.hash[:3].tolist(), keys.hash[3:6].tolist()
    assert first == second  # numbers, widths, spaces and case aside, the lines are the same
    assert keys.hash[6] not in first  # Chinese numerals are words, not numbers
    assert keys.key_chars.tolist() == [6, 5, 3, 6, 5, 3, 3]  # 第0页共0页, 0-0-0, abc, 第三页
    assert keys.chars.tolist() == [len(line) for t in texts for line in t.split("\n")]


def test_line_keys_number_every_line_of_every_text_including_empty_ones():
    texts = ["a\n\nb\n", "", "\n", "𠀀𠀀𠀀\nxyz"]
    keys = line_keys(texts)
    expected = [(d, i) for d, t in enumerate(texts) for i in range(len(t.split("\n")))]
    assert list(zip(keys.doc.tolist(), keys.index.tolist())) == expected
    assert keys.key_chars.tolist() == [1, 0, 1, 0, 0, 0, 0, 3, 3]


def test_line_keys_are_stable_across_processes():
    """No per-process salt: another interpreter (another worker, another run) gets the same keys."""
    texts = ["首页 > 新闻", "分享到：微信", chinese_text(3, 200)]
    here = line_keys(texts).hash.tolist()
    code = f"from builder.text.line_keys import line_keys; print(line_keys({texts!r}).hash.tolist())"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert json.loads(there) == here
    assert len(set(here)) == 3


# -- the rules ----------------------------------------------------------------------

def test_corpus_rule_counts_distinct_documents_not_occurrences():
    texts = [page(i, HEADER, FOOTER, size=400) for i in range(5)]
    texts += [page(10, SHARE, SHARE, SHARE, SHARE, SHARE, size=400)]  # five times on one page: one document
    decisions, _ = decide(texts, min_corpus_docs=5)
    removed = removed_lines(texts, decisions)
    assert removed[:5] == [[HEADER, FOOTER]] * 5
    assert removed[5] == []


def test_a_line_on_fewer_documents_than_the_threshold_stays():
    texts = [page(i, HEADER, size=400) for i in range(4)] + [page(9, size=400)]
    decisions, _ = decide(texts, min_corpus_docs=5)
    assert decisions == [None] * 5


def test_digits_are_one_class_so_page_counters_and_dates_match():
    texts = [page(i, f"第{i + 1}页 共{30 + i}页", f"发布时间：2023-0{i + 1}-1{i}", size=400) for i in range(6)]
    decisions, _ = decide(texts, min_corpus_docs=5)
    assert [len(d.lines) for d in decisions] == [2] * 6


def test_site_rule_needs_documents_and_a_share_of_the_site():
    site_a = [page(i, HEADER, size=400) for i in range(3)]  # 3 of site a's 4 pages
    site_a.append(page(3, size=400))
    big_site = [page(100 + i, SHARE, size=400) for i in range(3)] + [page(200 + i, size=200) for i in range(40)]  # 3 of 43
    no_url = [page(300 + i, FOOTER, size=400) for i in range(3)]  # same count, no site: only the corpus rule
    texts = site_a + big_site + no_url
    urls = [f"https://www.a.example/{i}" for i in range(4)] + [f"http://big.example/p{i}" for i in range(43)] + [None] * 3
    decisions, _ = decide(texts, urls, min_site_docs=3, min_site_share=0.1, min_corpus_docs=50)
    removed = removed_lines(texts, decisions)
    assert removed[:3] == [[HEADER]] * 3
    assert not any(removed[4:])


def test_the_same_line_on_different_sites_is_counted_per_site():
    texts = [page(i, HEADER, size=400) for i in range(4)]
    urls = ["https://a.example/1", "https://b.example/1", "https://c.example/1", "https://d.example/1"]
    decisions, _ = decide(texts, urls, min_site_docs=2, min_corpus_docs=50)
    assert decisions == [None] * 4  # one page per site, four pages in the corpus: below both rules


def test_short_lines_are_neither_counted_nor_removed():
    texts = [page(i, "谢谢", "是", size=400) for i in range(8)]
    decisions, _ = decide(texts, min_corpus_docs=5, min_line_chars=3)
    assert decisions == [None] * 8


def test_exact_copies_count_once():
    article = page(1, HEADER, FOOTER, size=600)
    decisions, counters = decide([article] * 8, min_corpus_docs=5)
    assert decisions == [None] * 8
    assert counters["line_frequency.documents_guarded"] == 0


def test_copy_guard_leaves_near_copies_unchanged():
    """Six reposts of a poem (short lines) and twelve of an article (prose lines), each with its own last line."""
    names = ["人民网", "新华网", "澎湃新闻", "观察者网", "环球网", "南方都市报", "中国日报", "光明网", "央视网", "中新网", "凤凰网", "网易新闻"]
    verses = [chinese_text(40 + i, 12).replace("\n", "") for i in range(12)]
    poems = ["\n".join([*verses, f"本文转载自{name}"]) for name in names[:6]]
    paragraphs = [chinese_text(5 + i, 300).replace("\n", "") for i in range(5)]
    articles = ["\n".join([*paragraphs, f"本文转载自{name}，编辑说明"]) for name in names]
    others = [page(20 + i, HEADER, size=1500) for i in range(5)]
    decisions, counters = decide(poems + articles + others, min_corpus_docs=5, max_removed_share=0.5)
    assert decisions[:18] == [None] * 18
    # every poem; every article but the first, which keeps the first copy of each paragraph anyway
    assert counters["line_frequency.documents_guarded"] == 6 + 11
    assert removed_lines(others, decisions[18:]) == [[HEADER]] * 5


def test_long_lines_need_more_documents_and_keep_their_first_copy():
    quote = "这是一段很长的引文，" * 6  # 60 characters: prose length
    texts = [page(i, quote, HEADER, size=800) for i in range(10)]
    decisions, _ = decide(texts[:5], min_corpus_docs=5, long_line_chars=50, long_line_factor=2)
    assert removed_lines(texts[:5], decisions) == [[HEADER]] * 5  # the quote is on 5 < 5 x 2 documents
    decisions, _ = decide(texts, min_corpus_docs=5, long_line_chars=50, long_line_factor=2)
    removed = removed_lines(texts, decisions)
    assert removed[0] == [HEADER]  # the first document keeps the quote
    assert removed[1:] == [[quote, HEADER]] * 9


@pytest.mark.parametrize("params", [
    {"min_corpus_docs": 1}, {"min_site_docs": -3}, {"min_site_share": 0}, {"min_site_share": 1.5},
    {"max_removed_share": 0}, {"min_line_chars": 0}, {"long_line_factor": 0.5}, {"min_line_chars": 10, "long_line_chars": 5},
    {"min_corpus_dcos": 5},
])
def test_absurd_params_are_rejected(params):
    with pytest.raises(ValidationError):
        LineFrequencyParams(**params)


def test_site_is_the_host_without_www():
    assert site_of("https://WWW.Example.com:8080/a?b") == "example.com"
    assert site_of("http://news.sina.com.cn/c/x.shtml") == "news.sina.com.cn"
    assert [site_of(u) for u in (None, "", "not a url", "http://[broken")] == [None] * 4


# -- through the runner and the CLI ------------------------------------------------------

STAGES = "  - type: normalize\n  - type: line_frequency\n    min_corpus_docs: 4\n    max_removed_share: 1.0\n  - type: dedup\n"


def site_corpus() -> tuple[list[dict], dict[str, str]]:
    """Three sites with their own header and footer, a share bar they all have, distinct articles."""
    records, articles = [], {}
    for s, site in enumerate(["news.example.cn", "www.blog.example.com", "tw.example.org"]):
        for i in range(5):
            doc_id = f"{site}-{i}"
            articles[doc_id] = chinese_text(1000 * s + i, 500)
            text = "\n".join([f"{site} 首页 > 第{i + 1}页", articles[doc_id], SHARE, f"Copyright © 20{10 + i} {site} 版权所有"])
            records.append({"id": doc_id, "url": f"https://{site}/a/{i}.html", "text": text})
    records.append({"id": "only-chrome", "url": "https://news.example.cn/empty", "text": f"news.example.cn 首页 > 第9页\n{SHARE}"})
    return records, articles


def read_rows(version_dir: Path) -> list[dict]:
    return [r for f in sorted((version_dir / "data").glob("*.parquet")) for r in pq.read_table(f, columns=["id", "text"]).to_pylist()]


def rejected(version_dir: Path) -> list[dict]:
    manifest = json.loads((version_dir / "MANIFEST.json").read_text())
    return [r for s in manifest["rejected"] for r in pq.read_table(version_dir.parent / s["path"], columns=["id", "reason"]).to_pylist()]


def test_build_removes_chrome_keeps_articles_and_is_identical_for_one_and_two_workers(tmp_path):
    records, articles = site_corpus()
    source = write_jsonl(tmp_path / "in" / "pages.jsonl", records)
    outputs = []
    for workers in (1, 2):
        result = Build(load_config(write_config(tmp_path / f"c{workers}.yaml", [source], stages=STAGES, root=tmp_path / f"out{workers}", workers=workers))).run()
        rows = read_rows(result.version_dir)
        assert [r["text"] for r in rows] == [articles[r["id"]] for r in rows]  # chrome gone, every article whole
        assert sorted(r["id"] for r in rows) == sorted(articles)
        assert rejected(result.version_dir) == [{"id": "only-chrome", "reason": "line_frequency.all_lines_removed"}]

        report = result.report
        assert report["kept"]["documents"] + sum(d["documents"] for d in report["dropped"].values()) == report["input"]["documents"]
        assert report["counters"]["line_frequency.documents_edited"] == 15
        assert report["counters"]["line_frequency.lines_removed"] == 45
        removed_chars = sum(len(r["text"]) - len(articles[r["id"]]) for r in records if r["id"] in articles)
        assert report["counters"]["line_frequency.characters_removed"] == removed_chars
        stage = next(s for s in report["stages"] if s["type"] == "line_frequency")
        assert stage["documents_in"] - stage["documents_out"] == 1
        assert stage["characters_in"] - stage["characters_out"] == removed_chars + len(records[-1]["text"])
        files = sorted((result.version_dir / "data").glob("*.parquet")) + sorted((result.version_dir.parent / "runs").rglob("*.parquet"))
        outputs.append({f.name: f.read_bytes() for f in files})
    assert outputs[0] == outputs[1]


def test_cli_build_with_the_stage_between_language_and_quality(tmp_path):
    records, articles = site_corpus()
    source = write_jsonl(tmp_path / "in" / "pages.jsonl", records[:-1])
    stages = (
        "  - type: normalize\n  - type: language\n    scripts: [Hans, Hant, mixed]\n"
        "  - type: line_frequency\n    min_corpus_docs: 4\n  - type: quality\n"
    )
    config = write_config(tmp_path / "c.yaml", [source], stages=stages, extra="  url_field: url\n")
    done = run_cli("--config", str(config), "-q")
    assert done.returncode == 0, done.stderr
    version_dir = tmp_path / "out" / "test-set" / "v1.0.0"
    rows = read_rows(version_dir)
    assert rows and all(SHARE not in r["text"] and "版权所有" not in r["text"] and "首页 >" not in r["text"] for r in rows)
    for row in rows:  # quality may reflow or drop a page, never put chrome back or cut into an article
        assert row["text"].replace("\n", "") in articles[row["id"]].replace("\n", "")
    report = json.loads((version_dir / "report.json").read_text())
    assert report["counters"]["line_frequency.lines_removed"] == 45


def test_bad_param_names_the_key(tmp_path):
    config = write_config(tmp_path / "c.yaml", ["x.jsonl"], stages="  - type: line_frequency\n    min_corpus_docs: -1\n")
    done = run_cli("--config", str(config))
    assert done.returncode == 2
    assert "min_corpus_docs" in done.stderr and "Traceback" not in done.stderr


def test_sorted_groups_walk_every_line_once_and_never_split_a_group():
    import numpy as np

    from builder.stages.line_frequency import _sorted_groups

    rng = np.random.default_rng(7)
    keys = np.concatenate([np.full(50, 7, dtype=np.uint64), rng.integers(0, 20, size=300).astype(np.uint64)])
    rng.shuffle(keys)
    seen, group_keys = [], []
    for rows, first in _sorted_groups(keys, slice_lines=4):
        seen.extend(rows.tolist())
        assert first[0] == 0
        group_keys.extend(keys[rows[first]].tolist())
        for a, b in zip(first, [*first[1:], len(rows)]):
            assert len(set(keys[rows[a:b]].tolist())) == 1
    assert sorted(seen) == list(range(len(keys)))
    assert len(group_keys) == len(set(group_keys)) == len(set(keys.tolist()))  # no group cut across slices
