"""`dedup`: exact and near-duplicate removal for Chinese, within a version and across versions.

Map step (parallel, per batch): each text becomes a comparison key (punctuation width folded,
whitespace removed), from which come a 128-bit exact hash, the key's length in characters
and a MinHash signature of its character n-grams (Chinese has no spaces to split words on).

Decide step (once; sees only ids and those keys, never texts): in the main process, or, when
the engine offers a cluster (Ray), as shuffles over the key files (`dedup_cluster.py`), which
give the same decisions from the same steps (`text/minhash_lsh.py`). Exact copies
keep the first in input order. Near duplicates are found by LSH banding, verified by the
estimated Jaccard of their signatures and clustered with union-find; in each cluster the
best document by `keep` is kept and the documents similar to it are dropped, in rounds
until every member is kept or dropped in favour of a document it is similar to. Documents
of earlier published versions come before this run's in that order and are never dropped,
so a new document that copies one is dropped with `<version>:<id>` of the published one.
The kept documents' keys, and a summary for the dataset card, go to `artifacts_dir` for the
versions that come after.

Memory of the decide step in one process, per document (published ones included): num_perm
bytes of signature, 16 of exact hash, 4 of length and about six 8-byte row indexes (parents,
keepers, ...), so about 580 bytes with the defaults, plus about 40 bytes of scratch per band
while it is read, and 8 bytes per distinct candidate pair. Keys are read a column
(signatures: a row group) at a time, so the signatures are held once. On a cluster, see
`dedup_cluster.py`. Either way `_finish` then holds only arrays of the dropped rows and their
ids, and writes the artifacts part by part (one row group read and one 100,000-row slice).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from builder.stages import register
from builder.stages.base import Batch, Drop, GlobalContext, GlobalStage, Keys, StageParams
from builder.text.chars import WIDTH_FOLD
from builder.text.minhash import SCHEME, VALUE_DTYPE, minhash_signatures, to_codepoints
from builder.text.minhash_lsh import ClusterStats, agreement, keepers, near_duplicate_clusters

# Bumped whenever comparison_keys or the exact hash changes: exact hashes of earlier versions must match it.
KEY_SCHEME = "width-fold-no-whitespace-utf32-v1"
SIGNATURES_FILE = "signatures.parquet"
ARTIFACT_ROWS_PER_GROUP = 100_000  # 51 MB of 512-slot signatures per slice written
SUMMARY_FILE = "dedup.json"
_WHITESPACE = 0xFFFFFFFF  # marks code points the comparison key leaves out
EXACT, LENGTH, MINHASH = "_dedup_exact", "_dedup_length", "_dedup_minhash"


class DedupParams(StageParams):
    exact: bool = Field(True, description="Drop exact copies of the comparison key (width-folded, no whitespace).")
    near: bool = Field(True, description="Drop near duplicates found with MinHash LSH.")
    ngram: int = Field(
        5,
        ge=2,
        le=16,
        description="Characters per shingle. 5 Chinese characters span two to three words: short enough that a "
        "changed date spoils few shingles, long enough that unrelated texts share almost none.",
    )
    num_perm: int = Field(
        512,
        description="Signature slots (power of two), one byte each per document. The Jaccard estimate's standard "
        "deviation at 0.7 is sqrt(0.7 * 0.3 / 512) = 0.020.",
    )
    bands: int = Field(64, ge=1, description="LSH bands; bands x rows <= num_perm.")
    rows: int = Field(
        6,
        ge=1,
        description="Slots per band. With 64 x 6 a pair becomes a candidate with probability 0.9997 at Jaccard "
        "0.7, 0.63 at 0.5 and 0.05 at 0.3 (1 - (1 - J^rows)^bands): the band step loses almost nothing at the "
        "threshold and verification sees few unrelated pairs.",
    )
    threshold: float = Field(
        0.7, gt=0.0, le=1.0, description="Jaccard of character n-grams from which two texts are duplicates."
    )
    margin: float = Field(
        0.02,
        ge=0.0,
        lt=0.3,
        description="A pair is verified when its estimated Jaccard reaches threshold + margin: one standard "
        "deviation of the estimate, so pairs just below the threshold are rarely dropped (precision) at the cost "
        "of some just above it (recall).",
    )
    keep: Literal["first", "longest"] = Field(
        "first", description="Which document of a near-duplicate cluster survives (longest: ties go to the first)."
    )
    cross_version: bool = Field(
        True, description="Also drop documents that duplicate a document of an earlier published version."
    )

    @model_validator(mode="after")
    def _check_shape(self) -> "DedupParams":
        if self.num_perm < 16 or self.num_perm & (self.num_perm - 1):
            raise ValueError(f"num_perm must be a power of two >= 16, got {self.num_perm}")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self


@lru_cache(maxsize=1)
def _comparison_table() -> np.ndarray:
    """Code point -> its comparison form for the BMP (whitespace -> `_WHITESPACE`)."""
    table = np.arange(0x10000, dtype=np.uint32)
    for code in range(0x10000):
        folded = chr(code).translate(WIDTH_FOLD)
        table[code] = _WHITESPACE if folded.isspace() else ord(folded)
    return table


def comparison_keys(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The texts as dedup compares them: punctuation width folded, all whitespace removed.

    Returned as concatenated code points and lengths (the form `minhash_signatures` takes).
    Chinese does not separate words with spaces, so whitespace differences (line breaks of
    a mirror, U+3000 indents) say nothing about whether two texts are the same. Done on
    code point arrays because `str.translate` over every character is the slowest part of
    the map step otherwise.
    """
    codepoints, lengths = to_codepoints(texts)
    # Every whitespace character and every WIDTH_FOLD key is in the BMP.
    folded = _comparison_table()[np.minimum(codepoints, 0xFFFF)]
    folded = np.where(codepoints > 0xFFFF, codepoints, folded)
    kept = folded != _WHITESPACE
    text_index = np.repeat(np.arange(len(texts)), lengths)
    return folded[kept], np.bincount(text_index[kept], minlength=len(texts))


