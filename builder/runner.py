"""The build: read → stages (in the engine) → Parquet shards → a published version.

The runner owns I/O, parallelism, statistics and errors. The stage list is split into
segments at each global stage (dedup): a segment's rows are written to an intermediate
Parquet file with their keys, the global stage decides from the keys alone, and the
next segment reads the survivors back. Every input document ends kept, dropped with a
reason, or quarantined with its error, and the counts are checked to add up.
"""
from __future__ import annotations

import errno
import logging
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from builder.config import BuilderConfig, StageConfig
from builder.engines import ENGINES
from builder.faults import fault_point
from builder.io.readers import DocumentReader, InputFile, SourceBatch, expand_inputs, fingerprint
from builder.io.writers import ShardInfo, ShardWriter
from builder.pipeline import REJECTED_COLUMNS, ProcessedBatch, SegmentTask, StageStats
from builder.publish import PublishError
from builder.publish.release import Release
from builder.stages import Drop, GlobalContext, GlobalStage

log = logging.getLogger("builder")
MB = 1 << 20


class CountMismatch(RuntimeError):
    """The funnel does not add up to the input: a bug, never silently accepted."""


@dataclass
class Funnel:
    input_documents: int = 0
    input_characters: int = 0
    kept_documents: int = 0
    kept_characters: int = 0
    dropped: dict[str, list[int]] = field(default_factory=dict)  # reason -> [documents, characters]
    quarantined: dict[str, list[int]] = field(default_factory=dict)

    def add_rejected(self, rejected: dict[str, list]) -> None:
        for reason, status, text in zip(rejected["reason"], rejected["status"], rejected["text"]):
            bucket = self.quarantined if status == "quarantined" else self.dropped
            entry = bucket.setdefault(reason, [0, 0])
            entry[0] += 1
            entry[1] += len(text or "")

    def check(self) -> None:
        accounted = self.kept_documents + sum(d for d, _ in self.dropped.values()) + sum(d for d, _ in self.quarantined.values())
        if accounted != self.input_documents:
            raise CountMismatch(f"{self.input_documents} documents read but {accounted} accounted for (kept + dropped + quarantined)")

    def as_dict(self) -> dict:
        def table(bucket):
            return {reason: {"documents": d, "characters": c} for reason, (d, c) in sorted(bucket.items())}

        return {
            "input": {"documents": self.input_documents, "characters": self.input_characters},
            "kept": {"documents": self.kept_documents, "characters": self.kept_characters},
            "dropped": table(self.dropped),
            "quarantined": table(self.quarantined),
        }


@dataclass
class BuildResult:
    version_dir: Path | None
    report: dict
    dry_run: bool = False


def _segments(stages: list[StageConfig]) -> list[list[StageConfig]]:
    """Split after each global stage; the last segment may be empty (filter and write only)."""
    segments: list[list[StageConfig]] = [[]]
    for stage in stages:
        segments[-1].append(stage)
        if issubclass(stage.stage_class, GlobalStage):
            segments.append([])
    return segments


