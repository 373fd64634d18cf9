"""A seeded sample of the input, for tuning a config in seconds instead of a release.

Which documents are picked depends only on the seed and each document's source (`file:line`),
never on batch sizes or worker counts: the `n` documents with the smallest keyed hash (a bottom-k
sample, uniform over the input), returned in input order. Quarantined records are sampled like
documents, so a wrong `text_field` shows in a sample as it would in the full run.
"""
from __future__ import annotations

import hashlib
import heapq
from typing import Iterable, Iterator

from builder.io.readers import Quarantined, SourceBatch


def _key(seed: int, source: str) -> int:
    return int.from_bytes(hashlib.blake2b(source.encode("utf-8"), digest_size=8, key=str(seed).encode()).digest(), "big")


def sample_batches(batches: Iterable[SourceBatch], n: int, seed: int, batch_size: int) -> tuple[list[SourceBatch], int]:
    """(the sample as batches in input order, documents seen). Holds at most `n` documents."""
    heap: list[tuple[int, int, object]] = []  # (-key, order, item): a max-heap of the n smallest keys
    order = 0
    names: list[str] = []
    for batch in batches:
        names = list(batch.columns)
        rows = [dict(zip(names, values)) for values in zip(*batch.columns.values())]
        for item in [*rows, *batch.quarantined]:
            source = item.source if isinstance(item, Quarantined) else item["_source"]
            entry = (-_key(seed, source), order, item)
            order += 1
            if len(heap) < n:
                heapq.heappush(heap, entry)
            elif entry[0] > heap[0][0]:
                heapq.heapreplace(heap, entry)
    chosen = [item for _, _, item in sorted(heap, key=lambda e: e[1])]
    return list(_rebatch(chosen, names, batch_size)), order


def _rebatch(items: list, names: list[str], batch_size: int) -> Iterator[SourceBatch]:
    for start in range(0, len(items), batch_size):
        batch = SourceBatch({name: [] for name in names})
        for item in items[start:start + batch_size]:
            if isinstance(item, Quarantined):
                batch.quarantined.append(item)
            else:
                for name in names:
                    batch.columns[name].append(item[name])
                batch.input_chars += len(item["text"])
        yield batch
