"""Runs a segment of stages over one batch: the unit of work an engine executes.

Owns what every stage needs and none should write: timing, counting documents and
characters in and out, moving dropped rows aside with their reason, and isolating a
document that makes a stage raise so one bad document cannot sink a whole run.
"""
from __future__ import annotations

import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

from builder.config import StageConfig
from builder.stages import BUILTIN_STAGES, STAGES, Batch, Stage
from builder.stages.base import REMOVED_LINES

REJECTED_COLUMNS = ("id", "reason", "detail", "source", "status", "text")
REMOVED_LINE_COLUMNS = ("id", "stage", "rule", "line")


@dataclass
class StageStats:
    documents_in: int = 0
    documents_out: int = 0
    characters_in: int = 0
    characters_out: int = 0
    seconds: float = 0.0

    def add(self, other: "StageStats") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class ProcessedBatch:
    columns: dict[str, list]
    rejected: dict[str, list] = field(default_factory=lambda: {name: [] for name in REJECTED_COLUMNS})
    counters: Counter = field(default_factory=Counter)
    stage_stats: dict[str, StageStats] = field(default_factory=dict)
    removed_lines: dict[str, list] = field(default_factory=lambda: {name: [] for name in REMOVED_LINE_COLUMNS})

    def reject(self, doc_id, reason, detail, source, status, text) -> None:
        for name, value in zip(REJECTED_COLUMNS, (doc_id, reason, detail, source, status, text)):
            self.rejected[name].append(value)


class SegmentTask:
    """Picklable factory: builds the stages once per worker, then processes batches."""

    def __init__(self, stage_configs: list[StageConfig]):
        self.stage_configs = stage_configs

    @property
    def preload(self) -> list[str]:
        """Modules for an engine to import once before it starts workers: this segment's stages and the
        built-in ones (a local engine's fork server starts with the first segment and serves the later ones)."""
        names = [config.type for config in self.stage_configs] + list(BUILTIN_STAGES)
        return list(dict.fromkeys([__name__, *(STAGES.module_of(name) for name in names)]))

    def __call__(self) -> "SegmentRunner":
        return SegmentRunner([config.stage_class(config.params) for config in self.stage_configs])


class SegmentRunner:
    def __init__(self, stages: list[Stage]):
        self.stages = stages

    def __call__(self, columns: dict[str, list]) -> ProcessedBatch:
        result = ProcessedBatch(columns)
        for stage in self.stages:
            stats = StageStats(documents_in=len(result.columns["text"]), characters_in=_chars(result.columns["text"]))
            started = time.perf_counter()
            batch = self._apply(stage, Batch(result.columns), result)
            stats.seconds = time.perf_counter() - started
            result.counters.update(batch.counters)
            audit = batch.columns.pop(REMOVED_LINES, None)
            if audit is not None:
                _record_removed_lines(result, stage.type, batch, audit)
            kept = [row for row in range(len(batch)) if row not in batch.drops]
            for row, drop in sorted(batch.drops.items()):
                result.reject(batch["id"][row], drop.reason, drop.detail, batch["_source"][row], "dropped", batch["text"][row])
            result.columns = {name: [values[row] for row in kept] for name, values in batch.columns.items()} if batch.drops else batch.columns
            stats.documents_out = len(kept)
            stats.characters_out = _chars(result.columns["text"])
            result.stage_stats[stage.type] = stats
        return result

    def _apply(self, stage: Stage, batch: Batch, result: ProcessedBatch) -> Batch:
        try:
            out = stage(batch)
        except Exception:
            out = self._apply_row_by_row(stage, batch, result)
        _check_columns(stage, out)
        return out

    @staticmethod
    def _apply_row_by_row(stage: Stage, batch: Batch, result: ProcessedBatch) -> Batch:
        """Some document makes the stage raise: find it, quarantine it, keep the others."""
        outputs: list[Batch] = []
        for row in range(len(batch)):
            single = Batch({name: [values[row]] for name, values in batch.columns.items()})
            try:
                outputs.append(stage(single))
            except Exception as err:
                where = traceback.extract_tb(err.__traceback__)[-1]
                detail = f"{type(err).__name__}: {err} (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
                result.reject(batch["id"][row], f"error.{stage.type}", detail, batch["_source"][row], "quarantined", batch["text"][row])
        if not outputs:
            return Batch({name: [] for name in [*batch.columns, *_declared(stage)]})
        return _concat(outputs)


def _record_removed_lines(result: ProcessedBatch, stage: str, batch: Batch, audit: list) -> None:
    """Lines a stage removed from documents it kept: an audit trail, not part of the data."""
    for row, removed in enumerate(audit):
        if removed and row not in batch.drops:
            for rule, line in removed:
                for name, value in zip(REMOVED_LINE_COLUMNS, (batch["id"][row], stage, rule, line)):
                    result.removed_lines[name].append(value)


def _declared(stage: Stage) -> set[str]:
    return set(stage.columns()) | set(getattr(stage, "key_columns", dict)())


def _check_columns(stage: Stage, batch: Batch) -> None:
    missing = _declared(stage) - set(batch.columns)
    if missing:
        raise RuntimeError(f"stage {stage.type!r} declared columns {sorted(missing)} but did not write them")


def _concat(outputs: list[Batch]) -> Batch:
    names = outputs[0].columns.keys()
    merged = Batch({name: [value for out in outputs for value in out.columns[name]] for name in names})
    offset = 0
    for out in outputs:
        for row, drop in out.drops.items():
            merged.drops[offset + row] = drop
        merged.counters.update(out.counters)
        offset += len(out)
    return merged


def _chars(texts: list[str]) -> int:
    return sum(map(len, texts))
