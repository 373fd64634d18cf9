"""The stage contract: what every stage receives, returns and declares.

A stage is built once per worker from its validated params and then called on many
batches. It may add columns, rewrite `text`, and mark rows dropped with a reason; the
runner removes dropped rows, records them, counts everything and writes the output.
Stages never open files themselves (a global stage's keys come through the `Keys` the runner
hands in) and never know which engine runs them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator, Protocol, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict


class StageParams(BaseModel):
    """Base for every stage's parameters: unknown keys are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# A stage may set this column: per row, the (rule, line) pairs it removed from the text. The runner moves it
# aside into the run folder (`removed_lines/`), so `inspect` can say which lines left a kept document and why.
REMOVED_LINES = "_removed_lines"


@dataclass
class Drop:
    reason: str
    detail: str | None = None


@dataclass
class Edit:
    """A global stage's rewrite of one row: remove these lines, keep the rest.

    `lines` are 0-based indices into `text.split("\\n")` of the text as the stage's map saw
    it (the runner applies them before any later stage runs, so that is the text it has).
    The runner joins the remaining lines with "\\n", counts the lines and characters removed
    under `<stage>.lines_removed` / `<stage>.characters_removed`, and drops the row as
    `<stage>.all_lines_removed` when nothing but whitespace is left. Removing lines is
    generic; which lines to remove is the stage's business.
    """

    lines: Sequence[int]
    detail: str | None = None


DECISIONS_SCHEMA = pa.schema([("row", pa.int64()), ("kind", pa.int8()), ("reason", pa.string()), ("detail", pa.string()),
                              ("lines", pa.list_(pa.int64()))])
DROP, EDIT = 1, 2  # `kind`


class Decisions:
    """A global stage's decisions as columns: only the rows it drops or edits, in row order.

    `table` (`DECISIONS_SCHEMA`) has one row per dropped or edited row: its position among the
    `num_rows` decided rows, `kind` (DROP or EDIT), a Drop's `reason`, the `detail`, an Edit's
    `lines`. Kept rows are not in it, so the decisions take memory in proportion to the rows
    changed (their details and line numbers), nothing per kept row. The runner writes the table
    to the decision file and each unit reads its slice; nothing turns it into a list a row.

    For tests and benchmarks it also reads as the sequence of one `Drop`, `Edit` or None per
    row (`len`, indexing, iteration; equal to such a list), made on the fly.
    """

    def __init__(self, num_rows: int, table: pa.Table | None = None):
        self.num_rows = int(num_rows)
        self.table = (table if table is not None else DECISIONS_SCHEMA.empty_table()).cast(DECISIONS_SCHEMA)
        self._rows: np.ndarray | None = None

    @classmethod
    def of(cls, decisions: Sequence["Drop | Edit | None"]) -> "Decisions":
        """From one Drop, Edit or None per row (tests, small runs)."""
        changed = [(row, d) for row, d in enumerate(decisions) if d is not None]
        edit = [isinstance(d, Edit) for _, d in changed]
        return cls(len(decisions), pa.table({
            "row": pa.array([row for row, _ in changed], pa.int64()),
            "kind": pa.array([EDIT if e else DROP for e in edit], pa.int8()),
            "reason": pa.array([None if e else d.reason for e, (_, d) in zip(edit, changed)], pa.string()),
            "detail": pa.array([d.detail for _, d in changed], pa.string()),
            "lines": pa.array([[int(i) for i in d.lines] if e else None for e, (_, d) in zip(edit, changed)], pa.list_(pa.int64()))},
            schema=DECISIONS_SCHEMA))

    @classmethod
    def drops(cls, num_rows: int, rows, reasons, details) -> "Decisions":
        """Rows (increasing) dropped, each with its reason and detail."""
        return cls._of_kind(num_rows, rows, DROP, details, reasons=reasons)

    @classmethod
    def edits(cls, num_rows: int, rows, lines, details) -> "Decisions":
        """Rows (increasing) edited, each with the lines it loses and a detail."""
        return cls._of_kind(num_rows, rows, EDIT, details, lines=lines)

    @classmethod
    def _of_kind(cls, num_rows: int, rows, kind: int, details, reasons=None, lines=None) -> "Decisions":
        rows = np.asarray(rows, dtype=np.int64)
        columns = {"row": rows, "kind": np.full(rows.size, kind, np.int8)}
        for name, values in (("reason", reasons), ("detail", details), ("lines", lines)):
            dtype = DECISIONS_SCHEMA.field(name).type
            columns[name] = pa.nulls(rows.size, dtype) if values is None else _column(values, dtype)
        return cls(num_rows, pa.table(columns, schema=DECISIONS_SCHEMA))

    @property
    def changed(self) -> int:
        """How many rows are dropped or edited."""
        return self.table.num_rows

    @property
    def dropped(self) -> int:
        return int((self.table["kind"].to_numpy() == DROP).sum())

    def rows(self) -> np.ndarray:
        if self._rows is None:
            self._rows = self.table["row"].to_numpy()
        return self._rows

    def slice(self, start: int, stop: int) -> "Decisions":
        """The decisions of rows [start, stop), numbered from `start`."""
        rows = self.rows()
        first, last = np.searchsorted(rows, [start, stop]).tolist()
        part = self.table.slice(first, last - first)
        return Decisions(stop - start, part.set_column(0, "row", pa.array(rows[first:last] - start, pa.int64())))

    def changes(self) -> Iterator[tuple[int, "Drop | Edit"]]:
        """(row, Drop or Edit) of each changed row, in order."""
        for row, kind, reason, detail, lines in decision_rows(self.table):
            yield row, Drop(reason, detail) if kind == DROP else Edit(lines, detail)

    # -- the sequence of one decision a row, for tests and benchmarks ----------------
    def __len__(self) -> int:
        return self.num_rows

    def __iter__(self) -> Iterator["Drop | Edit | None"]:
        row = 0
        for at, decision in self.changes():
            while row < at:
                yield None
                row += 1
            yield decision
            row += 1
        while row < self.num_rows:
            yield None
            row += 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        index = index + self.num_rows if index < 0 else index
        if not 0 <= index < self.num_rows:
            raise IndexError(index)
        at = int(np.searchsorted(self.rows(), index))
        if at == self.changed or self.rows()[at] != index:
            return None
        return next(self.slice(index, index + 1).changes())[1]

    def __eq__(self, other) -> bool:
        if isinstance(other, Decisions):
            return self.num_rows == other.num_rows and self.table.equals(other.table)
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Decisions({self.num_rows}, {list(self.changes())!r})"


