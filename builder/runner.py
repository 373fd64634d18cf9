"""The build: read → stages (in the engine) → Parquet shards → a published version.

The runner owns I/O, parallelism, statistics and errors. The stage list is split into
segments at each global stage (line_frequency, dedup): a segment's rows are written to an
intermediate Parquet file with their keys, the global stage decides from the keys alone
(drop, edit or keep each row), and the next segment reads the survivors back, edited. Every input document ends kept, dropped with a
reason, or quarantined with its error, and the counts are checked to add up.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import signal
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from builder.config import BuilderConfig, StageConfig
from builder.engines import make_engine
from builder.faults import fault_point
from builder.io.readers import DocumentReader, InputFile, SourceBatch, expand_inputs, fingerprint
from builder.io.sample import sample_batches
from builder.io.writers import ShardInfo, ShardWriter
from builder.pipeline import REJECTED_COLUMNS, REMOVED_LINE_COLUMNS, ProcessedBatch, SegmentTask, StageStats
from builder.progress import SegmentBar, SegmentProgress, Spinner
from builder.publish import PublishError
from builder.publish.changelog import same_config
from builder.publish.local import LocalRelease
from builder.publish.manifest import read_manifest, write_json
from builder.publish.release import Release
from builder.publish.versions import published_versions
from builder.stages import Drop, Edit, GlobalContext, GlobalStage

log = logging.getLogger("builder")
MB = 1 << 20


class CountMismatch(RuntimeError):
    """The funnel does not add up to the input: a bug, never silently accepted."""


class NothingToPublish(PublishError):
    """A run that kept nothing, or quarantined too much of its input: publishing it would mislead."""


# A drop whose detail names a published version (`v1.0.0:<id>`) is a copy of that version's document.
_PUBLISHED_COPY = re.compile(r"^(v\d+\.\d+\.\d+):")
# What to check when most of the input is quarantined for one reason.
_HINTS = {
    "input.missing_field": "check `input.text_field` (now {text_field!r})",
    "input.bad_type": "check `input.text_field` (now {text_field!r})",
    "input.invalid_json": "check `input.format` (now {format!r})",
    "input.invalid_utf8": "check `input.format`: is the file JSON Lines in UTF-8?",
}


@dataclass
class Funnel:
    input_documents: int = 0
    input_characters: int = 0
    kept_documents: int = 0
    kept_characters: int = 0
    dropped: dict[str, list[int]] = field(default_factory=dict)  # reason -> [documents, characters]
    quarantined: dict[str, list[int]] = field(default_factory=dict)
    copies_of_published: Counter = field(default_factory=Counter)  # version -> dropped documents that copy it

    def add_rejected(self, rejected: dict[str, list]) -> None:
        for reason, status, text, detail in zip(rejected["reason"], rejected["status"], rejected["text"], rejected["detail"]):
            bucket = self.quarantined if status == "quarantined" else self.dropped
            entry = bucket.setdefault(reason, [0, 0])
            entry[0] += 1
            entry[1] += len(text or "")
            copy = _PUBLISHED_COPY.match(detail or "") if status == "dropped" else None
            if copy:
                self.copies_of_published[copy.group(1)] += 1

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
    sample_dir: Path | None = None  # a `--sample` run: the scratch folder, never a version


def _cause(counts: dict[str, list[int]] | Counter, total: int, config: BuilderConfig) -> str:
    """`reason for N of M documents: hint` for the largest reason."""
    reason, entry = max(counts.items(), key=lambda item: (item[1][0] if isinstance(item[1], list) else item[1], item[0]))
    count = entry[0] if isinstance(entry, list) else entry
    hint = _HINTS.get(reason, "") if 2 * count > total else ""  # a hint only for the cause of most of the input
    hint = f": {hint.format(text_field=config.input.text_field, format=config.input.format)}" if hint else ""
    return f"{reason} for {count:,} of {total:,} documents{hint}"


def refuse_empty(config: BuilderConfig, total: int, kept: int | None, dropped: dict, quarantined: dict | Counter,
                 copies_of_published: Counter) -> None:
    """Raise NothingToPublish when a run kept nothing or quarantined more than `input.max_quarantined_share`.

    `kept` is None for a dry run, which knows only what reading quarantines.
    """
    if total == 0:
        raise NothingToPublish("not published: the input holds no documents")
    counts = {r: (v[0] if isinstance(v, list) else v) for r, v in quarantined.items()}
    share = sum(counts.values()) / total
    limit = config.input.max_quarantined_share
    if counts and share > limit:
        raise NothingToPublish(f"not published: {_cause(counts, total, config)} ({share:.0%} of the input quarantined, "
                               f"more than input.max_quarantined_share {limit})")
    if kept is None:
        if sum(counts.values()) == total:
            raise NothingToPublish(f"not published: {_cause(counts, total, config)}")
        return
    if kept:
        return
    dropped_documents = sum(d for d, _ in dropped.values())
    if copies_of_published:  # nothing kept, and what reached dedup was already published
        copies = sum(copies_of_published.values())
        versions = ", ".join(sorted(copies_of_published))
        if copies == total:
            raise NothingToPublish(f"not published: all {total:,} documents are copies of {versions}: nothing new to release")
        raise NothingToPublish(f"not published: all {copies:,} documents that passed the other stages are copies of {versions} "
                               f"(the other {total - copies:,} were dropped or quarantined as before): nothing new to release")
    everything = {**{r: [v[0], 0] for r, v in dropped.items()}, **{r: [v, 0] for r, v in counts.items()}}
    raise NothingToPublish(f"not published: no document was kept ({dropped_documents:,} dropped, {sum(counts.values()):,} "
                           f"quarantined); the largest cause: {_cause(everything, total, config)}")


def nothing_new(config: BuilderConfig, inputs: list[dict], limit: int | None) -> None:
    """Dry run: with cross-version dedup, the config and inputs of the newest version give only copies of it."""
    if not any(s.type == "dedup" and getattr(s.params, "cross_version", False) for s in config.stages):
        return
    versions = published_versions(Path(config.publish.root) / config.name)
    if not versions:
        return
    manifest = read_manifest(versions[-1])
    same_inputs = [(i["path"], i["sha256"]) for i in manifest["inputs"]] == [(i["path"], i["sha256"]) for i in inputs]
    if same_inputs and manifest.get("limit") == limit and same_config(manifest["config"], config.resolved()):
        raise NothingToPublish(f"not published: the config and inputs are the ones {versions[-1].name} was built from, and dedup "
                               f"drops documents published before: all documents would be copies of {versions[-1].name}: "
                               "nothing new to release")


def _segments(stages: list[StageConfig]) -> list[list[StageConfig]]:
    """Split after each global stage; the last segment may be empty (filter and write only)."""
    segments: list[list[StageConfig]] = [[]]
    for stage in stages:
        segments[-1].append(stage)
        if issubclass(stage.stage_class, GlobalStage):
            segments.append([])
    return segments


class Build:
    def __init__(self, config: BuilderConfig, limit: int | None = None, progress: bool = False,
                 sample: int | None = None, seed: int = 0):
        self.config = config
        self.limit = limit
        self.progress = progress
        self.sample = sample
        self.seed = seed
        self.progress_log: list[SegmentProgress] = []
        self._positions: deque[int] = deque()  # reader byte position after each batch handed to the engine
        self._removed_writer: ShardWriter | None = None  # lines stages removed from documents: the run's audit trail
        self._removed_dir: Path | None = None
        self.files: list[InputFile] = expand_inputs(config.input)
        self.reader = DocumentReader(config.input, self.files, config.executor.batch_size, limit)
        self.engine = make_engine(config.executor)
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
        if self.reader.sources is not None:
            report["sources"] = self.reader.sources.as_dict()
        refuse_empty(self.config, self.funnel.input_documents, None, {}, quarantined, Counter())
        if self.config.publish.target == "local":
            Release(self.config).check_new()
        nothing_new(self.config, self._fingerprints(), self.limit)
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
                    self._removed_dir = staging.run_dir / "removed_lines"
                    shards = self._run_segments(staging, rejected_writer)
                    rejected_shards = rejected_writer.close()
                    if self._removed_writer is not None:
                        self._removed_writer.close()
                    self.funnel.check()
                    refuse_empty(self.config, self.funnel.input_documents, self.funnel.kept_documents, self.funnel.dropped,
                                 self.funnel.quarantined, self.funnel.copies_of_published)
                    report = self._report(time.perf_counter() - started)
                    with Spinner(f"publishing v{release.config.version}: manifest, report, card, charts", self.progress):
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

    # -- sample: the stages on a seeded sample, into a scratch folder, never a version ----
    def run_sample(self) -> BuildResult:
        started = time.perf_counter()
        dataset_dir = Path(self.config.publish.root) / self.config.name
        target = dataset_dir / "samples" / f"sample-{self.sample}-seed-{self.seed}"
        with Spinner(f"sampling {self.sample:,} documents (seed {self.seed}) from {len(self.files)} input file(s)", self.progress):
            self._sampled, seen = sample_batches(self.reader.batches(), self.sample, self.seed, self.config.executor.batch_size)
        with LocalRelease(Path(self.config.publish.root), self.config.name, "sample").staging() as staging:
            rejected_writer = ShardWriter(staging.run_dir / "rejected", "rejected", REJECTED_SCHEMA, 256 * MB, 64 * MB)
            self._removed_dir = staging.run_dir / "removed_lines"
            self._run_segments(staging, rejected_writer)
            rejected_writer.close()
            if self._removed_writer is not None:
                self._removed_writer.close()
            self.funnel.check()
            report = self._report(time.perf_counter() - started)
            report["sample"] = {"documents": self.funnel.input_documents, "of": seen, "seed": self.seed}
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging.version_dir, target)
            os.rename(staging.run_dir / "rejected", target / "rejected")
            if self._removed_dir.is_dir():
                os.rename(self._removed_dir, target / "removed_lines")
            write_json(target / "report.json", report)
        return BuildResult(None, report, sample_dir=target)

    def _run_segments(self, staging, rejected_writer: ShardWriter) -> list[ShardInfo]:
        segments = _segments(self.config.stages)
        columns_so_far = self._base_schema()
        source: Iterator[dict[str, list]] = self._read(rejected_writer)
        entering: int | None = None
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
            if index == 0 and segment and self._engine_reads():
                processed = self.engine.read_map(SegmentTask(segment), self.reader, lambda batch: self._count_input(batch, rejected_writer))
            else:
                processed = self.engine.map(SegmentTask(segment), source) if segment else (ProcessedBatch(c) for c in source)
            progress = self._segment_progress(index, segment, entering)
            bar = SegmentBar(progress, self.progress)
            batches = 0
            try:
                for result in processed:
                    self._absorb(result, rejected_writer)
                    rows = len(result.columns["text"])
                    progress.documents_in += result.stage_stats[segment[0].type].documents_in if segment else rows
                    progress.documents_out += rows
                    if index == 0 and self._positions:
                        progress.done_bytes = self._positions.popleft()
                    if last:
                        self.funnel.kept_documents += rows
                        self.funnel.kept_characters += sum(map(len, result.columns["text"]))
                    sink.write(_to_table(result.columns, schema))
                    bar.update()
                    batches += 1
                    fault_point(f"segment-{index}/batch-{batches}")
                if index == 0 and not self.sample:
                    progress.done_bytes = self.reader.bytes_read()
                    bar.update()
            finally:
                bar.close()
            written = sink.close()
            fault_point(f"after:segment-{index}")
            if last:
                return written
            with Spinner(f"{global_stage.type}: deciding on {sum(s.rows for s in written):,} documents", self.progress):
                source = self._decide(global_stage, written, staging, rejected_writer)
            entering = self.stage_stats[global_stage.type].documents_out  # after the decision: the survivors
        raise AssertionError("unreachable: the last segment returns")

    def _decide(self, stage: GlobalStage, written: list[ShardInfo], staging, rejected_writer: ShardWriter) -> Iterator[dict[str, list]]:
        """Run the global decision on keys only, then stream the survivors onward."""
        started = time.perf_counter()
        paths = [str(s.path) for s in written]
        context = GlobalContext(staging.previous_versions, staging.version_dir / stage.type, self.config.executor.workers)
        # The keys table is handed over, not kept here: the stage may free columns it has copied.
        decisions: list[Drop | Edit | None] = stage.decide(
            pa.concat_tables([pq.read_table(p, columns=["id", *stage.key_columns()]) for p in paths]), context
        )
        if len(decisions) != sum(s.rows for s in written):
            raise RuntimeError(f"stage {stage.type!r} returned {len(decisions)} decisions for {sum(s.rows for s in written)} rows")
        self.global_seconds[stage.type] = time.perf_counter() - started
        self.counters.update(context.counters)
        stats = self.stage_stats.setdefault(stage.type, StageStats())
        stats.documents_out -= sum(isinstance(d, Drop) for d in decisions)
        carried = [name for name in pq.ParquetFile(paths[0]).schema_arrow.names if name not in stage.key_columns()] if paths else []
        return self._filter(paths, carried, decisions, stage, stats, rejected_writer)

    def _filter(self, paths, carried, decisions, stage, stats, rejected_writer) -> Iterator[dict[str, list]]:
        """Stream the rows of a segment onward: drop, edit or pass each as decided; key columns stay behind."""
        offset = 0
        for path in paths:
            for record_batch in pq.ParquetFile(path).iter_batches(batch_size=self.config.executor.batch_size, columns=carried):
                columns = record_batch.to_pydict()
                batch_decisions = decisions[offset : offset + record_batch.num_rows]
                offset += record_batch.num_rows
                if not any(batch_decisions):
                    yield columns
                    continue
                result = ProcessedBatch({})
                keep = []
                for row, decision in enumerate(batch_decisions):
                    if isinstance(decision, Edit):
                        before = columns["text"][row]
                        after = _remove_lines(before, decision.lines, stage.type, columns["id"][row])
                        if after.strip():
                            columns["text"][row] = after
                            stats.characters_out -= len(before) - len(after)
                            self.counters[f"{stage.type}.documents_edited"] += 1
                            self.counters[f"{stage.type}.lines_removed"] += len(set(decision.lines))
                            self.counters[f"{stage.type}.characters_removed"] += len(before) - len(after)
                        else:  # nothing left to keep: the document is dropped, with its whole text recorded
                            decision = Drop(f"{stage.type}.all_lines_removed", decision.detail)
                            stats.documents_out -= 1
                    if decision is None or isinstance(decision, Edit):
                        keep.append(row)
                    else:
                        text = columns["text"][row]
                        stats.characters_out -= len(text)
                        result.reject(columns["id"][row], decision.reason, decision.detail, columns["_source"][row], "dropped", text)
                self._write_rejected(result.rejected, rejected_writer)
                yield {name: [values[row] for row in keep] for name, values in columns.items()}

    def _segment_progress(self, index: int, segment: list[StageConfig], entering: int | None) -> SegmentProgress:
        label = " → ".join(s.type for s in segment) or "write"
        if index == 0 and not self.sample and self.limit is None:
            progress = SegmentProgress(label, total_bytes=sum(f.size for f in self.files))
        elif index == 0:
            progress = SegmentProgress(label, total_documents=self.sample or self.limit)
        else:
            progress = SegmentProgress(label, total_documents=entering)
        self.progress_log.append(progress)
        if index == 0:
            size = sum(f.size for f in self.files)
            log.info("reading %d input file%s (%s MB)%s", len(self.files), "" if len(self.files) == 1 else "s", f"{size / 1e6:,.1f}",
                     f", a sample of {self.sample:,} documents" if self.sample else f", the first {self.limit:,} documents" if self.limit else "")
        return progress

    def _engine_reads(self) -> bool:
        """Whether the engine reads the input itself (Ray: a task per input unit); a sample or a limit is read here."""
        return getattr(self.engine, "reads_input", False) and not self.sample and self.limit is None

    def _read(self, rejected_writer: ShardWriter) -> Iterator[dict[str, list]]:
        batches = iter(self._sampled) if self.sample else self.reader.batches()
        for batch in batches:
            self._count_input(batch, rejected_writer)
            if batch.columns["text"]:
                self._positions.append(self.reader.bytes_read())
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
        if result.removed_lines["id"]:
            if self._removed_writer is None:  # only runs whose stages remove lines get the folder
                self._removed_writer = ShardWriter(self._removed_dir, "removed_lines", REMOVED_LINES_SCHEMA, 256 * MB, 64 * MB)
            self._removed_writer.write(pa.table(result.removed_lines, schema=REMOVED_LINES_SCHEMA))

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
        if self.reader.sources is not None:
            report["sources"] = self.reader.sources.as_dict()
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
REMOVED_LINES_SCHEMA = pa.schema([(name, pa.string()) for name in REMOVED_LINE_COLUMNS])


def _remove_lines(text: str, remove, stage_type: str, doc_id: str) -> str:
    """`text` without the lines (0-based, split on "\\n") that an Edit names."""
    lines = text.split("\n")
    drop = set(int(i) for i in remove)
    if drop and (min(drop) < 0 or max(drop) >= len(lines)):
        raise RuntimeError(f"stage {stage_type!r} asked to remove line {max(drop)} of {doc_id!r}, which has {len(lines)} lines")
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


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
