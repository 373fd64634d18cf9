"""Features of a page for a learned quality score: hashed character n-grams plus a few dense signals.

Everything is computed for a whole batch at once over one numpy array of code points, so the
cost is a handful of vector operations per character and no Python object per n-gram:

- the batch is folded with the quality stage's table (Traditional to Simplified, full width to
  ASCII, lower case), with every digit read as `0` so that numbers, dates and prices share n-grams;
- n-grams of `orders` characters (1-3 by default) are polynomial hashes in wrapping uint64 built
  order by order from the previous one, salted per order and reduced to `2**bits` buckets by a
  multiplicative hash; n-grams that would cross into the next document are left out;
- each n-gram carries the value `1 / (number of n-grams of that order in its document)`, so a
  document's n-gram features sum to one per order (the mean of its n-grams, as fastText averages
  its embeddings) and a linear score is one gather and one `np.bincount` per order and batch;
- the dense signals say what n-grams cannot: length, script shares, line shape, sentence endings, and
  how much of the page is prose lines (an article inside page chrome).

`np.bincount` adds each document's values in array order, and a document's values come in the
same order whatever else is in the batch, so a score computed in a batch equals the score of the
document alone, bit for bit. Nothing here knows about models or stages.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

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
    fold_table,
)

HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: Fibonacci hashing
HASH_STEP = np.uint64(0x100000001B3)  # FNV-64 prime, the per-character polynomial base
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
def ngram_fold_table() -> np.ndarray:
    """The quality fold table with every decimal digit (ASCII after folding) mapped to `0`."""
    table = fold_table().copy()
    table[(table >= ord("1")) & (table <= ord("9"))] = ord("0")  # by value: full-width digits fold to ASCII first
    table[table == ord("\r")] = ord("\n")
    return table


@dataclass
class HashedNgrams:
    """Sparse features of a batch as parallel arrays: entry k adds `value[k]` at (`doc[k]`, `bucket[k]`)."""

    doc: np.ndarray  # int64
    bucket: np.ndarray  # int64, in [0, 2**bits)
    value: np.ndarray  # float64

    def score(self, weights: np.ndarray, n_docs: int) -> np.ndarray:
        """Sum of weight x value per document: the linear score of the n-gram part."""
        return np.bincount(self.doc, weights=weights[self.bucket] * self.value, minlength=n_docs)


@dataclass
class BatchPoints:
    """A batch of texts as one array of code points with each position's document."""

    points: np.ndarray  # uint32
    doc_of: np.ndarray  # int64, document index of each position
    starts: np.ndarray  # int64, first position of each document (n_docs + 1 entries)

    @classmethod
    def from_texts(cls, texts: list[str]) -> BatchPoints:
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        starts = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        return cls(points, np.repeat(np.arange(len(texts), dtype=np.int64), lengths), starts)

    @property
    def n_docs(self) -> int:
        return len(self.starts) - 1


def _ngram_buckets(batch: BatchPoints, orders: tuple[int, ...], bits: int):
    """(n, buckets) for each n in `orders`: the bucket of the n-gram starting at each position that has n characters left.

    Positions near a document's end give n-grams that run into the next document; the callers
    leave those out (`valid_length`)."""
    if not 1 <= bits <= 32 or not orders or min(orders) < 1:
        raise ValueError(f"need 1 <= bits <= 32 and orders >= 1, got bits={bits}, orders={orders}")
    folded = ngram_fold_table()[batch.points].astype(np.uint64)
    shift = np.uint64(64 - bits)
    rolling = np.zeros(len(folded), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in range(1, max(orders) + 1):
            length = len(folded) - n + 1
            if length <= 0:
                return
            rolling = rolling[:length] * HASH_STEP + folded[n - 1 :]  # hash of points[i : i + n]
            if n in orders:
                keys = (rolling + np.uint64(n) * HASH_MULTIPLIER) * HASH_MULTIPLIER
                yield n, (keys >> shift).astype(np.intp)


def _ngrams_per_doc(batch: BatchPoints, n: int) -> np.ndarray:
    return np.maximum(np.diff(batch.starts) - (n - 1), 0)


def _crossing(batch: BatchPoints, n: int, length: int) -> np.ndarray:
    """Start positions (< length) of n-grams that would cross a document's end: the last n - 1 of each document."""
    ends = batch.starts[1:]
    back = np.arange(1, n, dtype=np.int64)
    positions = (ends[:, None] - back[None, :]).ravel()
    return positions[(positions >= 0) & (positions < length)]


def hashed_ngrams(batch: BatchPoints, orders: tuple[int, ...], bits: int) -> HashedNgrams:
    """Every character n-gram of the folded batch, for each n in `orders`, as sparse entries (for training)."""
    docs, buckets, values = [], [], []
    for n, bucket in _ngram_buckets(batch, orders, bits):
        valid = np.ones(len(bucket), dtype=bool)
        valid[_crossing(batch, n, len(bucket))] = False
        doc = batch.doc_of[: len(bucket)][valid]
        docs.append(doc)
        buckets.append(bucket[valid].astype(np.int64))
        values.append(1.0 / _ngrams_per_doc(batch, n)[doc])
    if not docs:
        empty = np.zeros(0, dtype=np.int64)
        return HashedNgrams(empty, empty.copy(), np.zeros(0))
    return HashedNgrams(np.concatenate(docs), np.concatenate(buckets), np.concatenate(values))


def ngram_scores(batch: BatchPoints, orders: tuple[int, ...], bits: int, weights: np.ndarray) -> np.ndarray:
    """Per document, the sum over orders of the mean weight of its n-grams: `hashed_ngrams(...).score(weights)`
    up to rounding, without building the sparse entries (the run-time path).

    N-grams that cross a document's end get weight 0 instead of being removed, so each document's
    sum is the same sequence of additions (plus zeros) as for the document alone."""
    total = np.zeros(batch.n_docs)
    for n, bucket in _ngram_buckets(batch, orders, bits):
        gathered = weights[bucket]
        gathered[_crossing(batch, n, len(bucket))] = 0
        sums = np.bincount(batch.doc_of[: len(bucket)], weights=gathered, minlength=batch.n_docs)
        total = total + sums / np.maximum(_ngrams_per_doc(batch, n), 1)
    return total


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
