"""What a global stage's decide on a cluster is made of: blocks of the key files, and the pieces
a shuffle splits arrays into and joins back (`builder.stages.base.Cluster`)."""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow.parquet as pq


def row_groups(paths: Sequence[Any], start: int = 0) -> Iterator[tuple[str, int, int, int]]:
    """(path, row group, first row, rows) of each row group of the Parquet files, rows numbered from `start`:
    the blocks a decide on a cluster splits its key files into (read from the files' footers only)."""
    for path in paths:
        metadata = pq.ParquetFile(path).metadata
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            yield str(path), group, start, rows
            start += rows


def split(partition: np.ndarray, partitions: int, *arrays: np.ndarray) -> list[tuple]:
    """The arrays' rows by partition (`partition[i]` in 0..partitions-1), each partition's rows in their order here."""
    order = np.argsort(partition, kind="stable")
    bounds = np.searchsorted(partition[order], np.arange(partitions + 1))
    ordered = [a[order] for a in arrays]
    return [tuple(a[lo:hi] for a in ordered) for lo, hi in zip(bounds[:-1], bounds[1:])]


def concat(pieces: list[tuple]) -> list[np.ndarray]:
    """A reducer's pieces (one tuple of arrays from each input, in input order) joined column by column."""
    return [np.concatenate(column) for column in zip(*pieces)]


def block_of(rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The block holding each row, given each block's first row (increasing)."""
    return np.searchsorted(starts, rows, side="right") - 1


def read_row_group(path: str, group: int, columns: list[str]):
    """One block of a key file, read where the task runs: a clear error when that machine cannot see it."""
    try:
        return pq.ParquetFile(path).read_row_group(group, columns=columns)
    except FileNotFoundError:
        import socket

        raise FileNotFoundError(f"{path} (a global stage's keys, written by the driver) cannot be read on {socket.gethostname()}: "
                                "on a cluster of several machines publish.root must be on storage every node mounts at the "
                                "same path") from None
