"""The flagship recipe on the bundled sample and on the real seed page: what a user gets."""
from __future__ import annotations

import csv
import re

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from builder.config import load_config
from builder.runner import Build
from conftest import REPO, SHARED

LABELS = REPO / "samples" / "zh-web-sample.labels.tsv"


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("flagship")
    config = load_config(REPO / "configs" / "zh.yaml", {"publish.root": str(out)})
    result = Build(config).run()
    rejected = pq.read_table(next((result.version_dir.parent / "runs" / result.version_dir.name / "rejected").glob("*.parquet")))
    return result, {row["id"]: row for row in rejected.to_pylist()}


def test_sample_funnel_by_kind(sample_build):
    result, rejected = sample_build
    kept = load_dataset(str(result.version_dir.parent), split="train")
    kept_ids = set(kept["id"])
    kinds: dict[str, list[str]] = {}
    with open(LABELS, encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            kinds.setdefault(row["kind"], []).append(row["id"])
    assert len(kept_ids) + len(rejected) == sum(map(len, kinds.values())) == result.report["input"]["documents"]

    def kept_share(kind):
        return sum(doc in kept_ids for doc in kinds[kind]) / len(kinds[kind])

    assert kept_share("zh_hans_article") >= 0.97
    assert kept_share("zh_hant_article") >= 0.95
    assert kept_share("zh_hant_converted") >= 0.95
    for kind in ("ja", "ko", "en", "short", "exact_dup"):
        assert kept_share(kind) == 0, kind
    assert kept_share("spam") <= 0.05
    assert kept_share("near_dup") <= 0.4
    assert all(rejected[doc]["reason"].startswith("language") for doc in kinds["ja"] + kinds["ko"] + kinds["en"])
    assert all(rejected[doc]["reason"] == "dedup.exact" for doc in kinds["exact_dup"])


def test_sample_rows_are_clean(sample_build):
    result, _ = sample_build
    rows = load_dataset(str(result.version_dir.parent), split="train")
    assert set(rows["lang"]) == {"zh"}
    assert set(rows["script"]) <= {"Hans", "Hant", "mixed"}
    texts = list(rows["text"])
    assert not any(re.search(r"[\u4e00-\u9fff]\([a-zü]+[1-4]?\)", text) for text in texts)  # no glued pinyin left
    assert not any(re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text) for text in texts)  # no mobile numbers
    assert sum("，" in text for text in texts) > 0.9 * len(texts)  # full-width punctuation survives
    assert not any("\u200b" in text or "\ufeff" in text for text in texts)


def test_seed_page_through_the_flagship_recipe(tmp_path):
    seed = SHARED / "seed" / "page.txt"
    if not seed.exists():
        pytest.skip("../shared/seed/page.txt is not beside the repo")
    config = load_config(REPO / "configs" / "zh.yaml", {"input.paths": [str(seed)], "input.format": "text", "publish.root": str(tmp_path)})
    result = Build(config).run()
    row = pq.read_table(next((result.version_dir / "data").glob("*.parquet"))).to_pylist()[0]
    text = row["text"]
    assert (row["lang"], row["script"]) == ("zh", "Hant")
    assert "無码" not in text and "无码" not in text and "毛片" not in text  # the SEO first line
    assert "13823588114" not in text and "免費服務熱線" not in text
    assert "新基建正火" in text and "新冠肺炎疫情疊加" in text
    assert not re.search(r"[\u4e00-\u9fff]\([a-zü]+\)", text)
    assert "，" in text and "：" in text
    body_han = len(re.findall(r"[\u4e00-\u9fff]", text))
    assert body_han >= 4500  # NOTES.md: about 4,700 Chinese characters in the body once pinyin is gone
