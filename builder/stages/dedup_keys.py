"""The keys `dedup` publishes with a version and reads back from earlier ones.

A version's `dedup/signatures.parquet` holds the kept documents' id, exact hash, length and
(with near dedup) MinHash signature; `dedup/dedup.json` says how they were made. A later
version's decide reads them first (`PublishedKeys`): its copies of published documents are
dropped, never the published ones. Both decides (in one process, on a cluster) write the
artifacts through `_write_artifacts`, which reads the run's keys again part by part.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builder.stages.base import Keys
from builder.text.minhash import SCHEME, VALUE_DTYPE

if TYPE_CHECKING:
    from builder.stages.dedup import DedupParams

# Bumped whenever comparison_keys or the exact hash changes: exact hashes of earlier versions must match it.
KEY_SCHEME = "width-fold-no-whitespace-utf32-v1"
SIGNATURES_FILE = "signatures.parquet"
ARTIFACT_ROWS_PER_GROUP = 100_000  # 51 MB of 512-slot signatures per slice written
SUMMARY_FILE = "dedup.json"
EXACT, LENGTH, MINHASH = "_dedup_exact", "_dedup_length", "_dedup_minhash"


def _write_artifacts(directory: Path, keys: Keys, near: bool, dropped: np.ndarray, summary: dict) -> None:
    """Keys (id, exact, length, minhash) of the kept documents, for later versions, read again part by part.

    Written in slices of ARTIFACT_ROWS_PER_GROUP kept rows, each one contiguous table built in
    preallocated arrays, so the bytes depend only on the kept rows (not on how the keys were
    split into parts) and the memory is one part read plus one slice.
    """
    directory.mkdir(parents=True, exist_ok=True)
    names = {"id": "id", EXACT: "exact", LENGTH: "length", **({MINHASH: "minhash"} if near else {})}
    schema = pa.schema([pa.field(name, keys.schema.field(column).type) for column, name in names.items()])
    fixed = [column for column in (EXACT, MINHASH) if column in names]
    width = {column: keys.schema.field(column).type.byte_width for column in fixed}
    size = ARTIFACT_ROWS_PER_GROUP
    buffers = {column: np.empty((size, width[column]), dtype=np.uint8) for column in fixed}
    length = np.empty(size, dtype=np.int32)
    ids: list[pa.Array] = []
    held = 0

    def slice_table() -> pa.Table:
        columns = {"id": pa.concat_arrays(ids) if ids else pa.array([], schema.field("id").type), "length": pa.array(length[:held])}
        for column in fixed:
            data = pa.py_buffer(np.ascontiguousarray(buffers[column][:held]))
            columns[names[column]] = pa.FixedSizeBinaryArray.from_buffers(schema.field(names[column]).type, held, [None, data])
        return pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)

    with pq.ParquetWriter(directory / SIGNATURES_FILE, schema) as writer:
        written = start = 0
        for part in keys.parts(list(names)):
            end = start + part.num_rows
            lo, hi = np.searchsorted(dropped, [start, end])
            keep = np.ones(part.num_rows, dtype=bool)
            keep[dropped[lo:hi] - start] = False
            kept = np.flatnonzero(keep)
            start = end
            views = {column: _fixed_binary_rows(part[column], width[column]) for column in fixed}
            part_length = part[LENGTH].to_numpy()
            taken = 0
            while taken < kept.size:
                now = kept[taken : taken + size - held]
                taken += now.size
                for column in fixed:
                    buffers[column][held : held + now.size] = views[column][now]
                length[held : held + now.size] = part_length[now]
                ids.append(part["id"].take(pa.array(now)).combine_chunks())
                held += now.size
                if held == size:
                    writer.write_table(slice_table())
                    written, held, ids = written + held, 0, []
        if held or not written:
            writer.write_table(slice_table())
    (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _fixed_binary_rows(column: pa.ChunkedArray, width: int) -> np.ndarray:
    """A fixed-size binary column as a (rows, width) uint8 array, without copying when it is one chunk."""
    chunk = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if chunk.null_count:
        raise ValueError(f"dedup key column has {chunk.null_count} nulls")
    data = np.frombuffer(chunk.buffers()[1], dtype=np.uint8, count=len(chunk) * width, offset=chunk.offset * width)
    return data.reshape(len(chunk), width)


def _fill_fixed_binary(out: np.ndarray, column: pa.ChunkedArray) -> None:
    """Copy a fixed-size binary column into the rows of `out`, chunk by chunk, no Python objects."""
    width = out.dtype.itemsize * (out.shape[1] if out.ndim > 1 else 1)
    start = 0
    for chunk in column.chunks:
        if not pa.types.is_fixed_size_binary(chunk.type):
            chunk = chunk.cast(pa.binary(width))
        if chunk.null_count:
            raise ValueError(f"dedup key column has {chunk.null_count} nulls")
        data = np.frombuffer(chunk.buffers()[1], dtype=np.uint8, count=len(chunk) * width, offset=chunk.offset * width)
        out[start : start + len(chunk)] = data.view(out.dtype).reshape((len(chunk), *out.shape[1:]))
        start += len(chunk)


@dataclass
class _PublishedArrays:
    exact: np.ndarray
    length: np.ndarray
    signatures: np.ndarray | None
    has_signature: np.ndarray


@dataclass
class PublishedKeys:
    """Where the kept documents' keys of earlier published versions are, oldest first (their rows come first)."""

    versions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # versions published without dedup keys
    files: list[Path] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    has_minhash: list[bool] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(self.rows)

    @classmethod
    def find(cls, version_dirs: list, params: DedupParams) -> "PublishedKeys":
        found = cls()
        for version_dir in map(Path, version_dirs):
            keys_file = version_dir / "dedup" / SIGNATURES_FILE
            if not keys_file.exists():
                found.missing.append(version_dir.name)
                continue
            summary = json.loads((version_dir / "dedup" / SUMMARY_FILE).read_text())
            _check_compatible(version_dir.name, summary, params)
            found.versions.append(version_dir.name)
            found.files.append(keys_file)
            found.rows.append(pq.ParquetFile(keys_file).metadata.num_rows)
            found.has_minhash.append("minhash" in pq.read_schema(keys_file).names)
        return found

    def load(self, num_perm: int, near: bool) -> _PublishedArrays:
        """Every published key in memory (the decide in one process)."""
        exact = np.empty((self.size, 2), dtype=np.uint64)
        length = np.empty(self.size, dtype=np.int32)
        signatures = np.zeros((self.size if near else 0, num_perm), dtype=VALUE_DTYPE)
        has_signature = np.repeat(np.array(self.has_minhash, dtype=bool), self.rows)
        start = 0
        for keys_file, rows, has_minhash in zip(self.files, self.rows, self.has_minhash):
            table = pq.read_table(keys_file, columns=["exact", "length", *(["minhash"] if has_minhash and near else [])])
            _fill_fixed_binary(exact[start : start + rows], table["exact"])
            length[start : start + rows] = table["length"].to_numpy()
            if has_minhash and near:
                _fill_fixed_binary(signatures[start : start + rows], table["minhash"])
            start += rows
        return _PublishedArrays(exact, length, signatures, has_signature)

    def parts(self, names: list[str]):
        """The published keys' columns `names`, a table per row group, in row order."""
        for keys_file in self.files:
            file = pq.ParquetFile(keys_file)
            for group in range(file.num_row_groups):
                yield file.read_row_group(group, columns=names)

    def describe(self, kept_rows: np.ndarray, keys: Keys) -> list[str]:
        """The kept document of each row: its id, or `<version>:<id>` when it is published."""
        published = kept_rows < self.size
        details = _ids_at(keys.parts(["id"]), np.where(published, 0, kept_rows - self.size))
        if published.any():
            which = np.flatnonzero(published)
            ids = _ids_at(self.parts(["id"]), kept_rows[which])
            version = np.searchsorted(np.cumsum(self.rows), kept_rows[which], side="right")
            for i, v, id_ in zip(which.tolist(), version.tolist(), ids):
                details[i] = f"{self.versions[v]}:{id_}"
        return details


