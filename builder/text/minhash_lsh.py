"""Near-duplicate clusters from MinHash signatures: LSH banding, verification, union-find.

Everything is numpy over whole columns so that memory stays a fixed number of bytes per
document and no Python object is made per document or per pair:
- per band, the band's slots are hashed to one uint64 per document, documents are sorted
  by it (with their row in its low bits: a plain sort, no argsort), and each run of equal keys becomes candidate pairs (first of the run, member);
  pairing with the run's first instead of all pairs keeps the work linear when a bucket
  holds thousands of copies;
- pairs whose documents are already in one cluster are skipped, the rest are verified by
  the estimated Jaccard of their full signatures, and accepted pairs are merged into a
  union-find forest by vectorised hooking (each root points to the smallest row it meets)
  and pointer jumping.
Clusters are therefore labelled by their smallest row, whatever order bands are read in.

A cluster is connected through verified pairs, but its ends can be far apart (A~B, B~C,
A and C not alike); `keepers` therefore drops a document only in favour of a kept document
it is itself similar to, so every reported pair is a verified pair.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.text.minhash import estimated_jaccard, mix64

_U64 = np.uint64
# Candidate pairs verified per step: bounds the scratch memory of gathering signatures.
_VERIFY_CHUNK = 1 << 16


@dataclass
class ClusterStats:
    candidate_pairs: int = 0  # pairs sharing a band, not already in one cluster
    verified_pairs: int = 0  # of those, pairs whose estimated Jaccard reached the threshold
    keeper_rounds: int = 0  # rounds `keepers` needed (the most keepers in one cluster)


def band_keys(signatures: np.ndarray, start: int, rows: int) -> np.ndarray:
    """One well-mixed uint64 per signature for the band of `rows` slots starting at `start`.

    The band's bytes are packed into 64-bit words and mixed, so that any bits of the key
    can stand for all of it; unequal bands collide only by chance.
    """
    width = rows * signatures.itemsize
    words = -(-width // 8)
    packed = np.zeros((signatures.shape[0], words * 8), dtype=np.uint8)
    packed[:, :width] = signatures[:, start : start + rows].view(np.uint8)
    packed = packed.view(np.uint64)
    key = mix64(packed[:, 0].copy())
    with np.errstate(over="ignore"):
        for word in range(1, words):
            key = mix64(key ^ packed[:, word])
    return key


def equal_key_pairs(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, member) pairs for every run of equal keys; `first` is the run's smallest row.

    `rows` must be increasing and `keys` well mixed (as from `band_keys`). Each key's low bits are replaced by its position, so one
    plain sort (about twice as fast as an argsort) orders by key, then by row. The bits
    given up make unequal keys collide by chance (about n**2 / 2**(65 - log2 n) pairs per
    band, 0.03 for a million rows); verification rejects those like any other candidate.
    """
    position_bits = _U64(max(1, (rows.size - 1).bit_length()))
    combined = keys >> position_bits << position_bits
    combined |= np.arange(rows.size, dtype=np.uint64)
    combined.sort()
    key_part = combined >> position_bits
    run_start = np.empty(rows.size, dtype=bool)
    run_start[:1] = True
    np.not_equal(key_part[1:], key_part[:-1], out=run_start[1:])
    order = (combined & ((_U64(1) << position_bits) - _U64(1))).astype(np.int64)
    first = rows[order[run_start]][np.cumsum(run_start) - 1]
    members = ~run_start
    return first[members], rows[order[members]]


def flatten(parent: np.ndarray) -> None:
    """Pointer jumping, in place, until every row points straight at its root."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return
        parent[:] = grand


def union(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Merge the clusters of each pair (a[i], b[i]); `parent` must be flat, and stays flat."""
    while a.size:
        root_a, root_b = parent[a], parent[b]
        apart = root_a != root_b
        if not apart.any():
            return
        a, b, root_a, root_b = a[apart], b[apart], root_a[apart], root_b[apart]
        # A root only ever moves to a smaller row, so hooking cannot make a cycle.
        np.minimum.at(parent, np.maximum(root_a, root_b), np.minimum(root_a, root_b))
        flatten(parent)


def _similar(signatures: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """Estimated Jaccard >= threshold for each pair (a[i], b[i]), in bounded chunks."""
    similar = np.zeros(a.size, dtype=bool)
    for lo in range(0, a.size, _VERIFY_CHUNK):
        part = slice(lo, lo + _VERIFY_CHUNK)
        similar[part] = estimated_jaccard(signatures[a[part]], signatures[b[part]]) >= threshold
    return similar


def keepers(
    labels: np.ndarray, signatures: np.ndarray, priority: np.ndarray, threshold: float, stats: ClusterStats
) -> np.ndarray:
    """For each row, the row it is dropped in favour of (itself when kept).

    In rounds, every cluster keeps its best unresolved row (lowest `priority`) and drops
    the unresolved rows similar to it; rows not similar to it wait for the next round.
    """
    keeper = np.arange(labels.size, dtype=np.int64)
    _, first_index, sizes = np.unique(labels, return_index=True, return_counts=True)
    unresolved = np.flatnonzero(np.isin(labels, labels[first_index[sizes > 1]]))
    head_of = np.empty(labels.size, dtype=np.int64)
    while unresolved.size:
        stats.keeper_rounds += 1
        order = unresolved[np.lexsort((priority[unresolved], labels[unresolved]))]
        heads = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
        head_of[labels[heads]] = heads
        head = head_of[labels[unresolved]]
        resolved = _similar(signatures, unresolved, head, threshold) | (unresolved == head)
        keeper[unresolved[resolved]] = head[resolved]
        unresolved = unresolved[~resolved]
    return keeper


def near_duplicate_clusters(
    signatures: np.ndarray,
    searchable: np.ndarray,
    bands: int,
    rows: int,
    threshold: float,
) -> tuple[np.ndarray, ClusterStats]:
    """Cluster label (smallest row of the cluster) of every row; rows alone keep their own.

    `searchable` marks the rows that take part (others stay alone, e.g. texts too short to
    have a shingle, or copies already removed as exact duplicates).
    """
    parent = np.arange(signatures.shape[0], dtype=np.int64)
    stats = ClusterStats()
    rows_in = np.flatnonzero(searchable)
    if rows_in.size < 2:
        return parent, stats
    for band in range(bands):
        keys = band_keys(signatures, band * rows, rows)[rows_in]
        first, member = equal_key_pairs(keys, rows_in)
        del keys
        apart = parent[first] != parent[member]
        first, member = first[apart], member[apart]
        stats.candidate_pairs += first.size
        similar = _similar(signatures, first, member, threshold)
        stats.verified_pairs += int(similar.sum())
        union(parent, first[similar], member[similar])
    return parent, stats
