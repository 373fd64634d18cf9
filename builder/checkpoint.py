"""Resume: the build's work split into units, each recorded when finished, so a re-run skips it.

A unit is a group of consecutive input files (one file, or small files together up to
`executor.unit_mb`) through one segment of stages; a global stage's decision is a unit of its
own. A finished unit is recorded by a marker written last and atomically (tmp + os.replace,
after its files are synced), holding the sha256 of the config as it affects the unit (the
input settings and the stages up to the end of its segment), the sha256 of its input (the
files' bytes and names, or the previous segment's rows of the same files plus their slice of
the global decision), the files it wrote and its counts. A re-run takes a unit whose marker
matches and whose files are all there; anything else is done again. Completion markers and
per-source checkpoints are what datatrove and NeMo Curator do; this is our own small version.

The store knows files and hashes only: what a unit computes is the runner's business.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builder.stages.base import DECISIONS_SCHEMA, Decisions, decision_rows


FORMAT = 1  # of the markers: a marker of another format is not trusted
_TABLE_LOG_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


def sha256_json(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def tool_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("zh-corpus-builder")
    except metadata.PackageNotFoundError:
        return "unknown"


def group_units(files: Sequence, unit_bytes: int) -> list[list]:
    """Consecutive files, a new unit whenever the next file would take one past `unit_bytes` (0: a unit per file)."""
    units: list[list] = []
    size = 0
    for file in files:
        if not units or size + file.size > unit_bytes:
            units.append([])
            size = 0
        units[-1].append(file)
        size += file.size
    return units


def unit_key(names: Sequence[str]) -> str:
    """A unit's folder name, from the names of its files: the same files keep their folder when others come and go."""
    return "unit-" + hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:16]


def segment_config_sha(resolved: dict, stage_count: int, limit: int | None, sample: tuple | None) -> str:
    """The config as it affects a unit of a segment: how input is read and the stages up to the segment's end.

    Not the paths (a unit's own files are its input), not the worker count (the output is the
    same for any), not publishing (shards are assembled afresh from the units every run).
    """
    read = {k: v for k, v in resolved["input"].items() if k not in ("paths", "max_quarantined_share")}
    return sha256_json({"format": FORMAT, "tool": tool_version(), "input": read, "batch_size": resolved["executor"]["batch_size"],
                        "limit": limit, "sample": sample, "stages": resolved["stages"][:stage_count]})


def decisions_sha(decisions: Decisions) -> str:
    """sha256 of a run of a global stage's decisions (`Decisions`: the rows it changes, and how many rows in all)."""
    digest = hashlib.sha256(f"{decisions.num_rows}\n".encode("utf-8"))
    for row in decision_rows(decisions.table):
        _add_row(digest, row)
    return digest.hexdigest()


def unit_decisions_shas(path: Path, offsets: Sequence[int]) -> list[str]:
    """`decisions_sha` of each unit's slice [offsets[u], offsets[u + 1]) of a decision file, in one pass
    over its row groups (a unit reading its own slice gets the same hash)."""
    digests = [hashlib.sha256(f"{stop - start}\n".encode("utf-8")) for start, stop in zip(offsets, offsets[1:])]
    bounds = np.asarray(offsets, dtype=np.int64)
    source = pq.ParquetFile(path)
    for group in range(source.num_row_groups):
        table = source.read_row_group(group)
        units = np.searchsorted(bounds, table.column(0).to_numpy(), side="right") - 1
        for u, (row, *rest) in zip(units.tolist(), decision_rows(table)):
            _add_row(digests[u], (row - offsets[u], *rest))
    return [digest.hexdigest() for digest in digests]


def _add_row(digest, row: tuple) -> None:
    """One changed row into a decisions hash (its row numbered within the hashed slice)."""
    digest.update(repr(row).encode("utf-8"))
    digest.update(b"\n")


DECISIONS_FORMAT = 2  # of decisions.parquet: 2 = the changed rows only, with a row column (1: a row per decided row)
DECISION_ROWS = 1 << 16  # changed rows a row group of the decision file holds: a unit reads the groups of its slice
_ROWS_KEY = b"decided_rows"


