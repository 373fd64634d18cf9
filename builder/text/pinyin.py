"""Pinyin annotations glued after Han characters: `據(jù)` -> `據`.

Some sites (and converters) print every polyphonic or traditional character with its
reading in parentheses. The parenthesis is removed only when its content is a reading of
the character right before it, per pypinyin's character table (which lists every
heteronym), so `(AI)`, `(注)`, `(2020)` and `(yes)` stay where they are.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from builder.text.chars import HAN_RANGES

TONED_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
# One pinyin syllable (tone marks, tone digit or none) in half- or full-width parentheses;
# the character before it must be Han, and pypinyin's table decides what is a reading.
# (The parenthesis comes first and the Han check looks behind it, so the regex engine
# scans for the rare `(` instead of trying every character.)
ANNOTATION_RE = re.compile(
    f"[(（](?<=[{HAN_RANGES}][(（])(?P<syllable>[a-zA-ZüÜ{TONED_VOWELS}]{{1,7}}[1-5]?)[)）]"
)

_TONE_MARKS = {
    "\u0304": "1",  # macron
    "\u0301": "2",  # acute
    "\u030c": "3",  # caron
    "\u0300": "4",  # grave
}


def _plain_and_tone(syllable: str) -> tuple[str, str]:
    """('lü', '4') for 'lǜ', 'lv4' or 'LÜ4'; tone '' when unmarked."""
    syllable = syllable.lower().replace("v", "ü")
    tone = ""
    if syllable[-1].isdigit():
        syllable, tone = syllable[:-1], syllable[-1]
    decomposed = unicodedata.normalize("NFD", syllable)
    letters = []
    for ch in decomposed:
        if ch in _TONE_MARKS:
            tone = _TONE_MARKS[ch]
        else:
            letters.append(ch)
    return unicodedata.normalize("NFC", "".join(letters)), tone


@lru_cache(maxsize=None)
def readings(han: str) -> frozenset[tuple[str, str]]:
    """Every reading of a character as (syllable without tone, tone digit or '' for neutral)."""
    # Imported at the first candidate, not with the module: pypinyin loads its phrase tables
    # with it (half a second), and most texts have no `字(zi)` at all.
    from pypinyin.pinyin_dict import pinyin_dict

    listed = pinyin_dict.get(ord(han))
    if not listed:
        return frozenset()
    return frozenset(_plain_and_tone(r) for r in listed.split(","))


@lru_cache(maxsize=65536)
def is_reading(han: str, annotation: str) -> bool:
    """True when `annotation` is a reading of `han`; without a tone mark any tone matches.

    A toneless match needs two letters so that list markers like `(a)` are left alone.
    """
    plain, tone = _plain_and_tone(annotation)
    for reading_plain, reading_tone in readings(han):
        if plain != reading_plain:
            continue
        if tone == reading_tone or (tone == "5" and reading_tone == ""):
            return True
        if not tone and len(plain) >= 2:
            return True
    return False


def strip_pinyin_annotations(text: str) -> tuple[str, int]:
    """Remove readings glued after the character they read; returns (text, removed)."""
    if "(" not in text and "（" not in text:
        return text, 0
    pieces = []
    position = 0
    for match in ANNOTATION_RE.finditer(text):
        start = match.start()
        if is_reading(text[start - 1], match.group("syllable")):
            pieces.append(text[position:start])
            position = match.end()
    if not pieces:
        return text, 0
    pieces.append(text[position:])
    return "".join(pieces), len(pieces) - 1
