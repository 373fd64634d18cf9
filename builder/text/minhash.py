"""MinHash signatures of character n-grams, for a whole batch of texts at once.

Chinese has no spaces, so shingles are n consecutive characters (code points), never
"words" split on spaces or punctuation.

Why one-permutation hashing instead of `num_perm` hash functions: the classic scheme
hashes every shingle `num_perm` times, which numpy cannot do at tens of MB/s. One
permutation hashing (Li, Owen & Zhang, NIPS 2012) hashes each shingle once, splits the
hash range into `num_perm` bins and keeps the minimum of each bin; optimal densification
(Shrivastava, ICML 2017) fills the bins a short text leaves empty by borrowing from other
bins along a probing order that is the same for every text. Two signatures then agree in
a slot with probability equal to the Jaccard similarity of the shingle sets, as with
classic MinHash, so LSH banding and agreement-rate estimates work unchanged.

Why 8-bit values (b-bit MinHash, Li & König, WWW 2010): the clustering step holds every
signature in memory, and at a fixed number of bytes per document more 8-bit slots estimate
Jaccard better than fewer wide ones: different minima agree on 8 bits with probability
1/256, which `estimated_jaccard` removes exactly, and which near a 0.7 threshold adds far
less variance than halving the slots would (512 x 8 bits: sd 0.020 at J = 0.7; 256 x 16
bits: 0.029).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

# Bumped whenever a signature would change for the same text and parameters: signatures of
# earlier dataset versions are only comparable when this matches.
SCHEME = "oph-densified-b8-v1"
VALUE_BITS = 8
VALUE_DTYPE = np.uint8
_U64 = np.uint64
_POLY = _U64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial n-gram hash
_SEED = _U64(0x5DEECE66D2B7A1F3)
_PROBE_SEED = 20120627
# Densification: probes tried one at a time for every empty bin, then cells (empty bins x
# num_perm) scanned per chunk for the rest, which bounds its scratch memory.
_SINGLE_PROBES = 8
# Texts with at most num_perm / 5 full bins densify by rank lookups (bins x full bins of work);
# above that, 8 single probes leave so few empty bins that scanning their orders is cheaper.
_SPARSE_SHARE = 5
_PROBE_CHUNK_CELLS = 1 << 22


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place: spreads every input bit over all 64 output bits."""
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


