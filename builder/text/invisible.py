"""Invisible junk and whitespace: what web pages leave in text that no reader sees.

Removed: BOMs inside the text, zero-width and bidi format characters, soft hyphens,
private-use glyphs (icon fonts), C0/C1 controls except tab and newline. An invisible
character standing between text is not always junk, though: some sites' CMS mark
paragraphs with a private-use code point (U+E40C in Sogou-style news), and deleting it
glues a title, its byline and every paragraph into one line. `place_invisible_breaks`
reads each one from its context first (see there): a paragraph mark becomes a line
break, a glyph between two Latin words a space, an icon next to a label just goes. No-break and
other typographic spaces become plain spaces. Per line, ASCII spaces and tabs at either end
go and runs of spaces shrink to one; a line of nothing but spaces becomes blank; runs of
blank lines shrink to one, so paragraphs (blank-line separated) stay apart. The ideographic
space U+3000 is Chinese typography (paragraph indent) and is kept inside lines.
"""
from __future__ import annotations

import re
from collections import Counter

# Format characters: safe to remove before any repair.
ZERO_WIDTH = "\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
C0_JUNK = "\x00-\x08\x0e-\x1a\x1c-\x1f\x7f"  # C0 controls (tab, newline, VT, FF, CR are line breaks; ESC below)
FORMAT_JUNK = C0_JUNK + ZERO_WIDTH
PRIVATE_USE = "\ue000-\uf8ff\U000f0000-\U0010ffff"
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

# --- invisible characters between text ------------------------------------------------------
ZERO_WIDTH_RUN_RE = re.compile(f"[{ZERO_WIDTH}]+")
INVISIBLE_RUN_RE = re.compile(f"[{ZERO_WIDTH}{PRIVATE_USE}]+")
PRIVATE_USE_RE = re.compile(f"[{PRIVATE_USE}]")
# Skipped when looking for the visible character on either side of an invisible one.
GAP_RE = re.compile(f"[ \t\u00a0\u3000{C0_JUNK}{ZERO_WIDTH}{PRIVATE_USE}]*")
GAP_BEFORE_RE = re.compile(f"[ \t\u00a0\u3000{C0_JUNK}{ZERO_WIDTH}{PRIVATE_USE}]*\\Z")
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x85\u2028\u2029")
# What a paragraph ends with: sentence ends, closing quotes and brackets (`（完）`).
SENTENCE_END = frozenset("。！？!?…；」』”’）】》")
# A code point is a paragraph mark in a document when it stands after a sentence end in a
# third of the places where it stands between text: paragraphs mostly end with one, while
# zero-width characters sprinkled into words (an anti-copy trick: `RA\u200bID`, `2\u200b021`)
# follow a sentence end about as often as any character does, so they need two such places;
# a private-use glyph after a sentence end is already rare (`标题\ue40c作者\ue40c正文。\ue40c来源`).
SEPARATOR_MIN_AFTER_END = {True: 1, False: 2}  # by: is private use
SEPARATOR_MIN_AFTER_END_SHARE = 1 / 3


def _is_word_character(ch: str) -> bool:
    """Latin, Greek or Cyrillic letters and digits: words that a glyph between them keeps apart."""
    return ch.isalnum() and (ch < "\u0530" or "\u1e00" <= ch <= "\u1fff")


def _neighbours(text: str, start: int, end: int) -> tuple[str, str]:
    """The visible characters on either side of text[start:end] within its line ('' at a line edge)."""
    before = GAP_BEFORE_RE.search(text, max(0, start - 64), start)
    position = before.start() if before else start
    previous = text[position - 1] if position > 0 else ""
    position = GAP_RE.match(text, end).end()
    following = text[position] if position < len(text) else ""
    return ("" if previous in LINE_BREAKS else previous), ("" if following in LINE_BREAKS else following)


def place_invisible_breaks(text: str, private_use: bool = True) -> tuple[str, int, int]:
    """Replace each run of invisible characters (zero-width, and private use unless
    `private_use` is False) by what a reader sees there; returns (text, characters
    replaced, breaks placed).

    - at a line edge (an icon before a label, `\ue60a 分享`): nothing;
    - a paragraph mark (a code point that this document puts after sentence ends, see
      `SEPARATOR_MIN_AFTER_END_SHARE`): a line break, or a space between two Latin words;
    - a private-use glyph after a sentence end: a line break (the sentence is over; one
      paragraph mark in a short text cannot be told from a glyph otherwise);
    - a private-use glyph between two Latin words or numbers: a space;
    - anything else (zero-width inside a word, a glyph between Chinese characters): nothing.

    `breaks` counts the runs that became a line break or a space.
    """
    pattern = INVISIBLE_RUN_RE if private_use else ZERO_WIDTH_RUN_RE
    runs = []
    between: Counter = Counter()
    after_end: Counter = Counter()
    for m in pattern.finditer(text):
        run = m.group()
        found = PRIVATE_USE_RE.search(run) if private_use else None
        key = found.group() if found else run[0]
        previous, following = _neighbours(text, m.start(), m.end())
        runs.append((m.start(), m.end(), key, found is not None, previous, following))
        if previous and following:
            between[key] += 1
            after_end[key] += previous in SENTENCE_END
    if not runs:
        return text, 0, 0
    separators = {
        key
        for key, n in between.items()
        if after_end[key] >= SEPARATOR_MIN_AFTER_END[PRIVATE_USE_RE.match(key) is not None]
        and after_end[key] >= SEPARATOR_MIN_AFTER_END_SHARE * n
    }
    pieces = []
    position = breaks = 0
    for start, end, key, is_private_use, previous, following in runs:
        replacement = ""
        if previous and following:
            words = _is_word_character(previous) and _is_word_character(following)
            if key in separators:
                replacement = " " if words else "\n"
            elif is_private_use and previous in SENTENCE_END:
                replacement = "\n"
            elif is_private_use and words:
                replacement = " "
        pieces += [text[position:start], replacement]
        position = end
        breaks += bool(replacement)
    pieces.append(text[position:])
    return "".join(pieces), sum(end - start for start, end, *_ in runs), breaks


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


def remove_format_junk(text: str) -> tuple[str, int, int]:
    """Remove format characters (zero-width, bidi, BOM, C0 controls); returns (text,
    removed or replaced, breaks placed). Zero-width characters that mark paragraphs
    become line breaks (`place_invisible_breaks`); private use waits for `strip_invisible`.
    """
    if not FORMAT_JUNK_RE.search(text):
        return text, 0, 0
    text, runs, breaks = place_invisible_breaks(text, private_use=False)
    text, removed = FORMAT_JUNK_RE.subn("", text)
    return text, removed + runs, breaks


def strip_invisible(text: str) -> tuple[str, int, int, int]:
    """Remove invisible junk and tidy whitespace.

    Returns (text, characters removed or replaced, of which junk removed, breaks placed):
    removing junk can join characters that only together are something to repair.
    """
    if not _is_untidy(text):
        return text, 0, 0, 0
    original = text
    text = text.replace("\r\n", "\n")
    junk = breaks = 0
    first = JUNK_RE.search(text)  # most untidy texts hold no junk at all: one scan
    if first is not None:
        if INVISIBLE_RUN_RE.search(text, first.start()) is not None:
            text, junk, breaks = place_invisible_breaks(text)
        text, removed = JUNK_RE.subn("", text)
        junk += removed
    text, odd = ODD_SPACE_OR_BREAK_RE.subn(lambda m: ODD_SPACE_OR_BREAK[m.group()], text)
    text = _tidy_lines(text)
    return text, junk + odd or int(text != original), junk, breaks
