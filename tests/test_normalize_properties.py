"""Properties of `normalize` over arbitrary Unicode and over real Chinese with injected damage."""
from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.stages.normalize import Normalize, NormalizeParams
from builder.text.damage import DAMAGE_KINDS, inject

CLEAN = Path(__file__).resolve().parent / "data" / "normalize" / "clean_zh.txt"
PARAGRAPHS = [line.rstrip("\n") for line in CLEAN.open(encoding="utf-8") if not line.startswith("#")]
LIGATURES = "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"

DEFAULT = Normalize(NormalizeParams())
EVERYTHING = Normalize(NormalizeParams(cjk_punctuation=True))
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Arbitrary Unicode, weighted towards what web text and mojibake are made of.
pieces = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0xFF), max_size=12),
    st.sampled_from(["，", "。", "？", "?", "(", ")", "（", "）", "(jù)", "\n", "\n\n\n", " ", "\u00a0", "\u3000",
                     "\ufffd", "锟斤拷", "&amp;", "\u200b", "\ufeff", "\r\n", "ＡＢ１", "鎴戜滑鍦ㄨ", "¸ü¶à¾«Ð£",
                     "\ue40c", "。\ue40c", "\ue60a ", "９７．８１％", "1，234", "România", "Größe "]),
)
texts = st.lists(pieces, max_size=12).map("".join)


def damaged_paragraphs():
    kinds = st.sampled_from(sorted(DAMAGE_KINDS))
    return st.tuples(st.sampled_from(PARAGRAPHS), kinds, st.integers(0, 10**6), st.sampled_from(PARAGRAPHS)).map(
        lambda t: ((inject(t[0], t[1], random.Random(t[2])) or (t[0], ""))[0] + "\n\n" + t[3])
    )


def check(stage: Normalize, text: str) -> None:
    once, _ = stage.normalize(text, Counter())
    twice, _ = stage.normalize(once, Counter())
    assert twice == once, "not idempotent"
    assert once.count("\ufffd") <= text.count("\ufffd"), "made U+FFFD"
    # Only ftfy's ligature expansion (ﬁ -> fi) may lengthen a text; every other repair shortens it.
    assert len(once) <= len(text) + 2 * sum(text.count(c) for c in LIGATURES)


@SETTINGS
@given(texts)
def test_arbitrary_unicode(text):
    check(DEFAULT, text)
    check(EVERYTHING, text)


@SETTINGS
@given(damaged_paragraphs())
def test_real_chinese_with_injected_damage(text):
    check(DEFAULT, text)
    check(EVERYTHING, text)
