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
from builder.checkpoint import (DECISIONS_FORMAT, TableLog, UnitStore, group_units, link_tree, read_decisions,
                                segment_config_sha, sha256_json, unit_decisions_shas, unit_key, write_decisions)
from builder.engines import make_engine
from builder.faults import fault_point
from builder.io.source_stats import SourceStats
from builder.io.readers import DocumentReader, InputFile, expand_inputs, fingerprint
from builder.io.sample import sample_batches
from builder.io.writers import ShardInfo, ShardWriter, sha256_file
from builder.pipeline import ProcessedBatch, SegmentTask, StageStats
from builder.progress import SegmentBar, SegmentProgress, Spinner
from builder.publish import PublishError
from builder.publish.changelog import same_config
from builder.publish.local import LocalRelease
from builder.publish.manifest import read_manifest, write_json
from builder.publish.release import Release
from builder.publish.versions import published_versions
from builder.stages import Decisions, GlobalContext, GlobalStage, Keys
from builder.tally import Funnel, Tally, add_source_stats
from builder.units import REJECTED_SCHEMA, REMOVED_LINES_SCHEMA, UnitRun, UnitSpec, UnitTask

log = logging.getLogger("builder")
MB = 1 << 20


class ResumableInterrupt(KeyboardInterrupt):
    """Ctrl-C or SIGTERM with the finished units kept: the same command resumes."""

    def __init__(self, staging: Path):
        super().__init__(str(staging))
        self.message = ("interrupted: nothing was published; the finished work is kept: re-run the same command to resume, "
                        "or add --fresh to start over")


class NothingToPublish(PublishError):
    """A run that kept nothing, or quarantined too much of its input: publishing it would mislead."""


# What to check when most of the input is quarantined for one reason.
_HINTS = {
    "input.missing_field": "check `input.text_field` (now {text_field!r})",
    "input.bad_type": "check `input.text_field` (now {text_field!r})",
    "input.invalid_json": "check `input.format` (now {format!r})",
    "input.invalid_utf8": "check `input.format`: is the file JSON Lines in UTF-8?",
}


