"""Character classes for CJK text, in one place for every stage.

Ranges follow the Unicode blocks (Unicode 15.1): all CJK Unified Ideograph blocks and
extensions A-H plus compatibility ideographs, not just U+4E00-U+9FA5.
"""
from __future__ import annotations

import re

HAN_RANGES = (
    "\u3400-\u4dbf"  # Extension A
    "\u4e00-\u9fff"  # URO
    "\uf900-\ufaff"  # Compatibility Ideographs
    "\U00020000-\U0002a6df"  # Extension B
    "\U0002a700-\U0002ebef"  # Extensions C, D, E, F, I
    "\U0002f800-\U0002fa1f"  # Compatibility Supplement
    "\U00030000-\U000323af"  # Extensions G, H
    "\u3007"  # 〇
)
# Kana without U+30FB (・): Chinese uses that dot between the parts of foreign names too.
KANA_RANGES = "\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"
HANGUL_RANGES = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uffa0-\uffdc"
# Chinese (full-width) punctuation that must survive normalization untouched.
CJK_PUNCTUATION = "，。、；：？！“”‘’（）《》〈〉【】「」『』〔〕…—～·　"
CJK_END_PUNCTUATION = "。！？…”」』"
WESTERN_END_PUNCTUATION = ".?!"

# Full-width ASCII variants (U+FF01-U+FF5E), half-width CJK punctuation (U+FF61-U+FF64) and the
# ideographic space folded to one width, so that texts differing only in punctuation width compare
# equal (dedup keys). A comparison key only: published Chinese text keeps its full-width punctuation.
WIDTH_FOLD = str.maketrans(
    {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
    | {"\uff61": "。", "\uff62": "「", "\uff63": "」", "\uff64": "、", "\u3000": " "}
)

HAN_RE = re.compile(f"[{HAN_RANGES}]")
HAN_RUN_RE = re.compile(f"[{HAN_RANGES}]+")
KANA_RE = re.compile(f"[{KANA_RANGES}]")
HANGUL_RE = re.compile(f"[{HANGUL_RANGES}]")
LATIN_LETTER_RE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")  # not × or ÷


def is_han(ch: str) -> bool:
    return HAN_RE.match(ch) is not None


def count_han(text: str) -> int:
    return len(HAN_RE.findall(text))
