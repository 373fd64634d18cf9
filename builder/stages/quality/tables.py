"""Code-point lookup tables: the quality stage reads text as numpy arrays, not Python loops.

`FOLD` maps every code point to the one it is compared as: Traditional to Simplified
(one character at a time, OpenCC's `TSCharacters.txt`, first candidate, as shipped in
`builder/text/opencc_characters.txt`), full-width forms to ASCII (`chars.WIDTH_FOLD`),
no-break and ideographic spaces to a space, ASCII upper case to lower case. Every mapping is
one code point to one code point, so a folded copy has the same offsets as the original and
a match found on it indexes the original directly. Lexicon terms and boilerplate keywords
are folded with the same table, so `版權所有`, `版权所有` and `版权所有` all meet in one key.

`CHAR_CLASS` gives each code point one class (Han, other letter, digit, punctuation,
symbol, space, newline); per-line and per-document counts are bincounts over it.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np

from builder.text.chars import CJK_END_PUNCTUATION, HAN_RE, WESTERN_END_PUNCTUATION, WIDTH_FOLD
from builder.text.script import mark_matches, t2s_characters


HAN, LETTER, DIGIT, PUNCT, SYMBOL, SPACE, NEWLINE = range(7)
N_CLASSES = 7
# Characters that join the items of navigation bars, breadcrumbs and keyword lists.
SEPARATORS = "|｜丨/·•>»›→"


def _t2s_pairs() -> dict[int, int]:
    return {ord(traditional): ord(simplified) for traditional, simplified in t2s_characters().items()}


@lru_cache(maxsize=1)
def fold_table() -> np.ndarray:
    table = np.arange(0x110000, dtype=np.uint32)
    for traditional, simplified in _t2s_pairs().items():
        table[traditional] = simplified
    for wide, narrow in WIDTH_FOLD.items():
        table[wide] = ord(narrow)
    table[0xA0] = table[0x3000] = ord(" ")
    table[ord("A") : ord("Z") + 1] += 32
    return table[table]  # full-width capitals fold to ASCII capitals, then to lower case


ASSIGNED_END = 0x323B0  # end of CJK Extension H, the last assigned block before plane 14


@lru_cache(maxsize=1)
def char_class_table() -> np.ndarray:
    by_major_category = {"L": LETTER, "M": LETTER, "N": DIGIT, "P": PUNCT, "Z": SPACE}
    table = np.full(0x110000, SYMBOL, dtype=np.uint8)
    # Past U+323AF only tags and variation selectors are assigned outside private use; asking
    # unicodedata about those ranges alone keeps worker start-up at a fifth of the full scan.
    for first, last in ((0, ASSIGNED_END), (0xE0000, 0xE01F0)):
        table[first:last] = np.fromiter(
            (by_major_category.get(unicodedata.category(chr(code))[0], SYMBOL) for code in range(first, last)),
            dtype=np.uint8,
            count=last - first,
        )
    # Han ranges end at U+323AF (chars.HAN_RANGES): scanning the code points below ASSIGNED_END
    # finds every one, without building a string of all 1.1M code points (0.4 s a process).
    below_end = "".join(map(chr, range(ASSIGNED_END)))
    mark_matches(table, HAN_RE, below_end, HAN)
    table[[ord(c) for c in "\t\r\x0b\x0c"]] = SPACE
    table[ord("\n")] = NEWLINE
    return table


@lru_cache(maxsize=None)
def char_set_table(chars: str) -> np.ndarray:
    """A boolean table over all code points, true for the given characters (one per set, cached)."""
    table = np.zeros(0x110000, dtype=bool)
    table[[ord(c) for c in chars]] = True
    return table


def end_punctuation_table() -> np.ndarray:
    return char_set_table(CJK_END_PUNCTUATION + WESTERN_END_PUNCTUATION)


# Marks that close a sentence wherever they stand, counted inside lines as well as at their
# end: a one-line article is judged by its sentences, not by whether its last character is one
# (`…[详细]`, a byline, a truncated `．．．`). The ellipsis is left out (teasers end in it), and
# `.` counts only right after a Han character and before no letter or digit (`基因重组.`), since it
# also sits inside numbers, versions and URLs. Clause marks tell long comma-spliced answers from
# lists of titles, which have neither.
SENTENCE_MARKS = "。！？!?"
CLAUSE_MARKS = "，,；;"


# Half-width marks that end a sentence where the next character allows it (see `lines.BatchLines`).
HALF_WIDTH_MARKS = "?!."
SENTENCE_MARK, CLAUSE_MARK, SEPARATOR, HALF_WIDTH_MARK, ELLIPSIS = 1, 2, 4, 8, 16


@lru_cache(maxsize=1)
def mark_table() -> np.ndarray:
    """Bit flags per code point (`SENTENCE_MARK`, `CLAUSE_MARK`, `SEPARATOR`, `HALF_WIDTH_MARK`, `ELLIPSIS`):
    one gather over a batch finds every mark of every kind, a few percent of its characters."""
    table = np.zeros(0x110000, dtype=np.uint8)
    for bit, chars in (
        (SENTENCE_MARK, SENTENCE_MARKS), (CLAUSE_MARK, CLAUSE_MARKS), (SEPARATOR, SEPARATORS),
        (HALF_WIDTH_MARK, HALF_WIDTH_MARKS), (ELLIPSIS, "…"),
    ):  # fmt: skip
        table[[ord(c) for c in chars]] |= bit
    return table


def code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def from_code_points(points: np.ndarray) -> str:
    return points.tobytes().decode("utf-32-le", "surrogatepass")


def fold(text: str) -> str:
    return from_code_points(fold_table()[code_points(text)])


HASH_BASE = 0x9E3779B1  # odd, so invertible modulo 2**32
HASH_BASE_INVERSE = pow(HASH_BASE, -1, 2**32)
_POWERS: dict[int, np.ndarray] = {}


def _powers(base: int, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**32, kept between batches (grown when a batch is longer)."""
    if base not in _POWERS or len(_POWERS[base]) < n:
        powers = np.full(max(n, 1 << 20), base, dtype=np.uint32)
        powers[:1] = 1
        _POWERS[base] = np.cumprod(powers, dtype=np.uint32)
    return _POWERS[base][:n]


class RollingHash:
    """32-bit polynomial hashes of every character n-gram of a code-point sequence.

    One prefix sum serves every n: the n-gram at i is `(H[i+n] - H[i]) * P^-i`, exact in
    wrapping uint32 arithmetic because P is odd. No Python object per n-gram.
    """

    def __init__(self, points: np.ndarray):
        self.total = len(points)
        self.prefix = np.zeros(self.total + 1, dtype=np.uint32)
        np.cumsum(points * _powers(HASH_BASE, self.total), out=self.prefix[1:])

    def ngrams(self, n: int) -> np.ndarray:
        """Hash of the n-gram starting at each position 0 .. total - n."""
        if self.total < n:
            return self.prefix[:0]
        return (self.prefix[n:] - self.prefix[:-n]) * _powers(HASH_BASE_INVERSE, self.total)[: self.total - n + 1]