def to_codepoints(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The texts' code points concatenated (uint32) and each text's length in characters."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32), lengths


def shingle_hashes(codepoints: np.ndarray, lengths: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every character n-gram of every text, and the text each belongs to.

    Texts come as their concatenated code points and lengths (see `to_codepoints`) and are
    hashed in one vectorised pass; n-grams that would straddle two texts are left out.
    A text shorter than `ngram` has none.
    """
    per_text = np.maximum(lengths - ngram + 1, 0)
    total = int(per_text.sum())
    if total == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    text_index = np.repeat(np.arange(len(lengths), dtype=np.int64), per_text)
    # Start of each shingle: its rank inside its text plus the text's offset in the concatenation.
    starts = np.arange(total, dtype=np.int64)
    starts += np.repeat(np.cumsum(lengths) - lengths - (np.cumsum(per_text) - per_text), per_text)
    hashes = np.full(total, _SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(ngram):
            hashes *= _POLY
            hashes += codepoints[starts + offset].astype(np.uint64)
    return mix64(hashes), text_index


@lru_cache(maxsize=8)
def _probe_order(num_perm: int) -> np.ndarray:
    """For each bin, the order in which other bins are tried when it is empty (fixed, seeded)."""
    rng = np.random.default_rng(_PROBE_SEED)
    return np.stack([rng.permutation(num_perm) for _ in range(num_perm)]).astype(np.intp)


def minhash_signatures(codepoints: np.ndarray, lengths: np.ndarray, ngram: int, num_perm: int) -> np.ndarray:
    """A (texts, num_perm) uint8 matrix of MinHash signatures of character n-grams.

    Texts come as in `shingle_hashes`, so a caller can normalise code points first.
    `num_perm` must be a power of two (bins are the top bits of the shingle hash). Rows of
    texts shorter than `ngram` (no shingle at all) are zeros; callers leave them out of
    near-duplicate search by their length.
    """
    if num_perm < 2 or num_perm & (num_perm - 1):
        raise ValueError(f"num_perm must be a power of two, got {num_perm}")
    n_texts = len(lengths)
    hashes, text_index = shingle_hashes(codepoints, lengths, ngram)
    bin_bits = _U64(num_perm.bit_length() - 1)
    empty = np.iinfo(np.uint64).max
    minima = np.full(n_texts * num_perm, empty, dtype=np.uint64)
    cell = text_index * num_perm + (hashes >> (_U64(64) - bin_bits)).astype(np.int64)
    np.minimum.at(minima, cell, hashes)
    minima = minima.reshape(n_texts, num_perm)
    _densify(minima, empty)
    # The minimum of a bin is small in its high bits; its low bits are uniform.
    signatures = (minima & _U64((1 << VALUE_BITS) - 1)).astype(VALUE_DTYPE)
    signatures[np.bincount(text_index, minlength=n_texts) == 0] = 0
    return signatures


def _densify(minima: np.ndarray, empty: int) -> None:
    """Fill each empty bin with the first non-empty bin along its probing order, in place.

    Texts with few full bins (short texts: one of 10 characters has 6 shingles for 512 bins)
    look up, for every bin, the rank of each of their full bins in that bin's order, and take
    the lowest: work in proportion to bins x full bins. Texts with many full bins walk the
    order a step at a time, where most empty bins meet a full one within a few probes, and
    scan the rest of the order for the few left.
    """
    is_empty = minima == empty
    full_counts = minima.shape[1] - is_empty.sum(axis=1)
    sparse = (full_counts > 0) & (full_counts <= minima.shape[1] // _SPARSE_SHARE)
    for count in np.unique(full_counts[sparse]).tolist():
        _densify_sparse(minima, is_empty, np.flatnonzero(full_counts == count), count)
    rows, bins = np.nonzero(is_empty & (full_counts > minima.shape[1] // _SPARSE_SHARE)[:, None])
    order = _probe_order(minima.shape[1])
    for step in range(_SINGLE_PROBES):
        if not rows.size:
            return
        probe = order[bins, step]
        full = ~is_empty[rows, probe]
        minima[rows[full], bins[full]] = minima[rows[full], probe[full]]
        rows, bins = rows[~full], bins[~full]
    chunk = max(1, _PROBE_CHUNK_CELLS // minima.shape[1])
    for lo in range(0, rows.size, chunk):
        r, b = rows[lo : lo + chunk], bins[lo : lo + chunk]
        probes = order[b, _SINGLE_PROBES:]
        first_full = np.argmax(~is_empty[r[:, None], probes], axis=1)
        minima[r, b] = minima[r, probes[np.arange(r.size), first_full]]


def _densify_sparse(minima: np.ndarray, is_empty: np.ndarray, rows: np.ndarray, count: int) -> None:
    """Densify `rows`, each with exactly `count` full bins, by the full bins' ranks in each bin's order."""
    num_perm = minima.shape[1]
    rank = _probe_rank(num_perm)
    chunk = max(1, _PROBE_CHUNK_CELLS // (num_perm * count))
    for lo in range(0, rows.size, chunk):
        r = rows[lo : lo + chunk]
        full_bins = np.nonzero(~is_empty[r])[1].reshape(r.size, count)  # row-major: each row's full bins
        nearest = np.argmin(rank[:, full_bins], axis=2).T  # (rows, bins): which full bin each bin takes
        source = np.take_along_axis(full_bins, nearest, axis=1)
        block = minima[r]
        filled = np.take_along_axis(block, source, axis=1)
        minima[r] = np.where(is_empty[r], filled, block)


@lru_cache(maxsize=8)
def _probe_rank(num_perm: int) -> np.ndarray:
    """rank[b, j]: where bin j comes in bin b's probing order (the inverse of `_probe_order`)."""
    order = _probe_order(num_perm)
    rank = np.empty(order.shape, dtype=np.int16 if num_perm <= np.iinfo(np.int16).max else np.int32)
    rank[np.arange(num_perm)[:, None], order] = np.arange(num_perm)[None, :]
    return rank


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard similarity estimated from the slot agreement of row-aligned signatures.

    Different minima still agree on their low bits with probability 2**-VALUE_BITS; the estimate removes
    that share so it is unbiased for b-bit signatures.
    """
    chance = 2.0**-VALUE_BITS
    agreement = (a == b).mean(axis=-1)
    return np.clip((agreement - chance) / (1.0 - chance), 0.0, 1.0)


def candidate_probability(jaccard: np.ndarray | float, bands: int, rows: int) -> np.ndarray | float:
    """The LSH S-curve: chance that two texts of this Jaccard share at least one band."""
    return 1.0 - (1.0 - np.power(jaccard, rows)) ** bands
