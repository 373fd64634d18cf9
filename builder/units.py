"""One resume unit through one segment of stages: its input in, its tables and marker out.

Two ways run a unit, with one piece of code for what it writes (`UnitRun`):
- the runner streams the pending units through its engine batch by batch (the local engine:
  a unit's batches spread over the worker processes) and writes each unit's tables itself;
- `UnitTask` runs a whole unit where it is called (a Ray actor, the stages built once per
  actor): it reads the unit's files with the project's readers (or, for a later segment, the
  previous segment's rows of the unit and its slice of the global decision), runs the stages
  and writes the unit's tables and marker into the unit store; only the marker comes back.
The unit store must be on storage the caller and the runner both see (on a cluster: every node).
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builder.checkpoint import TableLog, UnitStore, read_decisions, sha256_json
from builder.config import InputConfig, StageConfig
from builder.io.readers import DocumentReader, InputError, InputFile, SourceBatch
from builder.io.writers import WORK_FILE_OPTIONS, ShardWriter
from builder.pipeline import REJECTED_COLUMNS, REMOVED_LINE_COLUMNS, ProcessedBatch, SegmentTask, StageStats
from builder.stages import Decisions, Drop, Edit
from builder.tally import Tally

REJECTED_SCHEMA = pa.schema([(name, pa.string()) for name in REJECTED_COLUMNS])
REMOVED_LINES_SCHEMA = pa.schema([(name, pa.string()) for name in REMOVED_LINE_COLUMNS])


class UnitRun:
    """A unit being run: where its tables go, what it counted, whether all its batches went in."""

    def __init__(self, index: int, files: list[InputFile], folder: Path, schema: pa.Schema, last: bool, row_group_bytes: int):
        self.index = index
        self.files = files
        self.folder = folder
        self.schema = schema
        self.last = last
        self.input_sha = ""
        self.tally = Tally()
        self.rows: TableLog | ShardWriter = TableLog(folder / "rows.arrow") if last else ShardWriter(
            folder / "rows", "rows", schema, 1 << 62, row_group_bytes, WORK_FILE_OPTIONS)
        self.rejected = TableLog(folder / "rejected.arrow")
        self.removed = TableLog(folder / "removed_lines.arrow")
        self.before: list[pa.Table] = []  # rejected since the last batch went in
        self.documents_in = 0
        self.fed = False

    def take_before(self) -> list[pa.Table]:
        taken, self.before = self.before, []
        return taken

    # -- what comes in ---------------------------------------------------------------
    def count_input(self, batch: SourceBatch) -> None:
        self.tally.funnel.input_documents += len(batch.columns["text"]) + len(batch.quarantined)
        self.tally.funnel.input_characters += batch.input_chars
        if batch.quarantined:
            result = ProcessedBatch({})
            for q in batch.quarantined:
                result.reject(q.id, q.reason, q.error, q.source, "quarantined", q.text)
                self.tally.funnel.input_characters += len(q.text or "")
            self.reject_before(result.rejected)

    def reject_before(self, rejected: dict[str, list]) -> None:
        """Rows the unit rejects before its next batch reaches the stages: written just ahead of that batch's results."""
        if rejected["id"]:
            self.tally.funnel.add_rejected(rejected)
            self.before.append(pa.table(rejected, schema=REJECTED_SCHEMA))

    def read(self, config: InputConfig, batch_size: int) -> Iterator[dict[str, list]]:
        """Segment 0 without --limit or --sample: the unit's documents, read from its files."""
        reader = DocumentReader(config, self.files, batch_size)
        for batch in reader.batches():
            self.count_input(batch)
            if batch.columns["text"]:
                yield batch.columns
        self.tally.sources = reader.sources
        self.tally.empty_files = list(reader.empty_files)

    def filter(self, paths: list[Path], carried: list[str], decisions: Decisions, stage_type: str, batch_size: int) -> Iterator[dict[str, list]]:
        """Stream the unit's rows of the segment before onward: drop, edit or pass each as decided (`decisions`:
        the unit's slice, rows numbered from its first); key columns stay behind."""
        stats = self.tally.stage_stats.setdefault(stage_type, StageStats())
        changed = decisions.rows()
        offset = 0
        for path in paths:
            for record_batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=carried):
                columns = record_batch.to_pydict()
                start, offset = offset, offset + record_batch.num_rows
                first, last = np.searchsorted(changed, [start, offset]).tolist()
                if first == last:
                    yield columns
                    continue
                batch_decisions = dict(decisions.slice(start, offset).changes())  # the batch's changed rows only
                result = ProcessedBatch({})
                keep = []
                for row in range(record_batch.num_rows):
                    decision = batch_decisions.get(row)
                    if isinstance(decision, Edit):
                        before = columns["text"][row]
                        after = remove_lines(before, decision.lines, stage_type, columns["id"][row])
                        if after.strip():
                            columns["text"][row] = after
                            stats.characters_out -= len(before) - len(after)
                            self.tally.counters[f"{stage_type}.documents_edited"] += 1
                            self.tally.counters[f"{stage_type}.lines_removed"] += len(set(decision.lines))
                            self.tally.counters[f"{stage_type}.characters_removed"] += len(before) - len(after)
                        else:  # nothing left to keep: the document is dropped, with its whole text recorded
                            decision = Drop(f"{stage_type}.all_lines_removed", decision.detail)
                            stats.documents_out -= 1
                    if decision is None or isinstance(decision, Edit):
                        keep.append(row)
                    else:
                        text = columns["text"][row]
                        stats.characters_out -= len(text)
                        result.reject(columns["id"][row], decision.reason, decision.detail, columns["_source"][row], "dropped", text)
                self.reject_before(result.rejected)
                yield {name: [values[row] for row in keep] for name, values in columns.items()}

    # -- what goes out ---------------------------------------------------------------
    def add(self, result: ProcessedBatch, segment: list[StageConfig], before: list[pa.Table]) -> tuple[int, int]:
        """A batch's results, after `before` (the rows rejected before the batch went in): (documents in, rows kept)."""
        for table in before:
            self.rejected.append(table)
        self.tally.counters.update(result.counters)
        for name, stats in result.stage_stats.items():
            self.tally.stage_stats.setdefault(name, StageStats()).add(stats)
        if result.rejected["id"]:
            self.tally.funnel.add_rejected(result.rejected)
            self.rejected.append(pa.table(result.rejected, schema=REJECTED_SCHEMA))
        if result.removed_lines["id"]:
            self.removed.append(pa.table(result.removed_lines, schema=REMOVED_LINES_SCHEMA))
        rows = len(result.columns["text"])
        documents_in = result.stage_stats[segment[0].type].documents_in if segment else rows
        self.documents_in += documents_in
        if self.last:
            self.tally.funnel.kept_documents += rows
            self.tally.funnel.kept_characters += sum(map(len, result.columns["text"]))
        table = to_table(result.columns, self.schema)
        self.rows.append(table) if self.last else self.rows.write(table)  # type: ignore[union-attr]
        return documents_in, rows

    def finish(self, segment_index: int, store: UnitStore, config_sha: str) -> dict:
        """Close the unit's tables and record it: its marker, written last."""
        for table in self.take_before():
            self.rejected.append(table)
        if self.last:
            entry = self.rows.close()
            rows = [entry] if entry else []
            rows_sha = None
        else:
            rows = [{"path": s.path.relative_to(self.folder).as_posix(), "rows": s.rows, "sha256": s.sha256} for s in self.rows.close()]
            rows_sha = sha256_json([r["sha256"] for r in rows])
        marker = {
            "segment": segment_index, "unit": self.index, "input_files": [f.name for f in self.files],
            "rows": rows, "rows_count": sum(r["rows"] for r in rows), "rows_sha256": rows_sha, "documents_in": self.documents_in,
            "rejected": self.rejected.close(), "removed_lines": self.removed.close(), "tally": self.tally.as_dict(),
        }
        return store.record(self.folder, config_sha, self.input_sha, marker)


