"""Near-duplicate clusters from MinHash signatures: LSH banding, verification, union-find.

Everything is numpy over whole columns so that memory stays a fixed number of bytes per
document and no Python object is made per document or per pair:
- per band, the band's slots are hashed to one uint64 per document, documents are sorted
  by it (with their row in its low bits: a plain sort, no argsort), and each run of equal keys becomes candidate pairs (first of the run, member);
  pairing with the run's first instead of all pairs keeps the work linear when a bucket
  holds thousands of copies;
- pairs found in an earlier band are skipped (a sorted array of the distinct pairs so far,
  8 bytes a pair), the rest are verified by the estimated Jaccard of their full signatures,
  and accepted pairs are merged into a union-find forest by vectorised hooking (each root
  points to the smallest row it meets) and pointer jumping.
Clusters are therefore labelled by their smallest row, whatever order bands are read in.

The same steps also run as shuffles over blocks of rows (`builder/stages/dedup_cluster.py`):
the band keys of a block (`band_keys`), the pairs of one part of a band (`equal_key_pairs`
with the whole band's `position_bits`), verification of pairs given the two signatures
(`similar`), connected components by `large_star` / `small_star` rounds instead of
union-find, and `keepers` per group of clusters. Each step is one function here, used by both.

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
    # Distinct (first of a run, member) pairs over all bands: a pair found in several bands counts once.
    # (Until 2026-12 only pairs not already in one cluster when their band was read were counted, which
    # depends on the order bands are read in; a distributed decide reads them in no order.)
    candidate_pairs: int = 0
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


def position_bits(searchable_rows: int) -> int:
    """Low bits of a band key `equal_key_pairs` gives up to hold a position among `searchable_rows` rows."""
    return max(1, (searchable_rows - 1).bit_length())


def equal_key_pairs(keys: np.ndarray, rows: np.ndarray, bits: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(first, member) pairs for every run of equal keys; `first` is the run's smallest row.

    `rows` must be increasing and `keys` well mixed (as from `band_keys`). Each key's low bits are replaced by its position, so one
    plain sort (about twice as fast as an argsort) orders by key, then by row. The bits
    given up make unequal keys collide by chance (about n**2 / 2**(65 - log2 n) pairs per
    band, 0.03 for a million rows); verification rejects those like any other candidate.
    `bits` (default `position_bits(rows.size)`) is how many are given up: a part of a band
    (the keys of one shuffle partition) passes the whole band's count, so its runs are the
    whole band's runs (`keys >> bits` equal) and its pairs the same pairs.
    """
    shift = _U64(position_bits(rows.size) if bits is None else bits)
    if rows.size > (1 << int(shift)):
        raise ValueError(f"{rows.size} rows do not fit in {int(shift)} position bits")
    combined = keys >> shift << shift
    combined |= np.arange(rows.size, dtype=np.uint64)
    combined.sort()
    key_part = combined >> shift
    run_start = np.empty(rows.size, dtype=bool)
    run_start[:1] = True
    np.not_equal(key_part[1:], key_part[:-1], out=run_start[1:])
    order = (combined & ((_U64(1) << shift) - _U64(1))).astype(np.int64)
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


