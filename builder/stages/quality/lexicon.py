"""The spam lexicon and boilerplate keywords, and one matcher that finds them all at once.

Spam terms and boilerplate keywords are keys of one `TermMatcher`, so a batch is scanned
once: a hit's value says whether it is a spam term (and its category) or a boilerplate
keyword (its rule and the longest line it condemns). Keys are folded like the text
(`tables.fold`), so a term written once in Simplified matches its Traditional and
full-width spellings.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from builder.stages.quality.tables import fold

DATA = Path(__file__).resolve().parent / "data"
BUILTIN_SPAM_CATEGORIES = ("porn", "gambling", "piracy_ads", "drugs")
EXTRA_CATEGORY = "extra"
SPAM, BOILERPLATE = 0, 1
_ASCII_ALNUM = re.compile(r"[a-z0-9]")
_PREFIX_BITS = 18
_MIX = (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D)


@dataclass(frozen=True)
class BoilerplateKeyword:
    rule: str
    max_chars: int
    keyword: str

    @property
    def is_pattern(self) -> bool:
        return self.keyword.startswith("re:")


def _data_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as lines:
        return [line.rstrip("\n") for line in lines if line.strip() and not line.startswith("#")]


def read_spam_terms(category: str) -> list[str]:
    return [line.strip() for line in _data_lines(DATA / f"spam_{category}.txt")]


def read_boilerplate_keywords() -> list[BoilerplateKeyword]:
    keywords = []
    for line in _data_lines(DATA / "boilerplate.tsv"):
        rule, max_chars, keyword = line.split("\t")
        keywords.append(BoilerplateKeyword(rule, int(max_chars), keyword))
    return keywords


def _prefix_hash(points: np.ndarray, length: int) -> np.ndarray:
    """A hash of the `length` code points starting at each position (the last ones excluded)."""
    n = len(points) - length + 1
    mixed = points[:n] * np.uint32(_MIX[0])
    for offset in range(1, length):
        mixed ^= points[offset : offset + n] * np.uint32(_MIX[offset])
    return mixed >> np.uint32(32 - _PREFIX_BITS)


class TermMatcher:
    """Every occurrence of every key, overlapping ones included, as Aho-Corasick would report.

    A trie walk in Python's C extensions costs time per character that grows with the
    number of distinct first characters (`pyahocorasick` measured 35 MB/s with this
    lexicon); this matcher instead hashes each position's first three code points (or two
    for two-character keys) with numpy, keeps the positions whose hash is in a bitmap of the
    keys' prefixes, and verifies only those against the keys that start that way.
    """

    def __init__(self, entries: dict[str, Any]):
        self.by_prefix: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        self.prefix_lengths = sorted({min(3, len(key)) for key in entries})
        self.bitmaps = {n: np.zeros(1 << _PREFIX_BITS, dtype=bool) for n in self.prefix_lengths if n > 1}
        self.single = {key: value for key, value in entries.items() if len(key) == 1}
        for key, value in entries.items():
            if len(key) > 1:
                prefix = key[: min(3, len(key))]
                self.by_prefix[prefix].append((key, value))
                points = np.array([ord(c) for c in prefix], dtype=np.uint32)
                self.bitmaps[len(prefix)][_prefix_hash(points, len(prefix))] = True

    def find(self, text: str, points: np.ndarray) -> list[tuple[int, str, Any]]:
        """(start, key, value) of each occurrence; `points` are the code points of `text`."""
        hits = []
        for n, bitmap in self.bitmaps.items():
            if len(points) < n:
                continue
            for start in np.flatnonzero(bitmap[_prefix_hash(points, n)]).tolist():
                for key, value in self.by_prefix.get(text[start : start + n], ()):
                    if text.startswith(key, start):
                        hits.append((start, key, value))
        for key, value in self.single.items():
            hits.extend((start, key, value) for start in np.flatnonzero(points == ord(key)).tolist())
        return hits


class Lexicon:
    """Spam terms by category plus boilerplate keywords, ready to scan folded text.

    Values: `(SPAM, category_index, ascii_edges)` or `(BOILERPLATE, rule, max_chars)`.
    `ascii_edges` marks terms that begin or end with an ASCII letter or digit (`pk10`,
    `bet365`): those only count at a word boundary, so `av` inside `java` is no hit. A key
    that is both kinds keeps the spam reading.
    """

    def __init__(self, spam_categories: list[str], spam_extra: list[str], boilerplate_rules: set[str]):
        self.categories = [*spam_categories, EXTRA_CATEGORY]
        terms = {c: read_spam_terms(c) for c in spam_categories} | {EXTRA_CATEGORY: list(spam_extra)}
        entries: dict[str, tuple] = {}
        # Whole-line patterns, tried only on lines no longer than their max_chars.
        self.line_patterns: list[tuple[str, int, re.Pattern[str]]] = []
        for keyword in read_boilerplate_keywords():
            if keyword.rule not in boilerplate_rules:
                continue
            if keyword.is_pattern:
                self.line_patterns.append((keyword.rule, keyword.max_chars, re.compile(keyword.keyword[3:])))
            else:
                entries[fold(keyword.keyword)] = (BOILERPLATE, keyword.rule, keyword.max_chars)
        for index, category in enumerate(self.categories):
            for term in terms[category]:
                key = fold(term.strip())
                if key:
                    edges = bool(_ASCII_ALNUM.match(key[0]) or _ASCII_ALNUM.match(key[-1]))
                    entries[key] = (SPAM, index, edges)
        self.matcher = TermMatcher(entries)
