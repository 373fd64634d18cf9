"""The bundled sample corpus is intact and still carries every kind of document it promises.

Evidence is read from the texts themselves (scripts, duplicates, noise patterns); the labels
file is checked against the texts, not trusted.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from builder.text.chars import HANGUL_RE, HAN_RE, KANA_RE

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
JSONL = SAMPLES / "zh-web-sample.jsonl"
LABELS = SAMPLES / "zh-web-sample.labels.tsv"

# Characters that exist only in Traditional script and are frequent in running text.
HANT_MARKERS = set("們這國說會與為發時來對開關還過當變從讓點實現體長萬條區經")
SPAM_WORDS = ("百家乐", "澳门赌场", "无码", "毛片", "免费观看", "在线播放", "破解版", "百家樂", "澳門賭場")
GLUED_PINYIN = re.compile(r"[\u4e00-\u9fff]\([a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜ]+\)")
CJK_HALF_WIDTH = re.compile(r"[\u4e00-\u9fff][,:?][\u4e00-\u9fff]")
LATIN1_MOJIBAKE = re.compile(r"[\u00a1-\u024f\u2018-\u203a\u20ac\u2122]{4,}")  # Latin-1 / cp1252 reading of CJK bytes


@pytest.fixture(scope="module")
def records() -> list[dict]:
    with JSONL.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def labels() -> list[dict[str, str]]:
    lines = LABELS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def count_docs(records: list[dict], predicate) -> int:
    return sum(1 for r in records if predicate(r["text"]))


def test_every_line_is_a_document(records):
    assert JSONL.stat().st_size < 1_500_000
    assert len(records) >= 250
    for r in records:
        assert set(r) <= {"id", "url", "text"} and {"id", "text"} <= set(r)
        assert isinstance(r["text"], str) and r["text"].strip()
        assert "url" not in r or re.match(r"https?://[^\s/]+\.[a-z]+", r["url"])


def test_ids_are_unique_and_in_order(records):
    assert [r["id"] for r in records] == [f"sample-{i:06d}" for i in range(1, len(records) + 1)]


def test_about_sixty_percent_have_a_url(records):
    share = sum("url" in r for r in records) / len(records)
    assert 0.5 <= share <= 0.7


def test_scripts_and_languages_are_present(records):
    hant = count_docs(records, lambda t: sum(c in HANT_MARKERS for c in t) >= 5)
    hans = count_docs(records, lambda t: len(HAN_RE.findall(t)) >= 150 and not any(c in HANT_MARKERS for c in t))
    assert hant >= 40
    assert hans >= 80
    assert count_docs(records, lambda t: len(KANA_RE.findall(t)) >= 20) >= 8
    assert count_docs(records, lambda t: len(HANGUL_RE.findall(t)) >= 20) >= 6
    assert count_docs(records, lambda t: re.search(r"\b(the|and|of)\b", t) and not HAN_RE.search(t)) >= 8


def test_duplicates_are_present(records):
    copies = Counter(r["text"] for r in records)
    assert sum(n - 1 for n in copies.values() if n > 1) >= 8
    squeezed = Counter(re.sub(r"\s+", "", r["text"]) for r in records)
    assert sum(n - 1 for n in squeezed.values() if n > 1) >= 12


def test_spam_short_pages_and_noise_are_present(records):
    assert count_docs(records, lambda t: any(w in t for w in SPAM_WORDS)) >= 30
    assert count_docs(records, lambda t: len(t.strip()) < 30) >= 10
    assert count_docs(records, lambda t: re.search(r"当前位置|您的位置|目前位置", t)) >= 10
    assert count_docs(records, lambda t: "ICP备" in t) >= 5
    assert count_docs(records, lambda t: len(GLUED_PINYIN.findall(t)) >= 20) >= 3
    assert count_docs(records, lambda t: len(CJK_HALF_WIDTH.findall(t)) >= 3) >= 10
    assert count_docs(records, lambda t: "\u00a0" in t) >= 10
    assert count_docs(records, lambda t: "\u200b" in t or "\ufeff" in t) >= 2
    assert count_docs(records, lambda t: re.search(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]{2,}", t)) >= 5


def utf8_read_as_gbk(text: str) -> bool:
    """True when a run of Han characters is UTF-8 bytes that were decoded as GBK: re-encoded,
    its bytes decode back to about one Han character per three bytes. Ordinary text does not."""
    for run in re.findall(r"[\u4e00-\u9fff]{8,}", text):
        raw = run.encode("gbk")
        if len(HAN_RE.findall(raw.decode("utf-8", errors="replace"))) >= 0.6 * len(raw) / 3:
            return True
    return False


def test_real_mojibake_is_present(records):
    assert count_docs(records, lambda t: "锟斤拷" in t) >= 2
    assert count_docs(records, lambda t: LATIN1_MOJIBAKE.search(t)) >= 2
    assert count_docs(records, lambda t: re.search(r"[\u4e00-\u9fff]\?[\u4e00-\u9fff]", t)) >= 2
    assert count_docs(records, utf8_read_as_gbk) >= 3


def test_labels_match_the_texts(records, labels):
    assert [row["id"] for row in labels] == [r["id"] for r in records]
    by_id = {r["id"]: r for r in records}
    position = {r["id"]: i for i, r in enumerate(records)}
    kinds = Counter(row["kind"] for row in labels)
    assert {"zh_hans_article", "zh_hant_article", "zh_hant_converted", "spam", "short", "ja", "ko", "en",
            "mixed", "exact_dup", "near_dup"} <= set(kinds)
    for row in labels:
        if not row["dup_of"]:
            assert row["kind"] not in ("exact_dup", "near_dup")
            continue
        original, copy = by_id[row["dup_of"]]["text"], by_id[row["id"]]["text"]
        assert position[row["dup_of"]] < position[row["id"]]
        if row["kind"] == "exact_dup":
            assert re.sub(r"\s+", "", copy) == re.sub(r"\s+", "", original)
        else:
            assert copy != original


def test_generator_reproduces_the_committed_file(tmp_path):
    subprocess.run([sys.executable, str(SAMPLES / "make_sample.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    assert (tmp_path / JSONL.name).read_bytes() == JSONL.read_bytes()
    assert (tmp_path / LABELS.name).read_bytes() == LABELS.read_bytes()
