"""`dedup`'s decide as shuffles over blocks of the key files, for an engine that offers a cluster.

The same decision as `Dedup._decide_here`, made from the same functions of
`builder/text/minhash_lsh.py`, but no process holds every key: the work is split into blocks
(a row group of a key file; the published versions' files first, as their rows come first),
and each step is a `Cluster.shuffle` whose tasks read only their block or their partition.
With B blocks and P partitions:

1. exact: a block routes (hash, row) by hash; a partition marks each row's first row with the
   same hash (`_first_equal_rows`): the exact copies, and how many rows can take part in the
   near search (the position bits of step 2 depend on it).
2. bands: a block computes the band keys of its searchable rows (`band_keys`) and routes
   (band, key, row) by band and `key >> position bits`; a partition forms each band's runs
   with the whole band's position bits (`equal_key_pairs`), so its pairs are exactly the
   local decide's pairs of those runs, and keeps them distinct (`pair_codes`).
3. verification: pairs go to the block of their first row, which counts them (distinct over
   all bands) and adds its signature, then to the block of their member, which verifies them
   (`similar`).
4. components: large-star and small-star rounds (`large_star`, `small_star`) over the verified
   edges, partitioned by node, until every component is a star around its smallest row: the
   label union-find gives.
5. keepers: the members of clusters go to their block, which adds their signature and
   length, then by label to a partition that runs `keepers` on its whole clusters.

What comes back to the driver: counts and flags per task, the exact copies (two int64 and a
flag each) and the near copies with their keeper and agreement (two int64 and a float): 17
to 24 bytes per dropped document, nothing per kept one. Everything else per document on the
driver is `_finish`'s: the ids of the rows it names and each dropped row's detail (Python
strings while they are made), then the `Decisions` columns of the dropped rows (~80 bytes
each) that the runner writes to the decision file and lets go; the artifacts are written
part by part. Measured (`benchmarks/bench_ray.py --no-build --decide 1000000`, 158,062
dropped): the deciding process peaked at 600 MB (143 MB before the decide; some 3 MB per
shuffle is Ray's own bookkeeping, 11 shuffles) against 997 MB for the decide in one process,
whose memory grows by about 600 bytes a document.

Blocks are read again by each step that needs them (four times for the signatures) rather
than held: on one machine that makes this slower than the local decide; the work and memory
per task are bounded by a block and a partition, whatever the corpus.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

import numpy as np

from builder.stages.base import Cluster
from builder.stages.blocks import block_of, concat, read_row_group, row_groups, split
from builder.stages.dedup import DedupParams, Outcome, _first_equal_rows, priority
from builder.stages.dedup_keys import EXACT, LENGTH, MINHASH, PublishedKeys, _fill_fixed_binary
from builder.text.minhash import VALUE_DTYPE, mix64
from builder.text.minhash_lsh import (ClusterStats, agreement, band_keys, equal_key_pairs, keepers, large_star, pair_codes,
                                      position_bits, similar, small_star)

log = logging.getLogger("builder")
MAX_PARTITIONS = 512
MAX_COMPONENT_ROUNDS = 200  # large/small-star rounds grow as log(n)**2 at worst; a stop against a bug


@dataclass(frozen=True)
class Block:
    """One row group of a key file: rows `start` to `start + rows` of the decide's numbering."""

    path: str
    group: int
    start: int
    rows: int
    published: bool  # a published version's artifact (columns exact, length, minhash) or this run's keys
    has_minhash: bool

    def read(self, exact: bool = False, length: bool = False, num_perm: int = 0) -> dict[str, np.ndarray]:
        names = {"exact": "exact" if self.published else EXACT, "length": "length" if self.published else LENGTH,
                 "minhash": "minhash" if self.published else MINHASH}
        wanted = [names[k] for k, on in (("exact", exact), ("length", length), ("minhash", num_perm and self.has_minhash)) if on]
        table = read_row_group(self.path, self.group, wanted)
        out: dict[str, np.ndarray] = {}
        if exact:
            out["exact"] = np.empty((self.rows, 2), dtype=np.uint64)
            _fill_fixed_binary(out["exact"], table[names["exact"]])
        if length:
            out["length"] = table[names["length"]].to_numpy().astype(np.int32)
        if num_perm:
            out["minhash"] = np.zeros((self.rows, num_perm), dtype=VALUE_DTYPE)
            if self.has_minhash:
                _fill_fixed_binary(out["minhash"], table[names["minhash"]])
        return out