@register
class Dedup(GlobalStage):
    type = "dedup"
    Params = DedupParams
    params: DedupParams

    def key_columns(self) -> dict[str, pa.DataType]:
        columns = {EXACT: pa.binary(16), LENGTH: pa.int32()}
        if self.params.near:
            columns[MINHASH] = pa.binary(self.params.num_perm * np.dtype(VALUE_DTYPE).itemsize)
        return columns

    def __call__(self, batch: Batch) -> Batch:
        codepoints, lengths = comparison_keys(batch["text"])
        ends = np.cumsum(lengths).tolist()
        key_bytes = codepoints.tobytes()
        batch[EXACT] = [
            hashlib.blake2b(key_bytes[4 * start : 4 * end], digest_size=16).digest()
            for start, end in zip([0, *ends[:-1]], ends)
        ]
        batch[LENGTH] = lengths.tolist()
        if self.params.near:
            signatures = minhash_signatures(codepoints, lengths, self.params.ngram, self.params.num_perm)
            width = signatures.shape[1] * signatures.itemsize
            flat = signatures.tobytes()
            batch[MINHASH] = [flat[i : i + width] for i in range(0, len(flat), width)]
            batch.count("dedup.too_short_for_near", int((lengths < self.params.ngram).sum()))
        return batch

    def decide(self, keys: Keys, context: GlobalContext) -> list[Drop | None]:
        p = self.params
        published = PublishedKeys.find(context.previous_versions, p) if p.cross_version else PublishedKeys()
        files = keys.files()
        if context.cluster is not None and files and keys.num_rows:  # an engine with a cluster: shuffles over the key files
            from builder.stages.dedup_cluster import decide_on_cluster

            outcome = decide_on_cluster(context.cluster, files, published, p)
        else:
            outcome = self._decide_here(keys, published)
        return _finish(p, keys, published, outcome, Path(context.artifacts_dir))

    def _decide_here(self, keys: Keys, published: "PublishedKeys") -> "Outcome":
        """The decision in this process, on every key at once (see the module docstring for its memory)."""
        p = self.params
        previous = published.load(p.num_perm, p.near)
        n_prev, n = published.size, keys.num_rows
        total = n_prev + n
        exact = np.empty((total, 2), dtype=np.uint64)
        exact[:n_prev] = previous.exact
        _fill_fixed_binary(exact[n_prev:], keys.column(EXACT))
        length = np.concatenate([previous.length, keys.column(LENGTH).to_numpy().astype(np.int32)])
        rows = np.arange(total, dtype=np.int64)

        representative = _first_equal_rows(exact) if p.exact else rows.copy()
        is_exact_copy = representative != rows
        # Exact copies point at their first copy; near copies at a kept document they are similar to.
        keeper = representative.copy()
        group_of = rows
        stats = ClusterStats()
        signatures = None
        if p.near:
            signatures = np.empty((total, p.num_perm), dtype=VALUE_DTYPE)
            signatures[:n_prev] = previous.signatures
            previous.signatures = None  # copied: do not hold published signatures twice
            start = n_prev
            for part in keys.parts([MINHASH]):
                _fill_fixed_binary(signatures[start : start + part.num_rows], part[MINHASH])
                start += part.num_rows
            searchable = ~is_exact_copy & (length >= p.ngram)
            searchable[:n_prev] &= previous.has_signature
            accept_at = p.threshold + p.margin
            labels, stats = near_duplicate_clusters(signatures, searchable, p.bands, p.rows, accept_at)
            group_of = keepers(labels, signatures, priority(length, rows, n_prev, p.keep), accept_at, stats)
            keeper[~is_exact_copy] = group_of[~is_exact_copy]

        dropped = np.flatnonzero(keeper[n_prev:] != rows[n_prev:])
        kept_rows = keeper[n_prev + dropped]
        exact_copy = is_exact_copy[n_prev + dropped]
        similarity = np.zeros(dropped.size)
        if signatures is not None:  # a near copy's detail carries how near: the share of equal slots of the pair
            near = np.flatnonzero(~exact_copy)
            similarity[near] = agreement(signatures, n_prev + dropped[near], signatures, kept_rows[near])
        return Outcome(dropped, kept_rows, exact_copy, similarity, group_of[representative[n_prev + dropped]], stats)