class Build:
    def __init__(self, config: BuilderConfig, limit: int | None = None, progress: bool = False):
        self.config = config
        self.limit = limit
        self.progress = progress
        self.files: list[InputFile] = expand_inputs(config.input)
        self.reader = DocumentReader(config.input, self.files, config.executor.batch_size, limit)
        self.engine = ENGINES[config.executor.type](config.executor.workers)
        self.funnel = Funnel()
        self.counters: Counter = Counter()
        self.stage_stats: dict[str, StageStats] = {}
        self.global_seconds: dict[str, float] = {}

    # -- dry run -------------------------------------------------------------------
    def count_only(self) -> BuildResult:
        quarantined: Counter = Counter()
        for batch in self.reader.batches():
            self.funnel.input_documents += len(batch.columns["text"]) + len(batch.quarantined)
            self.funnel.input_characters += batch.input_chars
            quarantined.update(q.reason for q in batch.quarantined)
        report = {
            "input": {"documents": self.funnel.input_documents, "characters": self.funnel.input_characters, "files": len(self.files)},
            "quarantined": dict(sorted(quarantined.items())),
            "empty_files": self.reader.empty_files,
        }
        return BuildResult(None, report, dry_run=True)

    # -- full build ----------------------------------------------------------------
    def run(self) -> BuildResult:
        started = time.perf_counter()
        release = Release(self.config, self.progress)
        release.check_new()
        with _sigterm_as_interrupt():
            try:
                with release.staging() as staging:
                    rejected_writer = ShardWriter(staging.run_dir / "rejected", "rejected", REJECTED_SCHEMA, 256 * MB, 64 * MB)
                    shards = self._run_segments(staging, rejected_writer)
                    rejected_shards = rejected_writer.close()
                    self.funnel.check()
                    report = self._report(time.perf_counter() - started)
                    release.publish(staging, report, shards, rejected_shards, self._fingerprints(), self.limit)
            except OSError as err:
                if err.errno not in OUTPUT_ERRNOS and not _says_disk_full(err):
                    raise
                raise OutputError(_output_message(err, release.local.dataset_dir)) from None
            except KeyboardInterrupt:
                if not release.committed:
                    raise
                log.warning("interrupted after %s was published in full: nothing is left to do", release.version_dir)
        return BuildResult(release.version_dir, report)

    def _run_segments(self, staging, rejected_writer: ShardWriter) -> list[ShardInfo]:
        segments = _segments(self.config.stages)
        columns_so_far = self._base_schema()
        source: Iterator[dict[str, list]] = self._read(rejected_writer)
        done: list[StageConfig] = []
        for index, segment in enumerate(segments):
            done.extend(segment)
            last = index == len(segments) - 1
            stages = [s.stage_class(s.params) for s in segment]
            for stage in stages:
                columns_so_far = _extend_schema(columns_so_far, stage.columns())
            global_stage = stages[-1] if stages and isinstance(stages[-1], GlobalStage) else None
            if last:
                schema = pa.schema([f for f in columns_so_far if not f.name.startswith("_")])
                sink = ShardWriter(staging.version_dir / "data", "train", schema, self.config.publish.max_shard_mb * MB, self.config.publish.row_group_mb * MB)
            else:
                schema = _extend_schema(columns_so_far, global_stage.key_columns())
                sink = ShardWriter(staging.work_dir / f"segment-{index}", "rows", schema, 1 << 62, self.config.publish.row_group_mb * MB)
            processed = self.engine.map(SegmentTask(segment), source) if segment else (ProcessedBatch(c) for c in source)
            label = " → ".join(s.type for s in segment) or "write"
            with tqdm(desc=label, unit=" docs", disable=not self.progress, dynamic_ncols=True, leave=False) as bar:
                passed = batches = 0
                for result in processed:
                    self._absorb(result, rejected_writer)
                    rows = len(result.columns["text"])
                    passed += rows
                    if last:
                        self.funnel.kept_documents += rows
                        self.funnel.kept_characters += sum(map(len, result.columns["text"]))
                    sink.write(_to_table(result.columns, schema))
                    bar.update(self.funnel.input_documents - bar.n if index == 0 else rows)
                    bar.set_postfix_str(f"passing {passed / max(bar.n, 1):.0%}", refresh=False)
                    batches += 1
                    fault_point(f"segment-{index}/batch-{batches}")
            written = sink.close()
            fault_point(f"after:segment-{index}")
            if last:
                return written
            source = self._decide(global_stage, written, staging, rejected_writer)
        raise AssertionError("unreachable: the last segment returns")

    def _decide(self, stage: GlobalStage, written: list[ShardInfo], staging, rejected_writer: ShardWriter) -> Iterator[dict[str, list]]:
        """Run the global decision on keys only, then stream the survivors onward."""
        started = time.perf_counter()
        paths = [str(s.path) for s in written]
        artifacts = staging.version_dir / stage.type
        artifacts.mkdir(parents=True, exist_ok=True)
        context = GlobalContext(staging.previous_versions, artifacts, self.config.executor.workers)
        # The keys table is handed over, not kept here: the stage may free columns it has copied.
        drops: list[Drop | None] = stage.decide(
            pa.concat_tables([pq.read_table(p, columns=["id", *stage.key_columns()]) for p in paths]), context
        )
        if len(drops) != sum(s.rows for s in written):
            raise RuntimeError(f"stage {stage.type!r} returned {len(drops)} decisions for {sum(s.rows for s in written)} rows")
        self.global_seconds[stage.type] = time.perf_counter() - started
        stats = self.stage_stats.setdefault(stage.type, StageStats())
        dropped_count = sum(d is not None for d in drops)
        stats.documents_out -= dropped_count
        return self._filter(paths, drops, stage, stats, rejected_writer)

    def _filter(self, paths, drops, stage, stats, rejected_writer) -> Iterator[dict[str, list]]:
        offset = 0
        for path in paths:
            for record_batch in pq.ParquetFile(path).iter_batches(batch_size=self.config.executor.batch_size):
                columns = record_batch.to_pydict()
                decisions = drops[offset : offset + record_batch.num_rows]
                offset += record_batch.num_rows
                if not any(decisions):
                    yield columns
                    continue
                result = ProcessedBatch({})
                keep = []
                for row, drop in enumerate(decisions):
                    if drop is None:
                        keep.append(row)
                    else:
                        text = columns["text"][row]
                        stats.characters_out -= len(text)
                        result.reject(columns["id"][row], drop.reason, drop.detail, columns["_source"][row], "dropped", text)
                self._write_rejected(result.rejected, rejected_writer)
                yield {name: [values[row] for row in keep] for name, values in columns.items()}

    def _read(self, rejected_writer: ShardWriter) -> Iterator[dict[str, list]]:
        for batch in self.reader.batches():
            self._count_input(batch, rejected_writer)
            if batch.columns["text"]:
                yield batch.columns

    def _count_input(self, batch: SourceBatch, rejected_writer: ShardWriter) -> None:
        self.funnel.input_documents += len(batch.columns["text"]) + len(batch.quarantined)
        self.funnel.input_characters += batch.input_chars
        if batch.quarantined:
            result = ProcessedBatch({})
            for q in batch.quarantined:
                result.reject(q.id, q.reason, q.error, q.source, "quarantined", q.text)
                self.funnel.input_characters += len(q.text or "")
            self._write_rejected(result.rejected, rejected_writer)

    def _absorb(self, result: ProcessedBatch, rejected_writer: ShardWriter) -> None:
        self.counters.update(result.counters)
        for name, stats in result.stage_stats.items():
            self.stage_stats.setdefault(name, StageStats()).add(stats)
        self._write_rejected(result.rejected, rejected_writer)

    def _write_rejected(self, rejected: dict[str, list], rejected_writer: ShardWriter) -> None:
        if rejected["id"]:
            self.funnel.add_rejected(rejected)
            rejected_writer.write(pa.table(rejected, schema=REJECTED_SCHEMA))

    def _base_schema(self) -> pa.Schema:
        return pa.schema([(name, pa.string()) for name in self.reader.column_names()])

    def _fingerprints(self) -> list[dict]:
        return [{"path": f.name, "bytes": f.size, "sha256": fingerprint(f)} for f in self.files]

    def _report(self, seconds: float) -> dict:
        report = self.funnel.as_dict()
        report["input"]["files"] = len(self.files)
        report["empty_files"] = self.reader.empty_files
        report["counters"] = dict(sorted(self.counters.items()))
        report["stages"] = [
            {
                "type": s.type,
                **vars(self.stage_stats.get(s.type, StageStats())),
                "seconds": round(self.stage_stats.get(s.type, StageStats()).seconds + self.global_seconds.get(s.type, 0.0), 3),
            }
            for s in self.config.stages
        ]
        report["seconds"] = round(seconds, 3)
        report["workers"] = self.engine.workers
        return report


