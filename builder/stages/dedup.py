"""`dedup`: exact and near-duplicate removal for Chinese, within a version and across versions.

Map step (parallel, per batch): each text becomes a comparison key (punctuation width folded,
whitespace removed), from which come a 128-bit exact hash, the key's length in characters
and a MinHash signature of its character n-grams (Chinese has no spaces to split words on).

Decide step (once, main process): sees only ids and those keys, never texts. Exact copies
keep the first in input order. Near duplicates are found by LSH banding, verified by the
estimated Jaccard of their signatures and clustered with union-find; in each cluster the
best document by `keep` is kept and the documents similar to it are dropped, in rounds
until every member is kept or dropped in favour of a document it is similar to. Documents
of earlier published versions come before this run's in that order and are never dropped,
so a new document that copies one is dropped with `<version>:<id>` of the published one.
The kept documents' keys, and a summary for the dataset card, go to `artifacts_dir` for the
versions that come after.

Memory of the decide step, per document (published ones included): num_perm bytes of
signature, 16 of exact hash, 4 of length and about six 8-byte row indexes (parents,
keepers, ...), so about 580 bytes with the defaults, plus about 40 bytes of scratch per
band while it is read, and this run's ids. Keys are read a column (signatures: a row
group) at a time, so the signatures are held once.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from builder.stages import register
from builder.stages.base import Batch, Drop, GlobalContext, GlobalStage, Keys, StageParams
from builder.text.chars import WIDTH_FOLD
from builder.text.minhash import SCHEME, VALUE_DTYPE, minhash_signatures, to_codepoints
from builder.text.minhash_lsh import ClusterStats, keepers, near_duplicate_clusters

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
        previous = _PreviousKeys.load(context.previous_versions, p) if p.cross_version else _PreviousKeys(p.num_perm)
        n_prev, n = previous.size, keys.num_rows
        total = n_prev + n
        exact = np.empty((total, 2), dtype=np.uint64)
        exact[:n_prev] = previous.exact
        _fill_fixed_binary(exact[n_prev:], keys.column(EXACT))
        length = np.concatenate([previous.length, keys.column(LENGTH).to_numpy().astype(np.int32)])
        ids = keys.column("id")
        rows = np.arange(total, dtype=np.int64)

        representative = _first_equal_rows(exact) if p.exact else rows.copy()
        is_exact_copy = representative != rows
        # Exact copies point at their first copy; near copies at a kept document they are similar to.
        keeper = representative.copy()
        stats = None
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
            near_keeper = keepers(labels, signatures, _priority(length, n_prev, p.keep), accept_at, stats)
            keeper[~is_exact_copy] = near_keeper[~is_exact_copy]
            groups = near_keeper[representative[n_prev:]]
        else:
            groups = representative[n_prev:]

        current = slice(n_prev, total)
        dropped = np.flatnonzero(keeper[current] != rows[current])
        kept_rows = keeper[current][dropped]
        reasons = np.where(is_exact_copy[current][dropped], "dedup.exact", "dedup.near")
        details = previous.describe(kept_rows, ids)
        if signatures is not None:  # a near copy's detail carries how near: the estimated Jaccard of the pair
            for i in np.flatnonzero(reasons == "dedup.near").tolist():
                similarity = float(np.mean(signatures[n_prev + dropped[i]] == signatures[kept_rows[i]]))
                details[i] = f"{details[i]} (Jaccard ~{similarity:.2f})"
        out: list[Drop | None] = [None] * n
        for row, reason, detail in zip(dropped.tolist(), reasons.tolist(), details):
            out[row] = Drop(reason, detail)

        kept = np.ones(n, dtype=bool)
        kept[dropped] = False
        summary = {
            "params": p.model_dump(),
            "key_scheme": KEY_SCHEME,
            "signature_scheme": SCHEME,
            "documents": n,
            "kept": int(kept.sum()),
            "exact_duplicates": int((reasons == "dedup.exact").sum()),
            "near_duplicates": int((reasons == "dedup.near").sum()),
            "duplicates_of_previous_versions": int((kept_rows < n_prev).sum()),
            "previous_versions": previous.versions,
            "previous_versions_without_keys": previous.missing,
            "duplicate_group_sizes": {str(k): v for k, v in sorted(_group_size_histogram(groups, n_prev).items())},
            **asdict(stats or ClusterStats()),
        }
        current_signatures = signatures[n_prev:] if signatures is not None else None
        # Read again rather than held through the decide: 20 bytes a document from disk, once.
        base = pa.table({"id": ids, "exact": keys.column(EXACT), "length": keys.column(LENGTH)})
        _write_artifacts(Path(context.artifacts_dir), base, current_signatures, np.flatnonzero(kept), summary)
        return out


def _write_artifacts(directory: Path, keys: pa.Table, signatures: np.ndarray | None, kept: np.ndarray, summary: dict) -> None:
    """Keys (id, exact, length) of the kept documents, for later versions; signatures go in slices, never copied whole."""
    directory.mkdir(parents=True, exist_ok=True)
    base = keys.take(pa.array(kept, type=pa.int64()))
    schema = base.schema
    if signatures is not None:
        width = signatures.dtype.itemsize * signatures.shape[1]
        schema = schema.append(pa.field("minhash", pa.binary(width)))
    with pq.ParquetWriter(directory / SIGNATURES_FILE, schema) as writer:
        for start in range(0, max(len(kept), 1), ARTIFACT_ROWS_PER_GROUP):
            part = base.slice(start, ARTIFACT_ROWS_PER_GROUP)
            if signatures is not None:
                block = np.ascontiguousarray(signatures[kept[start : start + ARTIFACT_ROWS_PER_GROUP]])
                minhash = pa.FixedSizeBinaryArray.from_buffers(schema.field("minhash").type, len(block), [None, pa.py_buffer(block)])
                part = part.append_column(schema.field("minhash"), minhash)
            writer.write_table(part)
    (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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


def _priority(length: np.ndarray, n_prev: int, keep: str) -> np.ndarray:
    """Rank of each row for being kept: published rows first, then by the `keep` policy."""
    rows = np.arange(len(length))
    if keep == "first":
        return rows
    order = np.lexsort((rows, -length.astype(np.int64), rows >= n_prev))
    rank = np.empty_like(rows)
    rank[order] = rows
    return rank


def _group_size_histogram(labels: np.ndarray, n_prev: int) -> dict[int, int]:
    """{documents in a group: number of groups}, for groups of two or more.

    A group is one kept document (of this run or published) and this run's exact and near
    copies dropped in its favour; `labels` holds the group of each row of this run.
    """
    label, sizes = np.unique(labels, return_counts=True)
    sizes += label < n_prev
    size, count = np.unique(sizes[sizes > 1], return_counts=True)
    return dict(zip(size.tolist(), count.tolist()))


class _PreviousKeys:
    """The kept documents' keys of earlier published versions, oldest first."""

    def __init__(self, num_perm: int):
        self.versions: list[str] = []
        self.missing: list[str] = []
        self.ids = pa.chunked_array([], pa.string())
        self.version_index = np.empty(0, dtype=np.int32)
        self.exact = np.empty((0, 2), dtype=np.uint64)
        self.length = np.empty(0, dtype=np.int32)
        self.signatures = np.empty((0, num_perm), dtype=VALUE_DTYPE)
        self.has_signature = np.empty(0, dtype=bool)

    @property
    def size(self) -> int:
        return len(self.length)

    @classmethod
    def load(cls, version_dirs: list, params: DedupParams) -> "_PreviousKeys":
        found = cls(params.num_perm)
        ids, version_index, exact, length, signatures, has_signature = [], [], [], [], [], []
        for version_dir in map(Path, version_dirs):
            keys_file = version_dir / "dedup" / SIGNATURES_FILE
            if not keys_file.exists():
                found.missing.append(version_dir.name)
                continue
            summary = json.loads((version_dir / "dedup" / SUMMARY_FILE).read_text())
            _check_compatible(version_dir.name, summary, params)
            table = pq.read_table(keys_file)
            rows = table.num_rows
            ids.append(table["id"])
            version_index.append(np.full(rows, len(found.versions), dtype=np.int32))
            found.versions.append(version_dir.name)
            exact.append(np.empty((rows, 2), dtype=np.uint64))
            _fill_fixed_binary(exact[-1], table["exact"])
            length.append(table["length"].to_numpy().astype(np.int32))
            signatures.append(np.zeros((rows, params.num_perm), dtype=VALUE_DTYPE))
            has_signature.append(np.full(rows, "minhash" in table.column_names))
            if has_signature[-1].any():
                _fill_fixed_binary(signatures[-1], table["minhash"])
        if found.versions:
            found.ids = pa.chunked_array([chunk for column in ids for chunk in column.chunks], pa.string())
            found.version_index = np.concatenate(version_index)
            found.exact = np.concatenate(exact)
            found.length = np.concatenate(length)
            found.signatures = np.concatenate(signatures)
            found.has_signature = np.concatenate(has_signature)
        return found

    def describe(self, kept_rows: np.ndarray, current_ids: pa.ChunkedArray) -> list[str]:
        """The kept document of each row: its id, or `<version>:<id>` when it is published."""
        published = kept_rows < self.size
        details = pc.take(current_ids, pa.array(np.where(published, 0, kept_rows - self.size))).to_pylist()
        for i in np.flatnonzero(published).tolist():
            row = int(kept_rows[i])
            details[i] = f"{self.versions[self.version_index[row]]}:{self.ids[row].as_py()}"
        return details


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