@dataclass
class Outcome:
    """A dedup decision, whichever engine made it: this run's dropped rows only.

    Rows are numbered with the published documents first (`PublishedKeys`), then this run's.
    """

    dropped: np.ndarray  # positions among this run's rows, increasing
    kept_rows: np.ndarray  # the row each is dropped in favour of (exact copies: the first copy)
    exact: np.ndarray  # True for an exact copy, False for a near one
    similarity: np.ndarray  # near copies: share of equal signature slots with kept_rows
    groups: np.ndarray  # the kept document of each one's duplicate group (an exact copy's first copy may be a near copy)
    stats: ClusterStats


def _finish(p: DedupParams, keys: Keys, published: "PublishedKeys", outcome: Outcome, artifacts_dir: Path) -> list[Drop | None]:
    """Decisions, the summary and the artifacts from an outcome: one place for both engines' decides.

    Reads this run's ids (and the published ones) only at the rows it names, and the keys
    again for the artifacts, part by part: it holds a few arrays of the dropped rows.
    """
    n, n_prev = keys.num_rows, published.size
    dropped, kept_rows = outcome.dropped, outcome.kept_rows
    reasons = np.where(outcome.exact, "dedup.exact", "dedup.near")
    details = published.describe(kept_rows, keys)
    if p.near:
        for i in np.flatnonzero(~outcome.exact).tolist():
            details[i] = f"{details[i]} (Jaccard ~{float(outcome.similarity[i]):.2f})"
    out: list[Drop | None] = [None] * n
    for row, reason, detail in zip(dropped.tolist(), reasons.tolist(), details):
        out[row] = Drop(reason, detail)

    _, members = np.unique(outcome.groups, return_counts=True)  # a group: its kept document and the copies dropped for it
    sizes, count = np.unique(members + 1, return_counts=True)
    summary = {
        "params": p.model_dump(),
        "key_scheme": KEY_SCHEME,
        "signature_scheme": SCHEME,
        "documents": n,
        "kept": n - int(dropped.size),
        "exact_duplicates": int(outcome.exact.sum()),
        "near_duplicates": int((~outcome.exact).sum()),
        "duplicates_of_previous_versions": int((kept_rows < n_prev).sum()),
        "previous_versions": published.versions,
        "previous_versions_without_keys": published.missing,
        "duplicate_group_sizes": {str(k): v for k, v in zip(sizes.tolist(), count.tolist())},
        **asdict(outcome.stats),
    }
    _write_artifacts(artifacts_dir, keys, p.near, dropped, summary)
    return out


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


def _first_equal_rows(exact: np.ndarray) -> np.ndarray:
    """For each row, the first row with the same 128-bit hash (itself when it is the first)."""
    order = np.lexsort((exact[:, 1], exact[:, 0]))
    sorted_hash = exact[order]
    run_start = np.ones(len(order), dtype=bool)
    run_start[1:] = (sorted_hash[1:] != sorted_hash[:-1]).any(axis=1)
    first = order[run_start][np.cumsum(run_start) - 1]
    representative = np.empty(len(order), dtype=np.int64)
    representative[order] = first
    return representative


def priority(length: np.ndarray, rows: np.ndarray, n_prev: int, keep: str) -> np.ndarray:
    """Rank of each of `rows` (any set, e.g. some whole clusters) for being kept: published rows first, then by `keep`."""
    if keep == "first":
        return rows
    order = np.lexsort((rows, -length.astype(np.int64), rows >= n_prev))
    rank = np.empty(rows.size, dtype=np.int64)
    rank[order] = np.arange(rows.size)
    return rank


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
