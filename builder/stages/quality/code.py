"""Lines of program code inside a Chinese page (shell, C, Python, SQL, config files).

Chinese technical pages (blogs, forum posts, tutorials: a large and valuable part of the web)
explain in Chinese and show code between the paragraphs. Code repeats lines (`}`, `-e ENV=dev \\`)
and is mostly Latin letters and punctuation; rules and models made for prose read both as junk.
The quality stage's line repeats leave code lines alone, and the page model scores a page that
is largely code on its prose (`quality_model/prose.py`).

A code line, judged on its own characters (vectorised over a batch, no Python per line):
- almost no Han (under a tenth of its visible characters: a Chinese comment is prose);
- at most `MAX_CODE_LINE` characters (a long line mixing Chinese and SQL is a paragraph);
- not markup alone, `<...>`: leftover or injected HTML (hacked pages carry screens of it) is
  junk, not code; nor a bare link (one word holding `://` or `www.`): link lists are chrome;
- it ends like a statement (`;`, `{`, `}`, a continuation `\\`), or it has three or more visible
  characters, a letter, and program punctuation (`{}()[];=<>+*/\\&|!$#:_"'` and the like)
  for at least a tenth of them (a timestamp or a rule of `=====` has no letter); or it is a line of
  Latin words without Han right above or below a code line of its page (`sleep 30s`).
"""
from __future__ import annotations

import numpy as np

from builder.stages.quality.tables import HAN, LETTER, SPACE, char_set_table

MAX_CODE_LINE = 200
PROGRAM_PUNCTUATION = "{}()[];=<>+*/\\&|!$#:_\"'`@%^~"
STATEMENT_ENDS = ";{}\\"


def code_line_mask(points: np.ndarray, classes: np.ndarray, line_of_char: np.ndarray, first_line: np.ndarray) -> np.ndarray:
    """True for each line that is program code. `classes` from `char_class_table`, a newline belonging
    to the line it ends; `first_line`: each page's first line, and the number of lines at the end."""
    n_lines = int(first_line[-1])
    visible_at = np.flatnonzero(classes < SPACE)
    line, point = line_of_char[visible_at], points[visible_at]
    visible = np.bincount(line, minlength=n_lines)
    visible_class = classes.take(visible_at)
    han = np.bincount(line[visible_class == HAN], minlength=n_lines)
    letters = np.bincount(line[visible_class == LETTER], minlength=n_lines)
    program = np.bincount(line[char_set_table(PROGRAM_PUNCTUATION).take(point)], minlength=n_lines)
    length = np.bincount(line_of_char, minlength=n_lines) - 1  # less the newline each line but the last ends
    length[-1] += 1
    first_char = np.zeros(n_lines, dtype=np.uint32)
    last_char = np.zeros(n_lines, dtype=np.uint32)
    if line.size:
        run_start = np.concatenate(([True], line[1:] != line[:-1]))
        run_end = np.concatenate((run_start[1:], [True]))
        first_char[line[run_start]] = point[run_start]
        last_char[line[run_end]] = point[run_end]
    markup = (first_char == ord("<")) & (last_char == ord(">"))
    # Words: visible characters that follow an invisible one (or start the text).
    word_start = visible_at[(visible_at == 0) | (classes.take(np.maximum(visible_at - 1, 0)) >= SPACE)]
    words = np.bincount(line_of_char[word_start], minlength=n_lines)
    link_marks = np.concatenate((_sequence_starts(points, "://"), _sequence_starts(points, "www.")))
    bare_link = (words == 1) & (np.bincount(line_of_char[link_marks], minlength=n_lines) > 0)
    statement_end = char_set_table(STATEMENT_ENDS).take(last_char)
    may_be_code = (han * 10 < visible) & (length <= MAX_CODE_LINE) & ~markup & ~bare_link
    code = may_be_code & (statement_end | ((visible >= 3) & (letters > 0) & (program * 10 >= visible)))
    # Commands with little punctuation (`sleep 30s`, `docker rm kafka`) are code beside code, on one page.
    page_start = np.zeros(n_lines + 1, dtype=bool)
    page_start[first_line] = True
    beside = np.zeros(n_lines, dtype=bool)
    beside[1:] = code[:-1] & ~page_start[1:n_lines]
    beside[:-1] |= code[1:] & ~page_start[1:n_lines]
    return code | (may_be_code & (han == 0) & (letters > 0) & beside)


def _sequence_starts(points: np.ndarray, sequence: str) -> np.ndarray:
    """Positions in `points` where `sequence` starts."""
    at = np.flatnonzero(points[: max(len(points) - len(sequence) + 1, 0)] == ord(sequence[0]))
    for offset, char in enumerate(sequence[1:], 1):
        at = at[points[at + offset] == ord(char)]
    return at
