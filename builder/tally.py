"""The run's figures: the funnel (every document kept, dropped with a reason, or quarantined) and
what one unit of work adds to it, in a form a unit's marker records, so a unit reused by a resumed
build counts exactly as if it had run again."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, fields

from builder.io.source_stats import SourceStats
from builder.pipeline import StageStats

# A drop whose detail names a published version (`v1.0.0:<id>`) is a copy of that version's document.
_PUBLISHED_COPY = re.compile(r"^(v\d+\.\d+\.\d+):")


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

    def merge(self, other: "Funnel") -> None:
        for name in ("input_documents", "input_characters", "kept_documents", "kept_characters"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in ((self.dropped, other.dropped), (self.quarantined, other.quarantined)):
            for reason, (documents, characters) in theirs.items():
                entry = mine.setdefault(reason, [0, 0])
                entry[0] += documents
                entry[1] += characters
        self.copies_of_published.update(other.copies_of_published)

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
class Tally:
    """What one unit adds to the run's figures; recorded with the unit, so a reused unit still counts."""

    funnel: Funnel = field(default_factory=Funnel)
    counters: Counter = field(default_factory=Counter)
    stage_stats: dict[str, StageStats] = field(default_factory=dict)
    sources: SourceStats | None = None  # crawl input: what reading the unit's files did
    empty_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        funnel = {**vars(self.funnel), "copies_of_published": dict(self.funnel.copies_of_published)}
        return {
            "funnel": funnel,
            "counters": dict(self.counters),
            "stage_stats": {name: vars(stats) for name, stats in self.stage_stats.items()},
            "sources": None if self.sources is None else {f.name: getattr(self.sources, f.name) for f in fields(self.sources)},
            "empty_files": self.empty_files,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Tally":
        funnel = Funnel(**{**data["funnel"], "copies_of_published": Counter(data["funnel"]["copies_of_published"])})
        sources = None
        if data["sources"] is not None:
            sources = SourceStats(**{name: Counter(value) if isinstance(value, dict) else value for name, value in data["sources"].items()})
        return cls(funnel, Counter(data["counters"]), {name: StageStats(**stats) for name, stats in data["stage_stats"].items()},
                   sources, list(data["empty_files"]))


def add_source_stats(total: SourceStats, part: SourceStats) -> None:
    for f in fields(part):
        value = getattr(part, f.name)
        if isinstance(value, Counter):
            getattr(total, f.name).update(value)
        else:
            setattr(total, f.name, getattr(total, f.name) + value)