@dataclass
class UnitSpec:
    """One unit for `UnitTask`: its files and input hash; for a later segment, the previous segment's rows
    of the unit and where its decisions are in the global stage's decision file."""
    index: int
    key: str
    files: list[InputFile]
    input_sha: str
    rows: list[str] | None = None  # paths of the previous segment's row files
    decisions: tuple[int, int] | None = None  # [start, stop) in the decision file


@dataclass
class UnitTask:
    """Picklable factory of a whole-unit runner: the segment's stages are built once per worker."""
    segment_index: int
    segment: list[StageConfig]
    schema: pa.Schema
    last: bool
    input_config: InputConfig
    batch_size: int
    row_group_bytes: int
    store: UnitStore
    config_sha: str
    previous_stage: str | None = None  # the global stage whose decisions a later segment applies
    previous_keys: tuple[str, ...] = ()
    decision_file: Path | None = None

    def __call__(self):
        stages = SegmentTask(self.segment)() if self.segment else ProcessedBatch

        def run(spec: UnitSpec) -> dict:
            unit = UnitRun(spec.index, spec.files, self.store.start(self.store.unit_dir(self.segment_index, spec.key)),
                           self.schema, self.last, self.row_group_bytes)
            unit.input_sha = spec.input_sha
            for columns in self._source(unit, spec):
                before = unit.take_before()  # what reading or the decision rejected ahead of this batch
                unit.add(stages(columns), self.segment, before)
            return unit.finish(self.segment_index, self.store, self.config_sha)

        return run

    def _source(self, unit: UnitRun, spec: UnitSpec) -> Iterator[dict[str, list]]:
        if spec.rows is None:
            for file in spec.files:
                if not file.path.exists():
                    raise InputError(f"input file {file.name} ({file.path}) cannot be read on {socket.gethostname()}, where its unit runs: "
                                     f"on a cluster of several machines the input must be on storage every node mounts at the same path")
            return unit.read(self.input_config, self.batch_size)
        paths = [_visible(Path(p)) for p in spec.rows]
        carried = [name for name in pq.ParquetFile(paths[0]).schema_arrow.names if name not in self.previous_keys] if paths else []
        start, stop = spec.decisions or (0, 0)
        decisions = read_decisions(_visible(self.decision_file), start, stop) if stop > start else Decisions(0)
        return unit.filter(paths, carried, decisions, self.previous_stage or "", self.batch_size)


def _visible(path: Path) -> Path:
    """`path` (written by the runner), or a clear error when this machine cannot see it."""
    if not path.exists():
        raise FileNotFoundError(f"{path} (a unit's input, written by the build) cannot be read on {socket.gethostname()}: on a "
                                "cluster of several machines publish.root must be on storage every node mounts at the same path")
    return path


def remove_lines(text: str, remove, stage_type: str, doc_id: str) -> str:
    """`text` without the lines (0-based, split on "\\n") that an Edit names."""
    lines = text.split("\n")
    drop = set(int(i) for i in remove)
    if drop and (min(drop) < 0 or max(drop) >= len(lines)):
        raise RuntimeError(f"stage {stage_type!r} asked to remove line {max(drop)} of {doc_id!r}, which has {len(lines)} lines")
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def to_table(columns: dict[str, list], schema: pa.Schema) -> pa.Table:
    return pa.table({name: pa.array(columns[name], type=schema.field(name).type) for name in schema.names}, schema=schema)