def write_decisions(path: Path, decisions: Decisions) -> None:
    """The changed rows (columns: row, kind, reason, detail, lines), a row group at a time; the number
    of decided rows in the schema's metadata."""
    schema = DECISIONS_SCHEMA.with_metadata({_ROWS_KEY: str(decisions.num_rows).encode()})
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        if not decisions.changed:
            writer.write_table(schema.empty_table())
        for start in range(0, decisions.changed, DECISION_ROWS):
            writer.write_table(decisions.table.slice(start, DECISION_ROWS).replace_schema_metadata(schema.metadata),
                               row_group_size=DECISION_ROWS)


def read_decisions(path: Path, start: int = 0, stop: int | None = None) -> Decisions:
    """The decisions of rows [start, stop) (all by default), numbered from `start`; reads only the
    row groups whose rows (by the row column's statistics) reach into the range."""
    source = pq.ParquetFile(path)
    total = int(source.schema_arrow.metadata[_ROWS_KEY])
    stop = total if stop is None else stop
    groups = []
    for group in range(source.num_row_groups):
        meta = source.metadata.row_group(group)
        stats = meta.column(0).statistics
        if meta.num_rows and (stats is None or not stats.has_min_max or (stats.min < stop and stats.max >= start)):
            groups.append(group)
    table = source.read_row_groups(groups).replace_schema_metadata(None) if groups else DECISIONS_SCHEMA.empty_table()
    return Decisions(total, table).slice(start, stop)


class TableLog:
    """Tables appended in order and read back as the very same tables (Arrow IPC, one record batch each).

    What the run writes to its shards (kept rows, rejected rows, removed lines) goes through these,
    so the shard writer sees the same sequence of tables whether the unit ran now or in an earlier
    run, and writes the same bytes.
    """

    def __init__(self, path: Path):
        self.path = path
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self.rows = 0

    def append(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            self._writer = pa.ipc.new_file(str(self.path), table.schema, options=_TABLE_LOG_OPTIONS)
        self._writer.write_batch(table.combine_chunks().to_batches()[0])
        self.rows += table.num_rows

    def close(self) -> dict | None:
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        return {"path": self.path.name, "rows": self.rows, "bytes": self.path.stat().st_size}

    @staticmethod
    def replay(path: Path) -> Iterator[pa.Table]:
        with pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield pa.Table.from_batches([reader.get_batch(i)])


class UnitStore:
    """Markers and folders of finished units under the staging area's `work/` folder."""

    def __init__(self, work_dir: Path, enabled: bool = True):
        self.work_dir = work_dir
        self.enabled = enabled  # a `--sample` run records nothing worth keeping

    def unit_dir(self, segment: int, key: str) -> Path:
        return self.work_dir / f"segment-{segment}" / key

    def decision_dir(self, segment: int) -> Path:
        return self.work_dir / f"decide-{segment}"

    def _marker(self, folder: Path) -> Path:
        return folder.with_name(folder.name + ".json")

    def load(self, folder: Path, config_sha: str, input_sha: str | None) -> dict | None:
        """The marker of a finished unit done with this config on this input, its files all there; else None."""
        if not self.enabled or input_sha is None:
            return None
        try:
            marker = json.loads(self._marker(folder).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if marker.get("format") != FORMAT or marker.get("config_sha256") != config_sha or marker.get("input_sha256") != input_sha:
            return None
        for entry in marker.get("files", []):
            path = folder / entry["path"]
            if not path.is_file() or path.stat().st_size != entry["bytes"]:
                return None
        return marker

    def start(self, folder: Path) -> Path:
        """An empty folder for a unit about to run: what a run killed half way through it left is removed."""
        self._marker(folder).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def record(self, folder: Path, config_sha: str, input_sha: str, marker: dict) -> dict:
        """Sync the unit's files, then write its marker atomically: a marker never names a file not on disk."""
        files = [{"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size} for p in sorted(folder.rglob("*")) if p.is_file()]
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                _fsync(path)
        marker = {"format": FORMAT, "config_sha256": config_sha, "input_sha256": input_sha, **marker, "files": files}
        target = self._marker(folder)
        temporary = target.with_name(target.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(marker, handle, ensure_ascii=False, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        _fsync_dir(target.parent)
        return marker

    def clear(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True)


def link_tree(source: Path, target: Path) -> None:
    """`target` as a copy of `source` made of hard links (a plain copy where links are not possible)."""
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
