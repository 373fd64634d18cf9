"""Invisible junk and whitespace: what web pages leave in text that no reader sees.

Removed: BOMs inside the text, zero-width and bidi format characters, soft hyphens,
private-use glyphs (icon fonts), C0/C1 controls except tab and newline. No-break and
other typographic spaces become plain spaces. Per line, ASCII spaces and tabs at either end
go and runs of spaces shrink to one; a line of nothing but spaces becomes blank; runs of
blank lines shrink to one, so paragraphs (blank-line separated) stay apart. The ideographic
space U+3000 is Chinese typography (paragraph indent) and is kept inside lines.
"""
from __future__ import annotations

import re

# Format characters and private-use glyphs: safe to remove before any repair.
FORMAT_JUNK_RE = re.compile(
    "[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f"  # C0 controls (tab, newline, VT, FF, CR are line breaks; ESC below)
    "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"  # format characters
    "\ue000-\uf8ff\U000f0000-\U0010ffff]"  # private use (icon fonts)
)
# C1 controls are removed only after mojibake repair: in UTF-8 read as Latin-1 they are
# bytes of the text, needed to get it back.
# ESC waits too: ftfy removes whole terminal escape sequences, not just their first byte.
LATE_CONTROL_RE = re.compile("[\x1b\x80-\x84\x86-\x9f]")
JUNK_RE = re.compile(f"{FORMAT_JUNK_RE.pattern}|{LATE_CONTROL_RE.pattern}")
LINE_BREAKS = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})
SPACES = str.maketrans({c: " " for c in "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"})
# Anything the tidy-up would change; most clean texts have none of it.
UNTIDY_RE = re.compile(
    f"{JUNK_RE.pattern}|[\r\x0b\x0c\x85\u2028\u2029\u00a0\u2000-\u200a\u202f\u205f]"
    r"|^[ \t]|[ \t]$|  |\n[ \t\u3000]*\n[ \t\u3000]*\n|\n[ \t\u3000]+\n|\A\s|\s\Z",
    re.MULTILINE,
)
LINE_EDGES_RE = re.compile(r"^[ \t]+|[ \t]+$", re.MULTILINE)
BLANK_LINE_RE = re.compile(r"^[ \t\u3000]+$", re.MULTILINE)
SPACE_RUN_RE = re.compile(" {2,}")
PARAGRAPH_GAP_RE = re.compile(r"\n{3,}")


def remove_format_junk(text: str) -> tuple[str, int]:
    """Remove format characters and private-use glyphs; returns (text, removed)."""
    if not FORMAT_JUNK_RE.search(text):
        return text, 0
    return FORMAT_JUNK_RE.subn("", text)


def strip_invisible(text: str) -> tuple[str, int]:
    """Remove invisible junk and tidy whitespace; returns (text, characters removed or replaced)."""
    if not UNTIDY_RE.search(text):
        return text, 0
    before = len(text)
    text, junk = JUNK_RE.subn("", text.replace("\r\n", "\n"))
    tidied = text.translate(LINE_BREAKS).translate(SPACES)
    changed = junk + sum(a != b for a, b in zip(text, tidied))
    text = LINE_EDGES_RE.sub("", tidied)
    text = SPACE_RUN_RE.sub(" ", BLANK_LINE_RE.sub("", text))
    text = PARAGRAPH_GAP_RE.sub("\n\n", text).strip("\n")
    return text, changed or int(len(text) != before)