def decision_rows(table: "pa.Table | pa.RecordBatch") -> Iterator[tuple]:
    """(row, kind, reason, detail, lines) of each changed row of a `DECISIONS_SCHEMA` table, as Python values."""
    for batch in table.to_batches() if isinstance(table, pa.Table) else [table]:
        yield from zip(*(batch.column(name).to_pylist() for name in DECISIONS_SCHEMA.names))


def _column(values, dtype: pa.DataType):
    """Arrow columns as they are; anything else (a list) converted."""
    return values.cast(dtype) if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(list(values), dtype)


@dataclass
class Batch:
    """A slice of documents as columns (`id`, `text`, maybe `url`, plus stage columns).

    `drops` maps row position -> Drop; `counters` collects per-stage event counts that
    end up in the run report (e.g. `normalize.pinyin_removed`).
    """

    columns: dict[str, list[Any]]
    drops: dict[int, Drop] = field(default_factory=dict)
    counters: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.columns["text"])

    def __getitem__(self, name: str) -> list[Any]:
        return self.columns[name]

    def __setitem__(self, name: str, values: list[Any]) -> None:
        if len(values) != len(self):
            raise ValueError(f"column {name!r} has {len(values)} values for {len(self)} rows")
        self.columns[name] = values

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def drop(self, row: int, reason: str, detail: str | None = None) -> None:
        """Mark a row dropped; the first reason given for a row wins."""
        self.drops.setdefault(row, Drop(reason, detail))

    def live_rows(self) -> Iterator[int]:
        return (i for i in range(len(self)) if i not in self.drops)

    def count(self, name: str, n: int = 1) -> None:
        if n:
            self.counters[name] += n


class Stage(ABC):
    """Base class for a registered stage.

    Subclasses set `type` (the config name, also the prefix of their drop reasons) and
    `Params`, build expensive state in `__init__`, and implement `__call__`.
    `columns()` declares the output columns (name -> Arrow type) the stage adds, so the
    runner can fix the Parquet schema before seeing any data. Columns whose names start
    with `_` are internal: carried between stages but never published.
    """

    type: ClassVar[str]
    Params: ClassVar[type[StageParams]]

    def __init__(self, params: StageParams):
        self.params = params

    def columns(self) -> dict[str, pa.DataType]:
        return {}

    @abstractmethod
    def __call__(self, batch: Batch) -> Batch:
        """Process one batch; return it (the same object, changed, is fine)."""


