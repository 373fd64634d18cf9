"""`line_frequency`'s decide as shuffles over blocks of the key files, for an engine that offers a cluster.

The same decision as the decide in one process, from the same functions of
`line_frequency.py` (`fingerprints`, `first_of_copies`, `site_rule`, `corpus_rule`,
`document_edits`); a block is a row group of a key file, a partition a share of a shuffle's keys:

1. copies: each block routes its documents' fingerprints (and fingerprint x site) by value; a
   partition marks the first document of each value (`first_of_copies`): the documents that count.
2. sites: the first documents of each (fingerprint, site) are counted by site, and each block
   asks for the counts of its own sites (a join by site).
3. lines: each block gets its documents' flags and site counts and makes, per counted line,
   the keys and counts the rules need.
4. rules: lines grouped by (key, site) for the site rule and by key for the corpus rule.
5. edits: the chrome lines go back to their block, which applies the copy guard and names the
   lines to remove (`document_edits`).

The driver gets back counters and the edits (the decisions themselves); no line record passes
through it, so its memory is the edits, as columns: per block the edited documents (int64)
and their line numbers (an Arrow list array, 8 bytes a line), chunked together into the
`Decisions` the runner writes to the decision file. Measured (`benchmarks/bench_ray.py
--no-build --decide 0 --lines 10000000`: 307,698 documents, 289,661 edited): the deciding
process peaked at 326 MB (143 MB before the decide; 425 MB when each edit was a Python list)
against 934 MB for the decide in one process, which holds about 80 bytes per counted line. Sites are mixed into group keys by a hash of their name (`site_hash`), so a block
gives each site the same key as the whole run would.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa

from builder.stages.base import Cluster
from builder.stages.blocks import block_of, concat, read_row_group, row_groups, split
from builder.stages.line_frequency import (CHARS, LINES, SITE, LineFrequencyParams, _records, corpus_rule, document_edits,
                                           first_of_copies, fingerprints, site_ids, site_rule)

MAX_PARTITIONS = 512
LINE_BITS = 40  # a line's id: its block's index above these bits, its place in the block below


@dataclass(frozen=True)
class _Block:
    index: int
    path: str
    group: int
    start: int
    rows: int

    def read(self, *names: str):
        return read_row_group(self.path, self.group, list(names))


def decide_on_cluster(cluster: Cluster, files: list, p: LineFrequencyParams, counters: Counter) -> tuple[np.ndarray, pa.ChunkedArray]:
    """(document, line indices to remove) of every edited document, decided by shuffles on `cluster`."""
    blocks = [_Block(i, *group) for i, group in enumerate(row_groups(files))]
    starts = np.array([b.start for b in blocks], dtype=np.int64)
    partitions = max(1, cluster.workers, min(len(blocks), MAX_PARTITIONS))
    firsts, _ = cluster.shuffle(blocks, partial(_route_copies, partitions=partitions), _reduce_copies, partitions)
    sites, _ = cluster.shuffle([*firsts, *blocks], partial(_route_sites, partitions=partitions), _reduce_sites, partitions)
    lines, _ = cluster.shuffle([*sites, *firsts], partial(_route_to_blocks, starts=starts),
                               partial(_block_lines, blocks=blocks, p=p), len(blocks))
    by_site, _ = cluster.shuffle(lines, partial(_route_site_groups, partitions=partitions), partial(_reduce_site_rule, p=p), partitions)
    by_key, _ = cluster.shuffle(lines, partial(_route_key_groups, partitions=partitions), partial(_reduce_corpus_rule, p=p), partitions)
    edits, counts = cluster.shuffle([*by_site, *by_key], partial(_route_chrome, blocks=len(blocks)),
                                    partial(_block_edits, blocks=blocks, p=p), len(blocks))
    for block_counts in counts:
        counters.update(block_counts)
    for name in ("line_frequency.documents_guarded", "line_frequency.lines_guarded"):
        counters[name] += 0  # present when zero, as the decide in one process leaves them
    parts = cluster.get(edits)  # per block: its edited documents and their lines, as columns
    return (np.concatenate([np.empty(0, np.int64), *(rows for rows, _ in parts)]).astype(np.int64),
            pa.chunked_array([lines for _, lines in parts], pa.list_(pa.int64())))


def _empty(*dtypes) -> tuple:
    return tuple(np.empty(0, dtype=d) for d in dtypes)


def _block_keys(block: _Block):
    table = block.read(LINES, SITE)
    records, doc = _records(table[LINES])
    site, site_hash = site_ids(table[SITE])
    return records, doc, site, site_hash


# -- 1. copies --------------------------------------------------------------------------------
def _route_copies(block: _Block, partitions: int) -> list[tuple]:
    records, doc, site, site_hash = _block_keys(block)
    fingerprint = fingerprints(records["hash"], doc, block.rows, block.start)
    docs = np.arange(block.start, block.start + block.rows, dtype=np.int64)
    kind = np.repeat(np.array([0, 1], dtype=np.int8), block.rows)  # 0: fingerprint, 1: fingerprint x site
    value = np.concatenate([fingerprint, fingerprint ^ site_hash])
    return split((value % np.uint64(partitions)).astype(np.int64), partitions, kind, value, np.tile(docs, 2),
                  np.tile(site >= 0, 2), np.tile(site_hash, 2))


def _reduce_copies(index: int, pieces: list[tuple]):
    kind, value, doc, has_site, site_hash = concat(pieces)  # documents in input order within each kind
    corpus, per_site = kind == 0, kind == 1
    first = doc[corpus][first_of_copies(value[corpus])]
    site_first = first_of_copies(value[per_site]) & has_site[per_site]
    return ("firsts", first, doc[per_site][site_first], site_hash[per_site][site_first]), None


# -- 2. sites ---------------------------------------------------------------------------------
def _route_sites(item, partitions: int) -> list[tuple]:
    if isinstance(item, _Block):  # the block asks for its sites' counts
        site, site_hash = site_ids(item.read(SITE)[SITE])
        asked = np.unique(site_hash[site >= 0])
        return [(*_empty(np.uint64), *piece) for piece in
                split((asked % np.uint64(partitions)).astype(np.int64), partitions, asked, np.full(asked.size, item.index))]
    _, _, _, counted = item
    return [(piece[0], *_empty(np.uint64, np.int64)) for piece in split((counted % np.uint64(partitions)).astype(np.int64), partitions, counted)]


def _reduce_sites(index: int, pieces: list[tuple]):
    counted, asked, block = concat(pieces)
    site, count = np.unique(counted, return_counts=True)
    at = np.minimum(np.searchsorted(site, asked), max(site.size - 1, 0))
    found = site[at] == asked if site.size else np.zeros(asked.size, bool)
    return ("sites", block, asked, np.where(found, count[at] if site.size else 0, 0)), None


# -- 3. lines ---------------------------------------------------------------------------------
def _route_to_blocks(item: tuple, starts: np.ndarray) -> list[tuple]:
    blocks = len(starts)
    if item[0] == "sites":
        _, block, site, count = item
        return [(*_empty(np.int64, np.int64), s, c) for s, c in split(block, blocks, site, count)]
    _, first, site_first, _ = item
    of_first = split(block_of(first, starts), blocks, first)
    of_site_first = split(block_of(site_first, starts), blocks, site_first)
    return [(a[0], b[0], *_empty(np.uint64, np.int64)) for a, b in zip(of_first, of_site_first)]


def _block_lines(index: int, pieces: list[tuple], blocks: list[_Block], p: LineFrequencyParams):
    block = blocks[index]
    first, site_first, site, count = concat(pieces)
    records, doc, site_id, site_hash = _block_keys(block)
    canonical = np.zeros(block.rows, dtype=bool)
    canonical[first - block.start] = True
    site_canonical = np.zeros(block.rows, dtype=bool)
    site_canonical[site_first - block.start] = True
    order = np.argsort(site)
    at = np.minimum(np.searchsorted(site[order], site_hash), max(site.size - 1, 0))
    site_docs = np.where(site_id >= 0, count[order][at] if site.size else 0, 0)  # documents of each one's site
    hashes = records["hash"]
    first_in_doc = records["first"].view(bool)
    line_id = (np.int64(index) << LINE_BITS) | np.arange(len(records), dtype=np.int64)
    return (site_hash[doc] ^ hashes, first_in_doc & site_canonical[doc], site_docs[doc], records["key_chars"] >= p.long_line_chars,
            hashes, first_in_doc & canonical[doc], doc.astype(np.int64) + block.start, line_id), None


# -- 4. rules ---------------------------------------------------------------------------------
def _route_site_groups(lines: tuple, partitions: int) -> list[tuple]:
    group_key, counted, site_docs, long_line, *_, line_id = lines
    return split((group_key % np.uint64(partitions)).astype(np.int64), partitions, group_key, counted, site_docs, long_line, line_id)


def _reduce_site_rule(index: int, pieces: list[tuple], p: LineFrequencyParams):
    group_key, counted, site_docs, long_line, line_id = concat(pieces)
    chrome = site_rule(group_key, counted, site_docs, long_line, p)
    return ("chrome", line_id[chrome]), None


def _route_key_groups(lines: tuple, partitions: int) -> list[tuple]:
    _, _, _, long_line, hashes, counted, doc, line_id = lines
    return split((hashes % np.uint64(partitions)).astype(np.int64), partitions, hashes, counted, long_line, doc, line_id)


def _reduce_corpus_rule(index: int, pieces: list[tuple], p: LineFrequencyParams):
    hashes, counted, long_line, doc, line_id = concat(pieces)
    chrome, keep = corpus_rule(hashes, counted, long_line, doc, p)
    return ("corpus", line_id[chrome], line_id[keep]), None


# -- 5. edits ---------------------------------------------------------------------------------
def _route_chrome(item: tuple, blocks: int) -> list[tuple]:
    if item[0] == "chrome":
        return [(ids, *_empty(np.int64, np.int64)) for (ids,) in split(item[1] >> LINE_BITS, blocks, item[1])]
    chrome = split(item[1] >> LINE_BITS, blocks, item[1])
    keep = split(item[2] >> LINE_BITS, blocks, item[2])
    return [(np.empty(0, np.int64), c[0], k[0]) for c, k in zip(chrome, keep)]


def _block_edits(index: int, pieces: list[tuple], blocks: list[_Block], p: LineFrequencyParams):
    block = blocks[index]
    by_site, by_key, keep = concat(pieces)
    table = block.read(LINES, CHARS)
    records, doc = _records(table[LINES])
    mask = np.int64((1 << LINE_BITS) - 1)
    chrome = np.zeros(len(records), dtype=bool)
    chrome[by_site & mask] = True
    chrome[by_key & mask] = True
    chrome[keep & mask] = False
    counters: Counter = Counter()
    edits = document_edits(records, doc, table[CHARS].to_numpy().astype(np.int64), chrome, p, counters)
    rows, lines = edits
    return (rows + block.start, lines), counters