REJECTED_SCHEMA = pa.schema([(name, pa.string()) for name in REJECTED_COLUMNS])
# Errors of the place the build writes to, not of the builder: a user error that names the path.
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


class OutputError(PublishError):
    """The output folder cannot be written (full, read-only, not ours): nothing was published."""


def _says_disk_full(err: OSError) -> bool:
    # Arrow's file writers raise OSError without an errno; the OS message is in the text.
    return err.errno is None and any(s in str(err) for s in ("No space left", "Read-only file system", "Permission denied", "Disk quota", "File too large"))


def _output_message(err: OSError, dataset_dir: Path) -> str:
    where = err.filename or dataset_dir
    reason = err.strerror or str(err)
    return (f"cannot write the build to {where}: {reason}. Nothing was published; free space there (a build needs room "
            f"for its staging copy, about twice the output), or pass --output DIR (publish.root) on a writable disk")


class _sigterm_as_interrupt:
    """SIGTERM (what `timeout`, systemd and `docker stop` send) stops the build like Ctrl-C does."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _extend_schema(schema: pa.Schema, columns: dict[str, pa.DataType]) -> pa.Schema:
    for name, dtype in columns.items():
        if name in schema.names:
            schema = schema.set(schema.get_field_index(name), pa.field(name, dtype))
        else:
            schema = schema.append(pa.field(name, dtype))
    return schema


def _to_table(columns: dict[str, list], schema: pa.Schema) -> pa.Table:
    return pa.table({name: pa.array(columns[name], type=schema.field(name).type) for name in schema.names}, schema=schema)
