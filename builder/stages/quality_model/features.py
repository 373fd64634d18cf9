"""Features of a page for a learned quality score: hashed character n-grams (`quality/ngrams.py`)
plus a few dense signals.

Everything is computed for a whole batch at once over one numpy array of code points, so the
cost is a handful of vector operations per character and no Python object per n-gram. The dense
signals say what n-grams cannot: length, script shares, line shape, sentence endings, and how much
of the page is prose lines (an article inside page chrome). A page's features are the same alone
or in any batch. Nothing here knows about models or stages.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from builder.stages.quality.ngrams import BatchPoints
from builder.stages.quality.tables import (
    DIGIT,
    HAN,
    LETTER,
    NEWLINE,
    PUNCT,
    SPACE,
    SYMBOL,
    char_class_table,
    char_set_table,
    end_punctuation_table,
)

SHORT_LINE_CHARS = 10  # a line with fewer visible characters is menu-, tag- or teaser-sized

DENSE_FEATURES = (
    "log_chars",             # log1p of visible characters
    "han_share",
    "letter_share",          # non-Han letters: Latin, kana, Hangul...
    "digit_share",
    "punct_share",
    "symbol_share",
    "log_lines",             # log1p of non-blank lines
    "log_mean_line_chars",
    "short_line_share",      # share of non-blank lines under SHORT_LINE_CHARS visible characters
    "short_line_char_share",  # share of visible characters inside such lines
    "end_punct_line_share",  # share of non-blank lines ending in 。！？….?!”」』
    "end_punct_per_100",     # sentence-ending marks per 100 visible characters, anywhere in a line
    "comma_per_100",         # ，、,; per 100 visible characters: clause structure of prose
    "log_prose_chars",       # log1p of characters in prose lines (PROSE_LINE_CHARS+ characters, 2+ clause or end marks)
    "prose_char_share",      # their share of the visible characters: an article inside page chrome shows here
    "log_longest_line",      # log1p of the longest line's visible characters
)  # fmt: skip
PROSE_LINE_CHARS = 20
CLAUSE_MARKS = "，、,；;：:"
END_MARK, CLAUSE_MARK = 7, 8  # two classes past tables.py's seven, for dense_class_table
N_DENSE_CLASSES = 9


@lru_cache(maxsize=1)
def dense_class_table() -> np.ndarray:
    """Character classes (tables.py) with two more: sentence-ending marks and clause marks."""
    table = char_class_table().copy()
    table[end_punctuation_table()] = END_MARK
    table[char_set_table(CLAUSE_MARKS)] = CLAUSE_MARK
    return table


def dense_features(batch: BatchPoints) -> np.ndarray:
    """One row of DENSE_FEATURES per document (float64), from character classes and line shapes."""
    n_docs, n_points = batch.n_docs, len(batch.points)
    if n_docs == 0:
        return np.zeros((0, len(DENSE_FEATURES)))
    classes = dense_class_table()[batch.points]
    counts = np.bincount(batch.doc_of * N_DENSE_CLASSES + classes, minlength=n_docs * N_DENSE_CLASSES)
    counts = counts.reshape(n_docs, N_DENSE_CLASSES).astype(np.float64)
    chars = counts.sum(axis=1) - counts[:, SPACE] - counts[:, NEWLINE]
    safe_chars = np.maximum(chars, 1)
    # Lines: [start, end) runs that begin at a document's start or after a newline.
    visible = (classes != SPACE) & (classes != NEWLINE)
    after_newline = np.flatnonzero(classes == NEWLINE) + 1
    doc_starts = batch.starts[:-1][np.diff(batch.starts) > 0]
    starts = np.union1d(doc_starts, after_newline[after_newline < n_points])
    ends = np.append(starts[1:], n_points)
    ends = np.minimum(ends, batch.starts[1:][batch.doc_of[starts]])  # a line never runs into the next document
    visible_before = np.zeros(n_points + 1, dtype=np.int64)
    np.cumsum(visible, out=visible_before[1:])
    line_chars = visible_before[ends] - visible_before[starts]
    marks_before = np.zeros(n_points + 1, dtype=np.int64)
    np.cumsum((classes == END_MARK) | (classes == CLAUSE_MARK), out=marks_before[1:])
    prose = (line_chars >= PROSE_LINE_CHARS) & (marks_before[ends] - marks_before[starts] >= 2)
    last_visible = np.maximum.accumulate(np.where(visible, np.arange(n_points), -1))[ends - 1] if n_points else ends
    nonblank = line_chars > 0
    short = nonblank & (line_chars < SHORT_LINE_CHARS)
    ends_sentence = np.zeros(len(starts), dtype=bool)
    ends_sentence[nonblank] = end_punctuation_table()[batch.points[last_visible[nonblank]]]
    line_doc = batch.doc_of[starts]

    def lines_per_doc(weights: np.ndarray) -> np.ndarray:
        return np.bincount(line_doc, weights=weights.astype(np.float64), minlength=n_docs)

    lines = lines_per_doc(nonblank)
    safe_lines = np.maximum(lines, 1)
    prose_chars = lines_per_doc(line_chars * prose)
    longest = np.zeros(n_docs, dtype=np.int64)
    np.maximum.at(longest, line_doc, line_chars)
    columns = [
        np.log1p(chars),
        counts[:, HAN] / safe_chars,
        counts[:, LETTER] / safe_chars,
        counts[:, DIGIT] / safe_chars,
        (counts[:, PUNCT] + counts[:, END_MARK] + counts[:, CLAUSE_MARK]) / safe_chars,
        counts[:, SYMBOL] / safe_chars,
        np.log1p(lines),
        np.log1p(chars / safe_lines),
        lines_per_doc(short) / safe_lines,
        lines_per_doc(line_chars * short) / safe_chars,
        lines_per_doc(ends_sentence) / safe_lines,
        100 * counts[:, END_MARK] / safe_chars,
        100 * counts[:, CLAUSE_MARK] / safe_chars,
        np.log1p(prose_chars),
        prose_chars / safe_chars,
        np.log1p(longest),
    ]
    return np.stack(columns, axis=1)