class Keys:
    """`id` and the key columns of every live row of a global stage, in input order.

    The runner hands these over as the segment's work files; a stage reads one column at a
    time (`column`) or part by part (`parts`), so it holds only what it has copied: dedup's
    512-byte signatures read as one table and then copied into an array would be held twice.
    Tests and benchmarks pass in-memory tables (`Keys.of`).
    """

    def __init__(self, parts: Sequence[pa.Table | Any], schema: pa.Schema):
        self._parts = list(parts)  # tables, or paths of Parquet files with these columns
        self.schema = schema

    @classmethod
    def of(cls, table: pa.Table) -> "Keys":
        return cls([table], table.schema)

    @property
    def num_rows(self) -> int:
        return sum(p.num_rows if isinstance(p, pa.Table) else pq.ParquetFile(p).metadata.num_rows for p in self._parts)

    def parts(self, names: Sequence[str]) -> Iterator[pa.Table]:
        """The columns `names`, a table per part (a file's row group), in order.

        Row group by row group: pyarrow decodes a column through a scratch copy, so a whole
        file's signatures read at once would briefly take twice their size.
        """
        for part in self._parts:
            if isinstance(part, pa.Table):
                yield part.select(list(names))
                continue
            file = pq.ParquetFile(part)
            for group in range(file.num_row_groups):
                yield file.read_row_group(group, columns=list(names))

    def files(self) -> list[Any] | None:
        """The Parquet files the keys are in (in order), or None when some part is an in-memory table."""
        return None if any(isinstance(part, pa.Table) for part in self._parts) else list(self._parts)

    def column(self, name: str) -> pa.ChunkedArray:
        chunks = [chunk for table in self.parts([name]) for chunk in table[name].chunks]
        return pa.chunked_array(chunks, type=self.schema.field(name).type)


@dataclass
class GlobalContext:
    """What a global stage's `decide` may use besides the keys of this run."""

    previous_versions: list[Any]  # pathlib.Path of earlier published versions, oldest first
    artifacts_dir: Any  # pathlib.Path inside the version being built, for e.g. signatures (create it if used)
    workers: int = 1
    counters: Counter = field(default_factory=Counter)  # `<stage>.<event>` counts for the run report
    cluster: "Cluster | None" = None  # an engine's distributed primitives, when it has them (the Ray engine)


class Cluster(Protocol):
    """Distributed primitives an engine may offer a global stage's `decide` (`GlobalContext.cluster`).

    A decide that uses them is written as map and shuffle steps over blocks of its key files,
    so no one process holds every key: data stays on the cluster as opaque handles, and only
    each task's small `info` (counts, flags) comes back. Functions must be picklable
    (module-level, or `functools.partial` of one). A stage never knows which engine this is.
    """

    workers: int  # CPUs the cluster runs tasks on

    def shuffle(self, inputs: Sequence[Any], route: Callable[[Any], list[Any]],
                reduce: Callable[[int, list[Any]], tuple[Any, Any]], partitions: int) -> tuple[list[Any], list[Any]]:
        """`route(input)` splits each input (a value or a handle) into `partitions` pieces; then
        `reduce(i, pieces)` gets piece i of every input, in input order, and returns (data, info).
        Returns the handles of the data and the infos, one per partition."""

    def get(self, handles: Sequence[Any]) -> list[Any]:
        """The data behind handles, here (only for what is small: e.g. the rows a decide drops)."""


class GlobalStage(Stage):
    """A stage whose decision needs every document (dedup, line_frequency).

    `__call__` runs in the parallel map and adds the key columns (`key_columns()`);
    `decide` then sees only those keys for all live rows in input order (plus `id`),
    never the texts, and returns `Decisions`: columns holding only the rows it changes, in row
    order (a row not in them is kept unchanged):

    - a drop (`reason`, `detail`): drop it (recorded in the rejected files with its text);
    - an edit (`lines`, `detail`): keep it without the given lines (see `Edit`).

    The runner applies the decisions while it streams the rows to the next segment and
    counts them (documents and characters out of the stage, lines and characters removed).
    Decisions are made from keys alone so that a distributed engine can run `decide` as a
    shuffle: the keys are small fixed-width values grouped by key (a groupby on a hash or a
    site), and the decisions join back to the rows by position. Each stage's docstring says
    which groupbys its decision is.
    """

    @abstractmethod
    def key_columns(self) -> dict[str, pa.DataType]:
        """Internal columns (names start with `_`) that `__call__` adds and `decide` reads."""

    @abstractmethod
    def decide(self, keys: Keys, context: GlobalContext) -> Decisions:
        """The drops and edits among the rows of `keys` (`id` + key columns of every live row, in input order),
        `num_rows` = `keys.num_rows`."""
