"""Hashed character n-grams of a batch of texts, for the learned scores (page model and line model).

The batch is one numpy array of code points, folded with the quality stage's table (Traditional to
Simplified, full width to ASCII, lower case) and with every digit read as `0`, so that numbers, dates
and prices share n-grams. N-grams of `orders` characters are polynomial hashes in wrapping uint64,
built order by order from the previous one, salted per order and reduced to `2**bits` buckets by a
multiplicative hash; n-grams that would cross into the next text are left out. Each n-gram carries
`1 / (number of n-grams of that order in its text)`, so a text's n-gram features sum to one per
order (the mean of its n-gram weights, as fastText averages its embeddings).

`np.bincount` adds each text's values in array order, and a text's values come in the same order
whatever else is in the batch, so a score computed in a batch equals the score of the text alone,
bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from builder.stages.quality.tables import fold_table

HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: Fibonacci hashing
HASH_STEP = np.uint64(0x100000001B3)  # FNV-64 prime, the per-character polynomial base


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

    @classmethod
    def from_ranges(cls, points: np.ndarray, begins: np.ndarray, ends: np.ndarray) -> BatchPoints:
        """The pieces `points[begins[k]:ends[k]]` of one code-point array as a batch: the same batch as
        `from_texts` of those pieces as strings, without building and re-encoding the strings."""
        lengths = (ends - begins).astype(np.int64)
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        positions = np.arange(starts[-1], dtype=np.int64) + np.repeat(begins.astype(np.int64) - starts[:-1], lengths)
        return cls(points[positions], np.repeat(np.arange(len(lengths), dtype=np.int64), lengths), starts)

    @property
    def n_docs(self) -> int:
        return len(self.starts) - 1


def _ngram_buckets(batch: BatchPoints, orders: tuple[int, ...], bits: int):
    """(n, buckets) for each n in `orders`: the bucket of the n-gram starting at each position that has n characters left.

    Positions near a document's end give n-grams that run into the next document; the callers
    leave those out (`valid_length`)."""
    if not 1 <= bits <= 32 or not orders or min(orders) < 1:
        raise ValueError(f"need 1 <= bits <= 32 and orders >= 1, got bits={bits}, orders={orders}")
    folded = ngram_fold_table().take(batch.points).astype(np.uint64)
    shift = np.uint64(64 - bits)
    rolling = np.zeros(len(folded), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in range(1, max(orders) + 1):
            length = len(folded) - n + 1
            if length <= 0:
                return
            rolling = rolling[:length]  # in place: each order's hashes are built from the last order's
            rolling *= HASH_STEP
            rolling += folded[n - 1 :]  # hash of points[i : i + n]
            if n in orders:
                keys = rolling + np.uint64(n) * HASH_MULTIPLIER
                keys *= HASH_MULTIPLIER
                keys >>= shift
                yield n, keys.view(np.intp)  # below 2**bits after the shift: the same numbers as signed


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
