"""Simplified vs Traditional Chinese (and Japanese kanji) from character evidence.

Most Han characters are written the same in both Chinese scripts, so the only honest
evidence is the characters that exist in one script and not the other. The sets are
derived from OpenCC's character tables (Apache-2.0) by `benchmarks/make_opencc_characters.py`,
which says how, and shipped in `opencc_characters.txt` beside this module, read on first use:

- Simplified-only: characters of simplified standards that no traditional standard (nor
  Taiwan's or Hong Kong's variants) uses (`这`; not `峰` `群` `温` `说` `户`).
- Traditional-only: traditional characters that are not valid as simplified (`這`).
- Japanese-only kanji: shinjitai such as 円 変 団 気 that OpenCC's Chinese tables do not know
  and that neither GB2312 nor Big5 encodes, i.e. characters no Chinese standard contains.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from builder.text.chars import HAN_RE, HANGUL_RE, KANA_RE, LATIN_LETTER_RE

HanScript = Literal["Hans", "Hant", "mixed"]

# "mixed" needs the minority script to be substantial on both counts: at least this share
# of the Han text that shows a script, and at least this many Han characters of it. Below
# that the minority is leftovers of a conversion, a quotation or a stray line of another
# script (the seed page: Traditional, with a Simplified spam line and a few leftovers).
MIXED_MIN_SHARE = 0.2
MIXED_MIN_HAN = 10

OPENCC_CHARACTERS = Path(__file__).with_name("opencc_characters.txt")


@lru_cache(maxsize=1)
def _tables() -> dict[str, str]:
    """name -> characters of each table in `opencc_characters.txt` (see its header)."""
    tables = {}
    with open(OPENCC_CHARACTERS, encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                name, _, chars = line.rstrip("\n").partition("\t")
                tables[name] = chars
    return tables


def t2s_characters() -> dict[str, str]:
    """Traditional character -> its first simplified form, one character each (OpenCC's TSCharacters)."""
    pairs = _tables()["t2s"]
    return dict(zip(pairs[0::2], pairs[1::2]))


@lru_cache(maxsize=1)
def _sets() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    tables = _tables()
    return frozenset(tables["simplified_only"]), frozenset(tables["traditional_only"]), frozenset(tables["japanese_only"])


def __getattr__(name: str):
    """`SIMPLIFIED_ONLY`, `TRADITIONAL_ONLY`, `JAPANESE_ONLY_KANJI`: derived on first use, not at import."""
    names = ("SIMPLIFIED_ONLY", "TRADITIONAL_ONLY", "JAPANESE_ONLY_KANJI")
    if name in names:
        return _sets()[names.index(name)]
    if name == "SCRIPT_CLASS_TABLE":
        return script_class_table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Script classes for `script_counts`, one column each. Han is split four ways so that one
# pass gives both the language evidence and the Hans/Hant/Japanese evidence.
NON_LETTER, HAN_SHARED, HAN_SIMPLIFIED, HAN_TRADITIONAL, HAN_JAPANESE, KANA, HANGUL, LATIN, OTHER_LETTER = range(9)
SCRIPT_CLASS_COUNT = 9
WORDS = SCRIPT_CLASS_COUNT  # the column after the classes: runs of alphabetic letters
HAN_CLASSES = [HAN_SHARED, HAN_SIMPLIFIED, HAN_TRADITIONAL, HAN_JAPANESE]
_LETTER_RE = re.compile(r"[^\W\d_]")
_TABLE_END = 0x323B0  # past the last CJK extension block; higher code points are not letters we count


def mark_matches(table: np.ndarray, char_class: re.Pattern, text: str, value: int) -> None:
    """`table[i] = value` at every position of `text` that `char_class` (one character, e.g. `[a-z]`) matches.

    Matched as runs (`[a-z]+`), which cover the same positions as one match per character: the
    tables over every code point take a few thousand matches instead of 130,000 (0.05 s a table a process)."""
    for match in re.compile(f"(?:{char_class.pattern})+", char_class.flags).finditer(text):
        table[match.start() : match.end()] = value


@lru_cache(maxsize=1)
def script_class_table() -> np.ndarray:
    """Code point -> script class, built from the classes in `chars` and the sets above, on first use.

    The last entry is NON_LETTER and stands for every code point beyond the table. The
    character classes are matched as regexes over every code point; the three sets (single
    code points each) are written by code point, which is what matching them would give.
    """
    every_char = "".join(map(chr, range(_TABLE_END)))
    table = np.full(_TABLE_END + 1, NON_LETTER, dtype=np.uint8)
    mark_matches(table, _LETTER_RE, every_char, OTHER_LETTER)
    for pattern, script_class in ((LATIN_LETTER_RE, LATIN), (HANGUL_RE, HANGUL), (KANA_RE, KANA), (HAN_RE, HAN_SHARED)):
        mark_matches(table, pattern, every_char, script_class)
    for chars, script_class in zip(_sets(), (HAN_SIMPLIFIED, HAN_TRADITIONAL, HAN_JAPANESE)):
        table[sorted(ord(c) for c in chars if len(c) == 1 and ord(c) < _TABLE_END)] = script_class
    return table


def script_counts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Characters per script class for every line of every text, in one vectorised pass.

    Returns `(counts, lines_per_text)`: `counts[i, c]` is the number of characters of class
    `c` on line `i`, lines numbered across all texts in order (split on "\n", so a text
    with k newlines has k + 1 lines); `lines_per_text[j]` says how many rows text j owns.
    The extra column `WORDS` counts runs of alphabetic letters (words), so that languages
    written with spaces can be weighed by words rather than letters.
    """
    lines_per_text = np.fromiter((t.count("\n") + 1 for t in texts), dtype=np.int64, count=len(texts))
    code_points = np.frombuffer("\n".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = script_class_table()[np.minimum(code_points, _TABLE_END)]
    line_of_char = np.cumsum(code_points == 10)
    line_count = int(lines_per_text.sum())
    counts = np.zeros((line_count, SCRIPT_CLASS_COUNT + 1), dtype=np.int64)
    counts[:, :SCRIPT_CLASS_COUNT] = np.bincount(
        line_of_char * SCRIPT_CLASS_COUNT + classes, minlength=line_count * SCRIPT_CLASS_COUNT
    ).reshape(line_count, SCRIPT_CLASS_COUNT)
    alphabetic = (classes == LATIN) | (classes == OTHER_LETTER)
    word_starts = alphabetic & ~np.concatenate(([False], alphabetic[:-1]))
    counts[:, WORDS] = np.bincount(line_of_char[word_starts], minlength=line_count)
    return counts, lines_per_text


def script_evidence(counts: np.ndarray) -> tuple[float, float]:
    """Han text (in characters) that reads Simplified and that reads Traditional, from line counts.

    Each line's Han characters are shared between the scripts in proportion to its
    script-specific characters; lines without any are neutral. Weighing by line keeps a
    short line in the other script (a spam header, a quoted title) from outvoting the
    article, and keeps leftovers inside a converted line from counting much.
    """
    simplified = counts[:, HAN_SIMPLIFIED].astype(np.float64)
    evidence = simplified + counts[:, HAN_TRADITIONAL]
    han = counts[:, HAN_CLASSES].sum(axis=1)
    share = np.divide(simplified, evidence, out=np.zeros_like(simplified), where=evidence > 0)
    simplified_han = float((han * share).sum())
    return simplified_han, float(han[evidence > 0].sum()) - simplified_han


def script_from_evidence(simplified_han: float, traditional_han: float) -> HanScript:
    """Label from `script_evidence`, for text known to contain Han.

    With no evidence either way the text is valid Simplified as written (nothing in it
    would change under character-level t2s), so it is labelled `Hans`; ties go the same way.
    """
    minority = min(simplified_han, traditional_han)
    if minority >= MIXED_MIN_HAN and minority >= MIXED_MIN_SHARE * (simplified_han + traditional_han):
        return "mixed"
    return "Hant" if traditional_han > simplified_han else "Hans"


def han_script(text: str) -> HanScript | None:
    """`Hans`, `Hant` or `mixed` for text with Han characters; None for text without any."""
    if HAN_RE.search(text) is None:
        return None
    counts, _ = script_counts([text])
    return script_from_evidence(*script_evidence(counts))
