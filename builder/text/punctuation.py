"""Character width and punctuation in Chinese text.

Full-width Latin letters and digits (`ＶＩＰ２０１２`) are a typing accident: they fold to
ASCII, and so does the punctuation inside a number with them (`９７．８１％` -> `97.81%`,
`２０１１－０８－２３` -> `2011-08-23`): a decimal point, a date's hyphens or a ratio's
colon belong to the number, not to the prose. Chinese punctuation is the opposite case: it is meant full-width and stays so.
Half-width `,:;?!()` typed between two Chinese characters can optionally be restored to
their Chinese forms; `?` is left alone in a text that shows lost characters, where a `?`
between two characters is more likely an encoder's stand-in than a question mark.
"""
from __future__ import annotations

import re

from builder.text.chars import HAN_RANGES, KANA_RANGES, WIDTH_FOLD

# WIDTH_FOLD restricted to letters and digits (U+FF10-FF19, FF21-FF3A, FF41-FF5A).
ALNUM_FOLD = {k: v for k, v in WIDTH_FOLD.items() if isinstance(v, str) and v.isascii() and v.isalnum()}
FULLWIDTH_ALNUM_RE = re.compile("[０-９Ａ-Ｚａ-ｚ]")

# Punctuation that belongs to a number: `．－／：` between two digits, `，` before exactly
# three digits (a thousands separator; `第1，3，5条` is a list and stays), `％` after a digit.
# One pattern per mark, each opening with the mark itself: the regex engine then scans for
# a literal (memchr speed) and looks around only where the mark is, five times faster than
# one pattern opening with a digit or a character class.
NUMBER_PUNCT_PATTERNS = {
    mark: re.compile(f"{mark}(?<=[0-9]{mark}){after}")
    for mark, after in (
        ("．", "(?=[0-9])"),
        ("－", "(?=[0-9])"),
        ("／", "(?=[0-9])"),
        ("：", "(?=[0-9])"),
        ("，", "(?=[0-9]{3}(?![0-9]))"),
        ("％", ""),
    )
}
NUMBER_PUNCT_FOLD = {"．": ".", "－": "-", "／": "/", "：": ":", "，": ",", "％": "%"}

CJK_BEFORE = f"{HAN_RANGES}{KANA_RANGES}”’」』》）】"
CJK_AFTER = f"{HAN_RANGES}{KANA_RANGES}“‘「『《（【"
HALF_TO_FULL = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}
# Each pattern opens with the half-width mark and looks behind only after it, so the regex
# engine scans for the rare mark instead of trying every Chinese character.
CJK_CONTEXT_PUNCT_RE = re.compile(f"[,:;!?](?<=[{CJK_BEFORE}].)(?=[{CJK_AFTER}])")
CJK_CONTEXT_PUNCT_NO_QUESTION_RE = re.compile(f"[,:;!](?<=[{CJK_BEFORE}].)(?=[{CJK_AFTER}])")
# A parenthesis pair opened right after Chinese, holding Chinese at both of its ends.
CJK_PARENS_RE = re.compile(
    f"\\((?<=[{CJK_BEFORE}]\\()(?P<inner>[{HAN_RANGES}](?:[^()\\n]{{0,60}}[{HAN_RANGES}])?)\\)"
)


def fold_width(text: str) -> tuple[str, int]:
    """Full-width ASCII letters and digits to ASCII, then the punctuation inside numbers
    (`NUMBER_PUNCT_PATTERNS`); returns (text, characters folded).

    One `str.replace` per distinct character found: far faster than `str.translate`
    over the whole text, since few texts use more than the ten digits.
    """
    found = FULLWIDTH_ALNUM_RE.findall(text)
    for ch in set(found):
        text = text.replace(ch, ALNUM_FOLD[ord(ch)])
    folded = len(found)
    for mark, pattern in NUMBER_PUNCT_PATTERNS.items():
        if mark in text:
            text, n = pattern.subn(NUMBER_PUNCT_FOLD[mark], text)
            folded += n
    return text, folded


def restore_cjk_punctuation(text: str, keep_question_marks: bool = False) -> tuple[str, int]:
    """Half-width `,:;?!()` between Chinese characters to `，：；？！（）`; returns (text, converted)."""
    pattern = CJK_CONTEXT_PUNCT_NO_QUESTION_RE if keep_question_marks else CJK_CONTEXT_PUNCT_RE
    text, marks = pattern.subn(lambda m: HALF_TO_FULL[m.group()], text)
    text, pairs = CJK_PARENS_RE.subn(lambda m: f"（{m.group('inner')}）", text)
    return text, marks + 2 * pairs