def blocks_of(files: list, published: PublishedKeys) -> list[Block]:
    """The published versions' row groups (their rows come first), then this run's."""
    blocks: list[Block] = []
    for keys_file, has_minhash in zip(published.files, published.has_minhash):
        blocks += [Block(*group, True, has_minhash) for group in row_groups([keys_file], blocks[-1].start + blocks[-1].rows if blocks else 0)]
    start = published.size
    return blocks + [Block(*group, False, True) for group in row_groups(files, start)]


def decide_on_cluster(cluster: Cluster, files: list, published: PublishedKeys, p: DedupParams) -> Outcome:
    """The dedup decision as shuffles on `cluster` (see the module docstring)."""
    blocks = blocks_of(files, published)
    starts = np.array([b.start for b in blocks], dtype=np.int64)
    n_prev = published.size
    total = n_prev + sum(b.rows for b in blocks if not b.published)
    partitions = max(1, cluster.workers, min(len(blocks), MAX_PARTITIONS))
    log.info("dedup: deciding on the cluster: %s documents (%s published) in %d blocks, %d partitions",
             f"{total:,}", f"{n_prev:,}", len(blocks), partitions)

    # 1. exact copies, and how many rows the near search takes
    found, eligible = cluster.shuffle(blocks, partial(_route_exact, partitions=partitions, ngram=p.ngram, near=p.near),
                                      _reduce_exact, partitions)
    copies, firsts, copy_eligible = (np.concatenate(c) for c in zip(*cluster.get(found)))
    order = np.argsort(copies)
    copies, firsts, copy_eligible = copies[order], firsts[order], copy_eligible[order]
    if not p.exact:
        copies, firsts, copy_eligible = copies[:0], firsts[:0], copy_eligible[:0]
    searchable = sum(eligible) - int(copy_eligible.sum())

    stats = ClusterStats()
    near_rows = near_keepers = np.empty(0, dtype=np.int64)
    near_agreement = np.empty(0)
    if p.near and searchable >= 2:
        near_rows, near_keepers, near_agreement = _near(cluster, blocks, starts, copies, total, searchable, partitions, n_prev, p, stats)

    # Exact copies point at their first copy; their group is that first copy's near keeper.
    current_copies = copies >= n_prev
    copies, firsts = copies[current_copies], firsts[current_copies]
    at = np.searchsorted(near_rows, firsts)
    moved = at < near_rows.size
    moved[moved] = near_rows[at[moved]] == firsts[moved]
    copy_groups = firsts.copy()
    copy_groups[moved] = near_keepers[at[moved]]
    current_near = near_rows >= n_prev
    rows = np.concatenate([copies, near_rows[current_near]])
    order = np.argsort(rows)
    return Outcome(
        dropped=(rows - n_prev)[order],
        kept_rows=np.concatenate([firsts, near_keepers[current_near]])[order],
        exact=np.concatenate([np.ones(copies.size, bool), np.zeros(int(current_near.sum()), bool)])[order],
        similarity=np.concatenate([np.zeros(copies.size), near_agreement[current_near]])[order],
        groups=np.concatenate([copy_groups, near_keepers[current_near]])[order],
        stats=stats,
    )


