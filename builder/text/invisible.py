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

# Format characters: safe to remove before any repair.
FORMAT_JUNK = (
    "\x00-\x08\x0e-\x1a\x1c-\x1f\x7f"  # C0 controls (tab, newline, VT, FF, CR are line breaks; ESC below)
    "\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"  # format characters
)
# Removed only after mojibake repair, because mojibake is made of them: C1 controls and
# the soft hyphen (byte AD) are bytes of UTF-8 read as Latin-1, and private-use characters are what GBK decoders make
# of byte pairs in the user-defined rows (UTF-8 read as GBK is full of them). Private use
# is otherwise icon-font glyphs. ESC waits too: ftfy removes whole terminal escape
# sequences, not just their first byte.
LATE_CONTROLS = "\x1b\x80-\x84\x86-\x9f\u00ad\ue000-\uf8ff\U000f0000-\U0010ffff"
ODD_SPACE_OR_BREAK = {c: "\n" for c in "\r\x0b\x0c\x85\u2028\u2029"} | {
    c: " " for c in "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
}
FORMAT_JUNK_RE = re.compile(f"[{FORMAT_JUNK}]")
JUNK_RE = re.compile(f"[{FORMAT_JUNK}{LATE_CONTROLS}]")
ODD_SPACE_OR_BREAK_RE = re.compile(f"[{''.join(ODD_SPACE_OR_BREAK)}]")
UNTIDY_CHAR_RE = re.compile(f"[{FORMAT_JUNK}{LATE_CONTROLS}{''.join(ODD_SPACE_OR_BREAK)}]")
SPACE_RUN_RE = re.compile(" {2,}")


def _is_untidy(text: str) -> bool:
    """Whether tidying could change anything: substring tests (`in`) are far cheaper than a regex."""
    return (
        "  " in text
        or " \n" in text
        or "\n " in text
        or "\t\n" in text
        or "\n\t" in text
        or "\n\n\n" in text
        or "\u3000\n" in text
        or text[:1].isspace()
        or text[-1:].isspace()
        or UNTIDY_CHAR_RE.search(text) is not None
    )


def _tidy_lines(text: str) -> str:
    """Strip each line's ASCII spaces and tabs, shrink space runs, keep one blank line between paragraphs."""
    lines = []
    blank = True  # drops blank lines at the start
    for line in text.split("\n"):
        line = line.strip(" \t")
        if not line.strip("\u3000"):
            if not blank:
                lines.append("")
            blank = True
            continue
        if "  " in line:
            line = SPACE_RUN_RE.sub(" ", line)
        lines.append(line)
        blank = False
    if lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines)


def remove_format_junk(text: str) -> tuple[str, int]:
    """Remove format characters (zero-width, bidi, BOM, C0 controls); returns (text, removed)."""
    if not FORMAT_JUNK_RE.search(text):
        return text, 0
    return FORMAT_JUNK_RE.subn("", text)


def strip_invisible(text: str) -> tuple[str, int, int]:
    """Remove invisible junk and tidy whitespace.

    Returns (text, characters removed or replaced, of which junk removed): removing junk
    can join characters that only together are something to repair.
    """
    if not _is_untidy(text):
        return text, 0, 0
    original = text
    text, junk = JUNK_RE.subn("", text.replace("\r\n", "\n"))
    text, odd = ODD_SPACE_OR_BREAK_RE.subn(lambda m: ODD_SPACE_OR_BREAK[m.group()], text)
    text = _tidy_lines(text)
    return text, junk + odd or int(text != original), junk