@dataclass
class BuildResult:
    version_dir: Path | None
    report: dict
    dry_run: bool = False
    sample_dir: Path | None = None  # a `--sample` run: the scratch folder, never a version
    reused: list[tuple] = field(default_factory=list)  # (segment index or decision name, units reused, units)


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
                 sample: int | None = None, seed: int = 0, fresh: bool = False):
        self.config = config
        self.limit = limit
        self.progress = progress
        self.sample = sample
        self.seed = seed
        self.fresh = fresh  # ignore (and clear) what an interrupted run of this version recorded
        self.progress_log: list[SegmentProgress] = []
        self._positions: deque[int] = deque()  # reader byte position after each batch handed to the engine
        self._removed_dir: Path | None = None  # lines stages removed from documents: the run's audit trail
        self._read_counts: dict[int, int] = {}  # documents read by each unit run now (for --limit)
        self._artifacts: list[tuple[str, Path]] = []  # (global stage, the artifacts its decision wrote)
        self._file_sha: dict[Path, str] = {}
        self.reuse: list[tuple] = []  # (segment index or decision, units reused, units)
        self.files: list[InputFile] = expand_inputs(config.input)
        self.reader = DocumentReader(config.input, self.files, config.executor.batch_size, limit)
        self.engine = make_engine(config.executor)
        self.funnel = Funnel()
        self.counters: Counter = Counter()
        self.stage_stats: dict[str, StageStats] = {}
        self.global_seconds: dict[str, float] = {}
        self.sources: SourceStats | None = None
        self.empty_files: list[str] = []

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
                with release.staging(fresh=self.fresh) as staging:
                    if staging.resumed:
                        log.info("resuming the interrupted build of v%s: finished units in %s", release.config.version, staging.work_dir)
                    self._removed_dir = staging.run_dir / "removed_lines"
                    shards, rejected_shards = self._run_segments(staging, UnitStore(staging.work_dir))
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
                if release.committed:
                    log.warning("interrupted after %s was published in full: nothing is left to do", release.version_dir)
                elif release.local.kept_staging is not None:
                    raise ResumableInterrupt(release.local.kept_staging) from None
                else:
                    raise
        return BuildResult(release.version_dir, report, reused=self.reuse)

    # -- sample: the stages on a seeded sample, into a scratch folder, never a version ----
    def run_sample(self) -> BuildResult:
        started = time.perf_counter()
        dataset_dir = Path(self.config.publish.root) / self.config.name
        target = dataset_dir / "samples" / f"sample-{self.sample}-seed-{self.seed}"
        with Spinner(f"sampling {self.sample:,} documents (seed {self.seed}) from {len(self.files)} input file(s)", self.progress):
            self._sampled, seen = sample_batches(self.reader.batches(), self.sample, self.seed, self.config.executor.batch_size)
        with LocalRelease(Path(self.config.publish.root), self.config.name, "sample").staging(resumable=False) as staging:
            self._removed_dir = staging.run_dir / "removed_lines"
            self._run_segments(staging, UnitStore(staging.work_dir, enabled=False))
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

    def _units(self) -> list[tuple[str, list[InputFile]]]:
        """(folder name, files) of each unit of input, in input order; a `--sample` run is one unit."""
        if self.sample:
            return [("unit-sample", self.files)]
        groups = group_units(self.files, self.config.executor.unit_mb * MB)
        return [(unit_key([f.name for f in files]), files) for files in groups]

    def _run_segments(self, staging, store: UnitStore) -> tuple[list[ShardInfo], list[ShardInfo]]:
        """Each segment unit by unit (finished units of an earlier run reused), each global decision, then the shards."""
        segments = _segments(self.config.stages)
        resolved = self.config.resolved()
        sample = (self.sample, self.seed) if self.sample else None
        units = self._units()
        columns_so_far = self._base_schema()
        done: list[list[dict]] = []  # per segment: each unit's marker
        slices: list[str] = []  # per unit: sha256 of its part of the last global decision
        decision_file: Path | None = None  # the last global stage's decisions (`checkpoint.write_decisions`)
        offsets: list[int] = []
        global_stage: GlobalStage | None = None
        entering: int | None = None
        stage_count = 0
        for index, segment in enumerate(segments):
            stage_count += len(segment)
            last = index == len(segments) - 1
            stages = [s.stage_class(s.params) for s in segment]
            for stage in stages:
                columns_so_far = _extend_schema(columns_so_far, stage.columns())
            previous_stage, global_stage = global_stage, stages[-1] if stages and isinstance(stages[-1], GlobalStage) else None
            if last:
                schema = pa.schema([f for f in columns_so_far if not f.name.startswith("_")])
            else:
                schema = _extend_schema(columns_so_far, global_stage.key_columns())
            config_sha = segment_config_sha(resolved, stage_count, self.limit, sample)
            markers: list[dict | None] = []
            known = True  # with --limit, a unit's input depends on how much the units before it read
            input_shas: list[str | None] = []
            for u, (key, files) in enumerate(units):
                if index == 0:
                    read_before = sum(m["tally"]["funnel"]["input_documents"] for m in markers) if self.limit is not None and known else None
                    input_sha = self._unit_input_sha(files, read_before)
                else:
                    input_sha = sha256_json({"rows": done[-1][u]["rows_sha256"], "decisions": slices[u]})
                input_shas.append(input_sha)
                marker = store.load(store.unit_dir(index, key), config_sha, input_sha)
                known = known and (marker is not None or self.limit is None)
                markers.append(marker)
            pending = [u for u, m in enumerate(markers) if m is None]
            self.reuse.append((index, len(units) - len(pending), len(units)))
            progress = self._segment_progress(index, segment, entering)
            for u, marker in enumerate(markers):
                if marker is not None:
                    progress.documents_in += marker["documents_in"]
                    progress.documents_out += marker["rows_count"]
                    if index == 0:
                        progress.done_bytes += sum(f.size for f in units[u][1])
            if pending and self._whole_units():
                self._run_whole_units(index, segment, schema, last, units, pending, markers, input_shas, done[-1] if done else [], offsets,
                                      previous_stage, store, config_sha, progress)
            elif pending:
                source_of = self._reader_for(units, markers) if index == 0 else self._filter_for(
                    units, done[-1], input_shas, decision_file, offsets, previous_stage, store, index - 1)
                self._run_units(index, segment, schema, last, units, pending, markers, source_of, store, config_sha, progress)
            for marker in markers:
                self._merge(Tally.from_dict(marker["tally"]))
            done.append(markers)  # type: ignore[arg-type]
            fault_point(f"after:segment-{index}")
            if last:
                return self._assemble(staging, store, units, done, schema)
            decision_file = self._decide(global_stage, index, units, markers, staging, store, config_sha)
            offsets = [0]
            for marker in markers:
                offsets.append(offsets[-1] + marker["rows_count"])
            slices = unit_decisions_shas(decision_file, offsets)  # one pass over the file, a row group at a time
            entering = self.stage_stats[global_stage.type].documents_out  # after the decision: the survivors
        raise AssertionError("unreachable: the last segment returns")

    def _unit_input_sha(self, files: list[InputFile], read_before: int | None) -> str | None:
        """The files' names (they are in the ids) and bytes; with --limit, how many documents are left to read."""
        if self.sample:
            return None  # a sample is never resumed
        if self.limit is not None and read_before is None:
            return None
        remaining = None if self.limit is None else max(self.limit - (read_before or 0), 0)
        return sha256_json({"files": [[f.name, self._file_sha256(f)] for f in files], "remaining": remaining})

    def _run_units(self, index, segment, schema, last, units, pending, markers, source_of, store, config_sha, progress) -> None:
        """Run the segment's stages over the pending units as one stream, recording each unit as soon as it is whole.

        The engine returns results in the order the batches went in; each batch carries its unit
        (and the rows that unit rejected before the batch: unreadable input, a global drop), so
        everything is written in the order a single worker would write it, whatever the count.
        """
        tags: deque = deque()  # (unit run, rejected tables before the batch) of each batch in flight
        open_runs: deque[UnitRun] = deque()

        def feed() -> Iterator[dict[str, list]]:
            for u in pending:
                key, files = units[u]
                run = UnitRun(u, files, store.start(store.unit_dir(index, key)), schema, last, self.config.publish.row_group_mb * MB)
                open_runs.append(run)
                for columns in source_of(run):
                    tags.append((run, run.take_before()))
                    yield columns
                run.fed = True

        processed = self.engine.map(SegmentTask(segment), feed()) if segment else (ProcessedBatch(c) for c in feed())
        bar = SegmentBar(progress, self.progress)
        batches = 0
        try:
            for result in processed:
                run, before = tags.popleft()
                documents_in, rows = run.add(result, segment, before)
                progress.documents_in += documents_in
                progress.documents_out += rows
                if index == 0 and self._positions:
                    progress.done_bytes = self._positions.popleft()
                bar.update()
                batches += 1
                fault_point(f"segment-{index}/batch-{batches}")
                while open_runs and open_runs[0].fed and not (tags and tags[0][0] is open_runs[0]):
                    self._finish_unit(open_runs.popleft(), index, markers, store, config_sha)
            while open_runs:
                self._finish_unit(open_runs.popleft(), index, markers, store, config_sha)
            if index == 0 and not self.sample:
                progress.done_bytes = sum(f.size for f in self.files)
                bar.update()
        finally:
            bar.close()

    def _finish_unit(self, run: UnitRun, index: int, markers: list, store: UnitStore, config_sha: str) -> None:
        markers[run.index] = run.finish(index, store, config_sha)
        fault_point(f"after:segment-{index}/unit-{run.index}")

    def _whole_units(self) -> bool:
        """Whether the engine runs each unit where it is (reading included), handing back only its marker.

        Not with --limit (a unit's input depends on how much the units before it read) nor --sample
        (the sample is drawn here): those stream their batches from this process.
        """
        return getattr(self.engine, "runs_whole_units", False) and self.limit is None and not self.sample

    def _run_whole_units(self, index, segment, schema, last, units, pending, markers, input_shas, before, offsets,
                         previous_stage: GlobalStage | None, store: UnitStore, config_sha: str, progress) -> None:
        """The pending units each as one task of the engine (`builder.units.UnitTask`): the task reads the
        unit's input (files, or the segment before's rows and the unit's slice of the decision file), runs
        the stages and records the unit; only its marker comes back, in input order."""
        task = UnitTask(index, segment, schema, last, self.config.input, self.config.executor.batch_size, self.config.publish.row_group_mb * MB,
                        store, config_sha, previous_stage.type if previous_stage else None,
                        tuple(previous_stage.key_columns()) if previous_stage else (),
                        store.decision_dir(index - 1) / "decisions.parquet" if index else None)
        specs = []
        for u in pending:
            key, files = units[u]
            rows = None if index == 0 else [str(store.unit_dir(index - 1, key) / r["path"]) for r in before[u]["rows"]]
            specs.append(UnitSpec(u, key, files, input_shas[u], rows, None if index == 0 else (offsets[u], offsets[u + 1])))
        bar = SegmentBar(progress, self.progress)
        try:
            for u, marker in zip(pending, self.engine.map(task, specs)):
                markers[u] = marker
                progress.documents_in += marker["documents_in"]
                progress.documents_out += marker["rows_count"]
                if index == 0:
                    progress.done_bytes += sum(f.size for f in units[u][1])
                bar.update()
                fault_point(f"after:segment-{index}/unit-{u}")
        finally:
            bar.close()

    def _reader_for(self, units, markers):
        """Segment 0: a unit's documents, read from its files (or, for --sample, the sample)."""
        def read(run: UnitRun) -> Iterator[dict[str, list]]:
            earlier = sum(markers[u]["tally"]["funnel"]["input_documents"] if markers[u] else self._read_counts[u] for u in range(run.index))
            run.input_sha = self._unit_input_sha(run.files, earlier) or "sample"
            remaining = None if self.limit is None else max(self.limit - earlier, 0)
            # Bytes done before this unit's: the units before it, and the reused ones after it (counted from the start).
            base = sum(f.size for u, (_, files) in enumerate(units) if u < run.index or markers[u] is not None for f in files)
            reader = None if self.sample else DocumentReader(self.config.input, run.files, self.config.executor.batch_size, remaining)
            for batch in iter(self._sampled) if self.sample else reader.batches():
                run.count_input(batch)
                if batch.columns["text"]:
                    self._positions.append(base + (reader.bytes_read() if reader else 0))
                    yield batch.columns
            if reader is not None:
                run.tally.sources = reader.sources
                run.tally.empty_files = list(reader.empty_files)
            self._read_counts[run.index] = run.tally.funnel.input_documents

        return read

    def _filter_for(self, units, markers, input_shas, decision_file: Path, offsets, stage: GlobalStage, store: UnitStore, segment: int):
        """Later segments: a unit's rows of the segment before, as the global stage decided (its slice of the decision file)."""
        def survivors(run: UnitRun) -> Iterator[dict[str, list]]:
            marker = markers[run.index]
            decisions = read_decisions(decision_file, offsets[run.index], offsets[run.index + 1])
            run.input_sha = input_shas[run.index]  # made from the one-pass hashes of the decision file
            folder = store.unit_dir(segment, units[run.index][0])
            paths = [folder / r["path"] for r in marker["rows"]]
            carried = [name for name in pq.ParquetFile(paths[0]).schema_arrow.names if name not in stage.key_columns()] if paths else []
            yield from run.filter(paths, carried, decisions, stage.type,
                                  self.config.executor.batch_size)

        return survivors

    def _decide(self, stage: GlobalStage, index: int, units, markers: list[dict], staging, store: UnitStore, config_sha: str) -> Path:
        """The global decision on keys only; recorded as a unit of its own (decisions, counters, artifacts).

        Returns the decision file: the stage's `Decisions` (the changed rows only, as columns) are
        written to it and dropped here; units read their slices from the file."""
        previous = [[p.name, sha256_file(p / "MANIFEST.json")] for p in staging.previous_versions if (p / "MANIFEST.json").is_file()]
        # The decision file's layout is part of the record: one written by an earlier layout is decided again.
        input_sha = sha256_json({"rows": [m["rows_sha256"] for m in markers], "previous_versions": previous,
                                 "decisions_format": DECISIONS_FORMAT})
        folder = store.decision_dir(index)
        record = store.load(folder, config_sha, input_sha)
        self.reuse.append((f"{stage.type} decision", int(record is not None), 1))
        rows = sum(m["rows_count"] for m in markers)
        if record is not None:
            log.info("%s: the decision on %s documents recorded by an earlier run is reused", stage.type, f"{rows:,}")
        else:
            started = time.perf_counter()
            store.start(folder)
            paths = [store.unit_dir(index, key) / r["path"] for (key, _), m in zip(units, markers) for r in m["rows"]]
            context = GlobalContext(staging.previous_versions, folder / "artifacts", self.config.executor.workers,
                                    cluster=self.engine.cluster())
            names = ["id", *stage.key_columns()]
            schema = pq.read_schema(paths[0]) if paths else pa.schema([("id", pa.string()), *stage.key_columns().items()])
            with Spinner(f"{stage.type}: deciding on {rows:,} documents", self.progress):
                decisions = stage.decide(Keys(paths, pa.schema([schema.field(name) for name in names])), context)
            if not isinstance(decisions, Decisions) or decisions.num_rows != rows:
                raise RuntimeError(f"stage {stage.type!r} returned {decisions!r:.80} for {rows} rows, not Decisions of {rows} rows")
            write_decisions(folder / "decisions.parquet", decisions)
            drops = decisions.dropped
            del decisions
            record = store.record(folder, config_sha, input_sha, {
                "stage": stage.type, "counters": dict(context.counters), "seconds": time.perf_counter() - started,
                "drops": drops})
        self.global_seconds[stage.type] = record["seconds"]
        self.counters.update(record["counters"])
        self.stage_stats.setdefault(stage.type, StageStats()).documents_out -= record["drops"]
        self._artifacts.append((stage.type, folder / "artifacts"))
        return folder / "decisions.parquet"

    def _assemble(self, staging, store: UnitStore, units, done: list[list[dict]], schema: pa.Schema) -> tuple[list[ShardInfo], list[ShardInfo]]:
        """The shards from the units' recorded tables, in input order: the same bytes however many runs made them."""
        folders = [[store.unit_dir(index, key) for key, _ in units] for index in range(len(done))]
        sink = ShardWriter(staging.version_dir / "data", "train", schema, self.config.publish.max_shard_mb * MB, self.config.publish.row_group_mb * MB)
        for folder, marker in zip(folders[-1], done[-1]):
            for entry in marker["rows"]:
                for table in TableLog.replay(folder / entry["path"]):
                    sink.write(table)
        shards = sink.close()
        rejected = ShardWriter(staging.run_dir / "rejected", "rejected", REJECTED_SCHEMA, 256 * MB, 64 * MB)
        removed = None
        for segment_folders, markers in zip(folders, done):
            for folder, marker in zip(segment_folders, markers):
                if marker["rejected"]:
                    for table in TableLog.replay(folder / marker["rejected"]["path"]):
                        rejected.write(table)
                if marker["removed_lines"]:  # only runs whose stages remove lines get the folder
                    removed = removed or ShardWriter(self._removed_dir, "removed_lines", REMOVED_LINES_SCHEMA, 256 * MB, 64 * MB)
                    for table in TableLog.replay(folder / marker["removed_lines"]["path"]):
                        removed.write(table)
        rejected_shards = rejected.close()
        if removed is not None:
            removed.close()
        for stage_type, artifacts in self._artifacts:
            if artifacts.is_dir():
                link_tree(artifacts, staging.version_dir / stage_type)
        return shards, rejected_shards

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

    def _merge(self, tally: "Tally") -> None:
        """Add a unit's counts to the run's, in input order."""
        self.funnel.merge(tally.funnel)
        self.counters.update(tally.counters)
        for name, stats in tally.stage_stats.items():
            self.stage_stats.setdefault(name, StageStats()).add(stats)
        if tally.sources is not None:
            self.sources = self.sources or SourceStats()
            add_source_stats(self.sources, tally.sources)
        self.empty_files.extend(tally.empty_files)

    def _base_schema(self) -> pa.Schema:
        return pa.schema([(name, pa.string()) for name in self.reader.column_names()])

    def _fingerprints(self) -> list[dict]:
        return [{"path": f.name, "bytes": f.size, "sha256": self._file_sha256(f)} for f in self.files]

    def _file_sha256(self, file: InputFile) -> str:
        if file.path not in self._file_sha:
            self._file_sha[file.path] = fingerprint(file)
        return self._file_sha[file.path]

    def _report(self, seconds: float) -> dict:
        report = self.funnel.as_dict()
        report["input"]["files"] = len(self.files)
        report["empty_files"] = self.empty_files
        if self.reader.sources is not None:
            report["sources"] = (self.sources or SourceStats()).as_dict()
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
