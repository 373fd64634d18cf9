"""Pinyin annotations glued after Han characters: `據(jù)` -> `據`.

Some sites (and converters) print every polyphonic or traditional character with its
reading in parentheses. The parenthesis is removed only when its content is a reading of
the character right before it, per pypinyin's character table (which lists every
heteronym), so `(AI)`, `(注)`, `(2020)` and `(yes)` stay where they are.
"""
from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

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


@lru_cache(maxsize=1)
def _pinyin_dict() -> dict[int, str]:
    """pypinyin's character table (code point -> its readings, comma-separated), read at the first candidate.

    The table is pypinyin's `pinyin_dict.json`, read directly: importing `pypinyin.pinyin_dict`
    runs the package's `__init__`, which loads the phrase tables and trains a segmenter (0.5-1.5 s
    in every worker) that nothing here uses. Where the file is not laid out so, the import does it.
    """
    spec = importlib.util.find_spec("pypinyin")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "pinyin_dict.json"
        if path.is_file():
            return {int(code): value for code, value in json.loads(path.read_text(encoding="utf-8")).items()}
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict


@lru_cache(maxsize=None)
def readings(han: str) -> frozenset[tuple[str, str]]:
    """Every reading of a character as (syllable without tone, tone digit or '' for neutral)."""
    listed = _pinyin_dict().get(ord(han))
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