def _ids_at(tables, positions: np.ndarray) -> list[str]:
    """The `id` at each of `positions` (any order) of the concatenated tables, read table by table."""
    order = np.argsort(positions, kind="stable")
    wanted = positions[order]
    out: list = [None] * positions.size
    start = done = 0
    for table in tables:
        if done == wanted.size:
            break
        end = start + table.num_rows
        upto = int(np.searchsorted(wanted, end))
        if upto > done:
            taken = table["id"].take(pa.array(wanted[done:upto] - start)).to_pylist()
            for k, id_ in zip(order[done:upto].tolist(), taken):
                out[k] = id_
            done = upto
        start = end
    return out


def _check_compatible(version: str, summary: dict, params: DedupParams) -> None:
    """Keys of another version are comparable only if made the same way."""
    theirs = summary["params"]
    mismatched = [
        f"{name}: {theirs.get(name)} there, {getattr(params, name)} here"
        for name in ("ngram", "num_perm")
        if theirs.get("near", True) and theirs.get(name) != getattr(params, name)
    ]
    if summary.get("key_scheme") != KEY_SCHEME:
        mismatched.append(f"key scheme: {summary.get('key_scheme')} there, {KEY_SCHEME} here")
    if theirs.get("near", True) and summary.get("signature_scheme") != SCHEME:
        mismatched.append(f"signature scheme: {summary.get('signature_scheme')} there, {SCHEME} here")
    if mismatched:
        raise ValueError(
            f"dedup keys of published version {version} were made differently ({'; '.join(mismatched)}); "
            "use the same dedup params or set cross_version: false"
        )
