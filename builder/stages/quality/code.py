"""Lines of program code inside a Chinese page (shell, C, Python, SQL, config files).

Chinese technical pages (blogs, forum posts, tutorials: a large and valuable part of the web)
explain in Chinese and show code between the paragraphs. Code repeats lines (`}`, `-e ENV=dev \\`)
and is mostly Latin letters and punctuation; rules and models made for prose read both as junk.
The quality stage's line repeats leave code lines alone and its page signals read the prose, the
language stage counts code for no language, and the page model scores a page that is largely
code on its prose (`quality_model/prose.py`).

A code line, judged on its own characters:
- ASCII but for under a tenth of its visible characters (a Chinese comment is prose), and at
  most `MAX_CODE_LINE` characters long;
- not markup alone, `<...>`: leftover or injected HTML (hacked pages carry screens of it) is
  junk, not code; nor a bare link (one word holding `://` or `www.`): link lists are chrome, and a
  line holding a link is code only by the two rules below that do not count its punctuation;
- it ends in a continuation `\\`, or like a statement (`;`, `{`, `}`) and is short (three words
  at most) or holds other program punctuation; or it has two or more characters of program
  punctuation (`{}()[];=<>+*/\\&!$#:_"'` and the like), not all brackets, a tenth of its visible
  characters or more, and at least as many letters as digits (not a timestamp, a rule of `=====`,
  a user name `alimy:`, a tag `#nft`, a label with its count `Aaron Kwok (13)`); or it is a short line of ASCII words right above or below a code
  line of its page (`sleep 30s`).
Vectorised over a batch: one pass finds the few lines that are mostly ASCII, and only their
characters are looked at further (most lines of Chinese pages are not).
"""
from __future__ import annotations

import numpy as np

from builder.stages.quality.tables import code_points

MAX_CODE_LINE = 200
MAX_COMMAND_LINE = 60
# Not `|`: `Home | About | Contact` is a menu.
PROGRAM_PUNCTUATION = "{}()[];=<>+*/\\&!$#:_\"'`@%^~"
STATEMENT_ENDS = ";{}"
SPACE, LETTER, PROGRAM, STATEMENT_END, CONTINUATION, BRACKET = 1, 2, 4, 8, 16, 32


