"""han_script and script_counts: Simplified/Traditional/Japanese evidence from characters."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from opencc import OpenCC

from builder.text import script
from builder.text.chars import HAN_RE, HANGUL_RE
from builder.text.script import (
    JAPANESE_ONLY_KANJI,
    SIMPLIFIED_ONLY,
    TRADITIONAL_ONLY,
    han_script,
    script_counts,
    script_evidence,
    script_from_evidence,
)

SIMPLIFIED = "随着人工智能技术的快速发展，越来越多的企业开始把大模型应用到客服、写作和数据分析等场景中。"
TRADITIONAL = "台北市政府今日宣布，將在明年擴大公共自行車的服務範圍，新增的站點主要設在捷運站周邊。"


def test_labels_simplified_and_traditional_prose():
    assert han_script(SIMPLIFIED) == "Hans"
    assert han_script(TRADITIONAL) == "Hant"


def test_no_han_is_none_and_han_without_evidence_is_hans():
    assert han_script("") is None
    assert han_script("Hello, world! 123 ！？😀") is None
    assert han_script("ひらがなとカタカナ") is None
    # 中文 and 日本 are written the same in both scripts: valid Simplified as written.
    assert han_script("中文日本") == "Hans"


def test_mixed_needs_a_substantial_minority():
    assert han_script(SIMPLIFIED + "\n" + TRADITIONAL) == "mixed"
    assert han_script(SIMPLIFIED + TRADITIONAL) == "mixed"  # within one line too
    # Conversion leftovers in a Traditional line do not make it mixed.
    assert han_script(TRADITIONAL + "这个") == "Hant"
    # Nor does one short Simplified line (a spam header) above a Traditional article.
    assert han_script("免费观看在线高清\n" + TRADITIONAL * 3) == "Hant"
    assert script_from_evidence(100, 100) == "mixed"
    assert script_from_evidence(9, 9) == "Hans"
    assert script_from_evidence(10, 40) == "mixed"
    assert script_from_evidence(10, 41) == "Hant"


def test_evidence_is_weighed_by_the_han_text_of_each_line():
    counts, _ = script_counts(["这是中文内容", "這是中文", "中文中文"])
    # Line 1: 6 Han, all Simplified evidence; line 2: 4 Han, all Traditional; line 3 neutral.
    assert script_evidence(counts) == (6.0, 4.0)
    counts, _ = script_counts(["这這中文"])  # one of each: the line's 4 Han characters split evenly
    assert script_evidence(counts) == (2.0, 2.0)


def test_sets_follow_opencc_and_regional_standards():
    assert {"这", "们", "说"} <= SIMPLIFIED_ONLY
    assert {"這", "們", "說", "後"} <= TRADITIONAL_ONLY
    # Taiwan writes 峰 and 群, Hong Kong 温 and 说-like 説: none of them is Simplified-only evidence.
    assert not {"峰", "群", "温", "税", "户"} & SIMPLIFIED_ONLY
    # 后 (empress) and 范 (a surname) exist in Traditional too.
    assert not {"后", "范", "里", "干"} & SIMPLIFIED_ONLY
    assert not SIMPLIFIED_ONLY & TRADITIONAL_ONLY
    assert {"円", "変", "団", "気", "駅"} <= JAPANESE_ONLY_KANJI
    # Characters any Chinese character set encodes are never Japanese-only.
    assert not {"欠", "醋", "浜", "国", "会"} & JAPANESE_ONLY_KANJI


CONVERTERS = {config: OpenCC(config) for config in ("s2t", "s2tw", "s2hk")}


def test_opencc_maps_nearly_every_simplified_only_character_to_traditional_evidence():
    for config, converter in CONVERTERS.items():
        misses = [c for c in sorted(SIMPLIFIED_ONLY) if han_script(converter.convert(c)) != "Hant"]
        assert len(misses) <= 10, (config, misses)  # e.g. 昵 -> 暱, which no table marks Traditional-only


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(SIMPLIFIED_ONLY)), min_size=10, max_size=30, unique=True),
    st.sampled_from(sorted(CONVERTERS)),
)
def test_opencc_traditional_conversion_of_simplified_text_reads_hant(chars, config):
    text = "".join(chars)
    assert han_script(text) == "Hans"
    assert han_script(CONVERTERS[config].convert(text)) == "Hant"


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_script_counts_matches_a_per_character_count(text):
    counts, lines_per_text = script_counts([text, "中文\nabc"])
    assert list(lines_per_text) == [text.count("\n") + 1, 2]
    own = counts[: lines_per_text[0]]
    assert own[:, : script.SCRIPT_CLASS_COUNT].sum() == len(text)  # every character once; a newline counts on the line it opens
    assert own[:, script.HAN_CLASSES].sum() == len(HAN_RE.findall(text))
    assert own[:, script.HANGUL].sum() == len(HANGUL_RE.findall(text))
    assert np.array_equal(counts[-2:, script.HAN_SHARED], [2, 0])
    assert counts[-1, script.LATIN] == 3


def test_script_counts_classes():
    counts, _ = script_counts(["這是中文・English 한국어 ひらがな 円 𠀀"])
    row = counts[0]
    assert row[script.HAN_TRADITIONAL] == 1  # 這
    assert row[script.HAN_SHARED] == 4  # 是 中 文 𠀀 (Extension B counts as Han)
    assert row[script.HAN_JAPANESE] == 1  # 円
    assert row[script.KANA] == 4  # the katakana middle dot is punctuation, not kana
    assert row[script.HANGUL] == 3
    assert row[script.LATIN] == 7
    assert row[script.WORDS] == 1  # English