def similar(signatures_a: np.ndarray, a: np.ndarray, signatures_b: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """Estimated Jaccard >= threshold for each pair (signatures_a[a[i]], signatures_b[b[i]]), in bounded chunks."""
    result = np.zeros(a.size, dtype=bool)
    for lo in range(0, a.size, _VERIFY_CHUNK):
        part = slice(lo, lo + _VERIFY_CHUNK)
        result[part] = estimated_jaccard(signatures_a[a[part]], signatures_b[b[part]]) >= threshold
    return result


def agreement(signatures_a: np.ndarray, a: np.ndarray, signatures_b: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of equal slots of each pair (signatures_a[a[i]], signatures_b[b[i]]), what a near copy's detail reports."""
    result = np.empty(a.size)
    for lo in range(0, a.size, _VERIFY_CHUNK):
        part = slice(lo, lo + _VERIFY_CHUNK)
        result[part] = (signatures_a[a[part]] == signatures_b[b[part]]).mean(axis=-1)
    return result


def keepers(
    labels: np.ndarray, signatures: np.ndarray, priority: np.ndarray, threshold: float, stats: ClusterStats
) -> np.ndarray:
    """For each row, the row it is dropped in favour of (itself when kept).

    In rounds, every cluster keeps its best unresolved row (lowest `priority`) and drops
    the unresolved rows similar to it; rows not similar to it wait for the next round.
    Clusters do not depend on each other, so the rows of any set of whole clusters can be
    passed alone (`labels` then numbered 0.. within them, as `np.unique(..., return_inverse=True)` does).
    """
    keeper = np.arange(labels.size, dtype=np.int64)
    _, first_index, sizes = np.unique(labels, return_index=True, return_counts=True)
    unresolved = np.flatnonzero(np.isin(labels, labels[first_index[sizes > 1]]))
    head_of = np.empty(labels.size, dtype=np.int64)
    rounds = 0
    while unresolved.size:
        rounds += 1
        order = unresolved[np.lexsort((priority[unresolved], labels[unresolved]))]
        heads = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
        head_of[labels[heads]] = heads
        head = head_of[labels[unresolved]]
        resolved = similar(signatures, unresolved, signatures, head, threshold) | (unresolved == head)
        keeper[unresolved[resolved]] = head[resolved]
        unresolved = unresolved[~resolved]
    stats.keeper_rounds = max(stats.keeper_rounds, rounds)
    return keeper


def pair_codes(first: np.ndarray, member: np.ndarray, total: int) -> np.ndarray:
    """One int64 per pair (first * total + member), sorted, without repeats."""
    return np.unique(first * np.int64(total) + member)


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
    total = signatures.shape[0]
    parent = np.arange(total, dtype=np.int64)
    stats = ClusterStats()
    rows_in = np.flatnonzero(searchable)
    if rows_in.size < 2:
        return parent, stats
    seen = np.empty(0, dtype=np.int64)  # distinct candidate pairs so far, as sorted `pair_codes`
    for band in range(bands):
        keys = band_keys(signatures, band * rows, rows)[rows_in]
        codes = pair_codes(*equal_key_pairs(keys, rows_in), total)
        del keys
        at = np.searchsorted(seen, codes)
        known = at < seen.size
        known[known] = seen[at[known]] == codes[known]
        codes, at = codes[~known], at[~known]
        seen = np.insert(seen, at, codes)
        first, member = np.divmod(codes, np.int64(total))
        stats.candidate_pairs += codes.size
        accepted = similar(signatures, first, signatures, member, threshold)
        stats.verified_pairs += int(accepted.sum())
        union(parent, first[accepted], member[accepted])
    return parent, stats


def large_star(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """One large-star step of connected components (Kiveris et al., 2014) for the nodes in `source`.

    Takes every edge of those nodes in both directions (`source` -> `target`). Each node
    links its larger neighbours to the smallest of itself and its neighbours. Returns the new
    edges (larger, smaller), each node with that smallest, and whether the edges were not
    yet stars around their smallest node: some node has a smaller and a larger neighbour, or
    two smaller ones. When no part of the graph says so, each node's smallest is its
    component's smallest row, the label `near_duplicate_clusters` gives.
    """
    order = np.lexsort((target, source))
    source, target = source[order], target[order]
    distinct = np.r_[True, (source[1:] != source[:-1]) | (target[1:] != target[:-1])] if source.size else np.empty(0, bool)
    source, target = source[distinct], target[distinct]
    if not source.size:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty, empty, False
    starts = np.flatnonzero(np.r_[True, source[1:] != source[:-1]])
    node = source[starts]
    smallest = np.minimum(node, np.minimum.reduceat(target, starts))
    per_edge = np.repeat(smallest, np.diff(np.r_[starts, source.size]))
    larger = target > source
    smaller_count = np.add.reduceat((~larger).astype(np.int64), starts)
    larger_count = np.add.reduceat(larger.astype(np.int64), starts)
    not_stars = bool(((smaller_count > 0) & (larger_count > 0)).any() or (smaller_count > 1).any())
    return target[larger], per_edge[larger], node, smallest, not_stars


def small_star(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One small-star step for the nodes that are the larger end of edges (a, b), a > b.

    Each node and its smaller neighbours are linked to the smallest of those neighbours.
    """
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    if not a.size:
        return a, b
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    smallest = np.minimum.reduceat(b, starts)
    per_edge = np.repeat(smallest, np.diff(np.r_[starts, a.size]))
    moved = b != per_edge
    return np.concatenate([a[starts], b[moved]]), np.concatenate([smallest, per_edge[moved]])