def _near(cluster: Cluster, blocks, starts, copies, total, searchable, partitions, n_prev, p: DedupParams, stats: ClusterStats):
    accept_at = p.threshold + p.margin
    bits = position_bits(searchable)
    # 2. candidate pairs, band by band, a part of each band per partition
    bounds = np.searchsorted(copies, [[b.start, b.start + b.rows] for b in blocks]) if blocks else np.empty((0, 2), int)
    items = [(block, copies[lo:hi]) for block, (lo, hi) in zip(blocks, bounds.tolist())]
    route = partial(_route_bands, partitions=partitions, ngram=p.ngram, bands=p.bands, rows=p.rows, num_perm=p.num_perm, bits=bits)
    pairs, _ = cluster.shuffle(items, route, partial(_reduce_bands, bits=bits, total=total), partitions)
    # 3. verification: to the first row's block for its signature, then to the member's
    pairs, candidates = cluster.shuffle(pairs, partial(_route_codes_by_first, starts=starts, total=total),
                                        partial(_add_first_signature, blocks=blocks, total=total, num_perm=p.num_perm), len(blocks))
    edges, verified = cluster.shuffle(pairs, partial(_route_pairs_by_member, starts=starts),
                                      partial(_verify, blocks=blocks, num_perm=p.num_perm, threshold=accept_at), len(blocks))
    stats.candidate_pairs, stats.verified_pairs = sum(candidates), sum(verified)
    # 4. connected components
    for _ in range(MAX_COMPONENT_ROUNDS):
        stars, not_stars = cluster.shuffle(edges, partial(_route_both_ways, partitions=partitions), _reduce_large_star, partitions)
        if not any(not_stars):
            break
        edges, _ = cluster.shuffle(stars, partial(_route_by_larger, partitions=partitions), _reduce_small_star, partitions)
    else:
        raise RuntimeError(f"dedup: connected components did not settle in {MAX_COMPONENT_ROUNDS} rounds")
    # 5. keepers, cluster by cluster
    members, _ = cluster.shuffle(stars, partial(_route_members_by_block, starts=starts),
                                 partial(_add_member_keys, blocks=blocks, num_perm=p.num_perm), len(blocks))
    kept, rounds = cluster.shuffle(members, partial(_route_by_label, partitions=partitions),
                                   partial(_reduce_keepers, n_prev=n_prev, keep=p.keep, threshold=accept_at), partitions)
    stats.keeper_rounds = max(rounds, default=0)
    rows, keeper, shares = (np.concatenate(c) for c in zip(*cluster.get(kept)))
    order = np.argsort(rows)
    return rows[order], keeper[order], shares[order]


# -- 1. exact ---------------------------------------------------------------------------------
def _route_exact(block: Block, partitions: int, ngram: int, near: bool) -> list[tuple]:
    keys = block.read(exact=True, length=True)
    eligible = (keys["length"] >= ngram) & (block.has_minhash and near)
    rows = np.arange(block.start, block.start + block.rows, dtype=np.int64)
    return split((keys["exact"][:, 0] % np.uint64(partitions)).astype(np.int64), partitions, keys["exact"], rows, eligible)


def _reduce_exact(index: int, pieces: list[tuple]):
    exact, rows, eligible = concat(pieces)  # rows increase: the blocks' pieces come in order
    first = rows[_first_equal_rows(exact)]
    copy = first != rows
    return (rows[copy], first[copy], eligible[copy]), int(eligible.sum())


# -- 2. bands ---------------------------------------------------------------------------------
def _route_bands(item: tuple, partitions: int, ngram: int, bands: int, rows: int, num_perm: int, bits: int) -> list[tuple]:
    block, copies = item
    keys = block.read(length=True, num_perm=num_perm)
    searchable = (keys["length"] >= ngram) & block.has_minhash
    searchable[copies - block.start] = False
    local = np.flatnonzero(searchable)
    signatures = keys["minhash"][local]
    row = local + block.start
    parts: list[list[tuple]] = [[] for _ in range(partitions)]
    for band in range(bands):
        key = band_keys(signatures, band * rows, rows)
        where = mix64((key >> np.uint64(bits)) ^ np.uint64(band)) % np.uint64(partitions)
        band_column = np.full(key.size, band, dtype=np.int32)
        for part, piece in zip(parts, split(where.astype(np.int64), partitions, band_column, key, row)):
            part.append(piece)
    return [tuple(concat(part)) for part in parts]


