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
versions that come after (`dedup_keys.py`).

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
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from builder.stages import register
from builder.stages.base import Batch, Decisions, GlobalContext, GlobalStage, Keys, StageParams
from builder.stages.dedup_keys import EXACT, KEY_SCHEME, LENGTH, MINHASH, PublishedKeys, _fill_fixed_binary, _write_artifacts
from builder.text.chars import WIDTH_FOLD
from builder.text.minhash import SCHEME, VALUE_DTYPE, minhash_signatures, to_codepoints
from builder.text.minhash_lsh import ClusterStats, agreement, keepers, near_duplicate_clusters

_WHITESPACE = 0xFFFFFFFF  # marks code points the comparison key leaves out


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

    def decide(self, keys: Keys, context: GlobalContext) -> Decisions:
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


def _finish(p: DedupParams, keys: Keys, published: "PublishedKeys", outcome: Outcome, artifacts_dir: Path) -> Decisions:
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
    out = Decisions.drops(n, dropped, reasons.tolist(), details)

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