def _ascii_flags() -> np.ndarray:
    """Bit flags of the 128 ASCII code points; any other code point is looked up as 0."""
    flags = np.zeros(129, dtype=np.uint8)  # index 128: every non-ASCII character
    flags[[ord(c) for c in " \t\r\x0b\x0c"]] = SPACE
    flags[[ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"]] = LETTER
    flags[[ord(c) for c in PROGRAM_PUNCTUATION]] |= PROGRAM
    flags[[ord(c) for c in STATEMENT_ENDS]] |= STATEMENT_END
    flags[ord("\\")] |= CONTINUATION
    flags[[ord(c) for c in "()[]"]] |= BRACKET
    return flags


ASCII_FLAGS = _ascii_flags()


def code_lines_of(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code mask, length of each line, first line of each text and the line count) for the lines
    of `texts`, numbered across the texts as `text.split("\\n")` gives them."""
    points = code_points("\n".join(texts))
    newlines = np.flatnonzero(points == 10)
    line_start = np.concatenate(([0], newlines + 1))
    line_end = np.concatenate((newlines, [len(points)]))
    lines_per_text = np.fromiter((t.count("\n") + 1 for t in texts), dtype=np.int64, count=len(texts))
    first_line = np.concatenate(([0], np.cumsum(lines_per_text)))
    return code_line_mask(points, line_start, line_end, first_line), line_end - line_start, first_line


def code_line_mask(points: np.ndarray, line_start: np.ndarray, line_end: np.ndarray, first_line: np.ndarray) -> np.ndarray:
    """True for each line (`points[line_start[k]:line_end[k]]`) that is program code;
    `first_line`: each page's first line, and the number of lines at the end."""
    n_lines = len(line_start)
    non_ascii_before = np.concatenate(([0], np.cumsum(points > 127, dtype=np.int32)))
    non_ascii = non_ascii_before[line_end] - non_ascii_before[line_start]
    length = line_end - line_start
    candidate = (non_ascii * 10 < length) & (length <= MAX_CODE_LINE)
    code = np.zeros(n_lines, dtype=bool)
    if not candidate.any():
        return code
    # Only the characters of candidate lines, as (line, code point, flags) in text order.
    lines_in = np.flatnonzero(candidate)
    line = np.repeat(lines_in, length[lines_in])
    at = np.arange(len(line)) + np.repeat(line_start[lines_in] - np.concatenate(([0], np.cumsum(length[lines_in])[:-1])), length[lines_in])
    point = points[at]
    flags = ASCII_FLAGS.take(np.minimum(point, 128))
    visible_at = (flags & SPACE) == 0
    line_v, point_v, flags_v = line[visible_at], point[visible_at], flags[visible_at]
    visible = np.bincount(line_v, minlength=n_lines)
    letters = np.bincount(line_v[(flags_v & LETTER) > 0], minlength=n_lines)
    program = np.bincount(line_v[(flags_v & PROGRAM) > 0], minlength=n_lines)
    digits = np.bincount(line_v[(point_v >= 48) & (point_v <= 57)], minlength=n_lines)
    non_ascii_v = np.bincount(line_v[point_v > 127], minlength=n_lines)
    first_char = np.zeros(n_lines, dtype=np.int64)
    last_flags = np.zeros(n_lines, dtype=np.uint8)
    last_char = np.zeros(n_lines, dtype=np.int64)
    if line_v.size:
        run_start = np.concatenate(([True], line_v[1:] != line_v[:-1]))
        run_end = np.concatenate((run_start[1:], [True]))
        first_char[line_v[run_start]] = point_v[run_start]
        last_char[line_v[run_end]] = point_v[run_end]
        last_flags[line_v[run_end]] = flags_v[run_end]
    markup = (first_char == ord("<")) & (last_char == ord(">"))
    # Words: visible characters after a space or at the start of the line.
    word_start = visible_at & np.concatenate(([True], (line[1:] != line[:-1]) | ~visible_at[:-1]))
    words = np.bincount(line[word_start], minlength=n_lines)
    link_marks = np.concatenate((_sequence_starts(points, "://"), _sequence_starts(points, "www.")))
    has_link = np.zeros(n_lines, dtype=bool)
    has_link[np.searchsorted(line_end, link_marks, side="left")] = True
    bare_link = (words == 1) & has_link
    may_be_code = candidate & (non_ascii_v * 10 < visible) & ~markup & ~bare_link
    # A statement end with nothing else of a program before it (`… Buffalo }`) is prose, but for
    # a closing brace alone or a short statement (`return 0;`).
    statement_end = (((last_flags & STATEMENT_END) > 0) & ((program >= 2) | (visible <= 3) | (words <= 3))) | (
        (last_flags & CONTINUATION) > 0
    )
    operators = np.bincount(line_v[(flags_v & (PROGRAM | BRACKET)) == PROGRAM], minlength=n_lines)
    punctuated = (program >= 2) & (operators > 0) & (program * 10 >= visible) & (letters > 0) & (letters >= digits) & ~has_link
    code = may_be_code & (statement_end | punctuated)
    # Commands with little punctuation (`sleep 30s`, `docker rm kafka`) are code beside code, on one
    # page: short lines of ASCII only (a sentence in Korean or English beside a menu is not).
    command = may_be_code & (letters > 0) & (non_ascii_v == 0) & (length <= MAX_COMMAND_LINE)
    page_start = np.zeros(n_lines + 1, dtype=bool)
    page_start[first_line] = True
    beside = np.zeros(n_lines, dtype=bool)
    beside[1:] = code[:-1] & ~page_start[1:n_lines]
    beside[:-1] |= code[1:] & ~page_start[1:n_lines]
    return code | (command & beside)


def _sequence_starts(points: np.ndarray, sequence: str) -> np.ndarray:
    """Positions in `points` where `sequence` starts."""
    at = np.flatnonzero(points[: max(len(points) - len(sequence) + 1, 0)] == ord(sequence[0]))
    for offset, char in enumerate(sequence[1:], 1):
        at = at[points[at + offset] == ord(char)]
    return at