def _reduce_bands(index: int, pieces: list[tuple], bits: int, total: int):
    band, key, row = concat(pieces)
    order = np.argsort(band, kind="stable")  # by band, each band's rows in increasing order
    band, key, row = band[order], key[order], row[order]
    bounds = np.flatnonzero(np.r_[True, band[1:] != band[:-1], True]) if band.size else np.array([0])
    firsts, members = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        first, member = equal_key_pairs(key[lo:hi], row[lo:hi], bits)
        firsts.append(first)
        members.append(member)
    return pair_codes(np.concatenate(firsts), np.concatenate(members), total), None


# -- 3. verification --------------------------------------------------------------------------
def _route_codes_by_first(codes: np.ndarray, starts: np.ndarray, total: int) -> list[tuple]:
    return split(block_of(codes // np.int64(total), starts), len(starts), codes)


def _add_first_signature(index: int, pieces: list[tuple], blocks: list[Block], total: int, num_perm: int):
    (codes,) = concat(pieces)
    codes = np.unique(codes)  # a pair found in several bands (partitions) once
    first, member = np.divmod(codes, np.int64(total))
    signatures = blocks[index].read(num_perm=num_perm)["minhash"] if codes.size else np.empty((0, num_perm), VALUE_DTYPE)
    return (first, member, signatures[first - blocks[index].start]), int(codes.size)


def _route_pairs_by_member(pairs: tuple, starts: np.ndarray) -> list[tuple]:
    first, member, first_signatures = pairs
    return split(block_of(member, starts), len(starts), first, member, first_signatures)


def _verify(index: int, pieces: list[tuple], blocks: list[Block], num_perm: int, threshold: float):
    first, member, first_signatures = concat(pieces)
    if not first.size:
        return (first, member), 0
    signatures = blocks[index].read(num_perm=num_perm)["minhash"]
    accepted = similar(first_signatures, np.arange(first.size), signatures, member - blocks[index].start, threshold)
    return (first[accepted], member[accepted]), int(accepted.sum())


# -- 4. connected components ------------------------------------------------------------------
def _route_both_ways(edges: tuple, partitions: int) -> list[tuple]:
    a, b = edges[0], edges[1]
    source, target = np.concatenate([a, b]), np.concatenate([b, a])
    return split(source % partitions, partitions, source, target)


def _reduce_large_star(index: int, pieces: list[tuple]):
    larger, smallest, node, label, not_stars = large_star(*concat(pieces))
    return (larger, smallest, node, label), not_stars


def _route_by_larger(stars: tuple, partitions: int) -> list[tuple]:
    larger, smaller = stars[0], stars[1]
    return split(larger % partitions, partitions, larger, smaller)


def _reduce_small_star(index: int, pieces: list[tuple]):
    return small_star(*concat(pieces)), None


# -- 5. keepers -------------------------------------------------------------------------------
def _route_members_by_block(stars: tuple, starts: np.ndarray) -> list[tuple]:
    node, label = stars[2], stars[3]
    return split(block_of(node, starts), len(starts), node, label)


def _add_member_keys(index: int, pieces: list[tuple], blocks: list[Block], num_perm: int):
    node, label = concat(pieces)
    if not node.size:
        return (label, node, np.empty(0, np.int32), np.empty((0, num_perm), VALUE_DTYPE)), None
    keys = blocks[index].read(length=True, num_perm=num_perm)
    local = node - blocks[index].start
    return (label, node, keys["length"][local], keys["minhash"][local]), None


def _route_by_label(members: tuple, partitions: int) -> list[tuple]:
    return split(members[0] % partitions, partitions, *members)


def _reduce_keepers(index: int, pieces: list[tuple], n_prev: int, keep: str, threshold: float):
    label, row, length, signatures = concat(pieces)
    stats = ClusterStats()
    _, dense = np.unique(label, return_inverse=True)
    keeper = keepers(dense, signatures, priority(length, row, n_prev, keep), threshold, stats)
    moved = np.flatnonzero(keeper != np.arange(row.size))
    return (row[moved], row[keeper[moved]], agreement(signatures, moved, signatures, keeper[moved])), stats.keeper_rounds
