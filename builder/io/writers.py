"""Parquet shard writing: fixed schema, bounded shards and row groups, deterministic bytes."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, write_statistics=True, use_dictionary=False)
# A build's own work files (a segment's rows, read back once by the next segment and deleted):
# compressing 20 MB of text with zstd takes seconds, writing it plain a tenth of that.
WORK_FILE_OPTIONS = dict(compression="none", write_statistics=False, use_dictionary=False)


@dataclass
class ShardInfo:
    path: Path
    rows: int
    bytes: int
    sha256: str


def sha256_files(paths: list[Path]) -> str:
    """sha256 of the bytes of the files one after another (one file: its usual sha256)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_files([path])


class ShardWriter:
    """Writes tables to `<folder>/<prefix>-00000-of-0000N.parquet`.

    A new shard starts when the current one holds `max_shard_bytes` of in-memory Arrow data;
    rows are buffered into row groups of about `row_group_bytes`. Boundaries depend only on
    the data, so the same rows give the same files whatever produced them.
    """

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema, max_shard_bytes: int, row_group_bytes: int,
                 options: dict = PARQUET_OPTIONS):
        self.folder = folder
        self.options = options
        self.prefix = prefix
        self.schema = schema
        self.max_shard_bytes = max_shard_bytes
        self.row_group_bytes = row_group_bytes
        self._writer: pq.ParquetWriter | None = None
        self._shard_bytes = 0
        self._buffer: list[pa.Table] = []
        self._buffer_bytes = 0
        self._paths: list[Path] = []
        self._rows: list[int] = []
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.select(self.schema.names).cast(self.schema)
        self._buffer.append(table)
        self._buffer_bytes += table.nbytes
        if self._buffer_bytes >= self.row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer)
        self._buffer, self._buffer_bytes = [], 0
        if self._writer is None:
            path = self.folder / f"{self.prefix}-{len(self._paths):05d}.parquet.partial"
            self._writer = pq.ParquetWriter(path, self.schema, **self.options)
            self._paths.append(path)
            self._rows.append(0)
            self._shard_bytes = 0
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._rows[-1] += table.num_rows
        self._shard_bytes += table.nbytes
        if self._shard_bytes >= self.max_shard_bytes:
            self._writer.close()
            self._writer = None

    def close(self) -> list[ShardInfo]:
        """Finish the last shard and give every shard its final `-of-N` name."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not self._paths:  # an empty result is still a valid, loadable shard: no row groups at all
            path = self.folder / f"{self.prefix}-00000.parquet.partial"
            pq.ParquetWriter(path, self.schema, **self.options).close()
            self._paths, self._rows = [path], [0]
        total = len(self._paths)
        shards = []
        for index, (partial, rows) in enumerate(zip(self._paths, self._rows)):
            final = self.folder / f"{self.prefix}-{index:05d}-of-{total:05d}.parquet"
            os.replace(partial, final)
            shards.append(ShardInfo(final, rows, final.stat().st_size, sha256_file(final)))
        return shards
