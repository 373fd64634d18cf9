"""`line_frequency`: remove lines that repeat across the pages of a site or of the corpus.

A line that stands on many pages of one site, or on very many pages of the corpus, is page
chrome: navigation, share bars, footers, disclaimers, `百度经验:jingyan.baidu.com`. Counting
it across documents is the signal CCNet, RefinedWeb and C4-style pipelines use, and it
catches chrome no pattern list names, in any script.

Map step (parallel, per batch): every line gets a stable 64-bit key of its counting form
(width folded, lowercased, no whitespace, digit runs collapsed: see `text/line_keys.py`);
lines whose form is shorter than `min_line_chars` are not counted and never removed. The
map emits, per document, one 20-byte record per counted line (key, line index, characters,
form length), the document's length and its site (the host of `url`, without `www.`).

Decide step (once; keys only, never texts; in the main process, or as shuffles on a cluster):
1. Copies count once: each document's fingerprint is the sum of its lines' keys mixed, so
   exact copies of a page (dedup's job, later) do not make their own lines "repeated".
2. Corpus rule: a key on >= `min_corpus_docs` distinct fingerprints is chrome.
   Site rule: a key on >= `min_site_docs` distinct fingerprints of one site, and on
   >= `min_site_share` of that site's distinct fingerprints, is chrome on that site.
   Lines of `long_line_chars` or more (prose length) need `long_line_factor` times the
   document counts, and the first document holding one (in input order) keeps it.
3. Copy guard: a document that would lose more than `max_removed_share` of its characters
   is most likely a copy or a near copy of other pages (dedup's job), not a page wrapped in
   chrome: it is left unchanged (`line_frequency.documents_guarded`).
The decision for a document is an `Edit` naming the line indices to remove; the runner
applies it while streaming the rows on.

As shuffles (an engine with a cluster, `line_frequency_cluster.py`): copies are a groupby on
the fingerprint (and on fingerprint x site), the site sizes a count by site joined back to
the blocks, rule 2 a groupby on the key and one on (key, site), and rule 3 per block. Each
rule is one function (`site_rule`, `corpus_rule`, `document_edits`) both decides call. A
group's length class and site size are taken over the whole group (they agree for one key),
never from whichever line a sort puts first, so a shuffle's order cannot change the answer;
sites are mixed into group keys by a hash of their name, the same in any block.

Memory of the decide step, per counted line: the 20-byte record, 4 bytes of document
index, 1 of length class and 1 of decision, plus while a rule runs its 8-byte sort order
and, for the site rule, the 8-byte (key, site) group key; per-group scratch is bounded by
walking the sorted lines in slices of whole groups. The lines column read from the keys
(20 bytes a line) is held until its records are copied out of it.
`benchmarks/bench_line_frequency.py` measures the total.
"""
from __future__ import annotations

import hashlib
from typing import Iterator
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from builder.stages import register
from builder.stages.base import Batch, Decisions, GlobalContext, GlobalStage, Keys, StageParams
from builder.text.line_keys import line_keys
from builder.text.minhash import mix64

_U64 = np.uint64

LINES, CHARS, SITE = "_linefreq_lines", "_linefreq_chars", "_linefreq_site"
# One counted line: its key, index in the text, length, counting-form length (capped) and whether
# it is the first line with its key in its document (1) or a repeat inside it (0).
RECORD = np.dtype([("hash", "<u8"), ("index", "<u4"), ("chars", "<u4"), ("key_chars", "<u2"), ("first", "u1"), ("pad", "u1")])
_MAX_KEY_CHARS = 0xFFFF


class LineFrequencyParams(StageParams):
    min_line_chars: int = Field(
        3,
        ge=1,
        le=200,
        description="Lines whose counting form (no whitespace, digit runs as one digit) is shorter are neither "
        "counted nor removed: `是`, `谢谢` and list markers repeat everywhere without being chrome.",
    )
    min_site_docs: int = Field(
        3, ge=2, le=1_000_000, description="Site rule: distinct documents of one host a line must stand on."
    )
    min_site_share: float = Field(
        0.1,
        gt=0.0,
        le=1.0,
        description="Site rule: share of that host's distinct documents a line must stand on as well, so a "
        "phrase three pages of a 10,000-page site happen to share is not chrome.",
    )
    min_corpus_docs: int = Field(
        5, ge=2, le=1_000_000_000, description="Corpus rule: distinct documents (any host) a line must stand on."
    )
    long_line_chars: int = Field(
        50,
        ge=1,
        le=10_000,
        description="Lines whose counting form has this many characters or more are prose-length: a repeated "
        "one is more often a syndicated or quoted paragraph than chrome, so it needs `long_line_factor` times "
        "the document counts of both rules, and its first copy in input order stays (the text is kept once).",
    )
    long_line_factor: float = Field(2.0, ge=1.0, le=1000.0, description="Multiplier of the document counts for long lines.")
    max_removed_share: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="Copy guard: a document that would lose more than this share of its characters is left "
        "unchanged (most likely a copy of other pages, which dedup removes, not chrome).",
    )
    site_from_url: bool = Field(True, description="Apply the site rule to documents whose `url` has a host.")

    @model_validator(mode="after")
    def _check(self) -> "LineFrequencyParams":
        if self.long_line_chars < self.min_line_chars:
            raise ValueError(f"long_line_chars ({self.long_line_chars}) is below min_line_chars ({self.min_line_chars})")
        return self


def site_of(url: object) -> str | None:
    """The host of `url` without a leading `www.`, lowercased; None when there is none."""
    if not isinstance(url, str) or not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


@register
class LineFrequency(GlobalStage):
    type = "line_frequency"
    Params = LineFrequencyParams
    params: LineFrequencyParams

    def key_columns(self) -> dict[str, pa.DataType]:
        return {LINES: pa.binary(), CHARS: pa.int64(), SITE: pa.string()}

    def __call__(self, batch: Batch) -> Batch:
        texts = batch["text"]
        keys = line_keys(texts)
        counted = keys.key_chars >= self.params.min_line_chars
        records = np.zeros(int(counted.sum()), dtype=RECORD)
        for name in ("hash", "index", "chars"):
            records[name] = getattr(keys, name)[counted]
        records["key_chars"] = np.minimum(keys.key_chars[counted], _MAX_KEY_CHARS)
        line_doc = keys.doc[counted]
        records["first"] = _first_in_document(records["hash"], line_doc)
        per_doc = np.bincount(line_doc, minlength=len(texts))
        ends = np.cumsum(per_doc) * RECORD.itemsize
        flat = records.tobytes()
        batch[LINES] = [flat[start:end] for start, end in zip([0, *ends[:-1].tolist()], ends.tolist())]
        batch[CHARS] = [len(t) for t in texts]
        urls = batch["url"] if "url" in batch and self.params.site_from_url else [None] * len(texts)
        batch[SITE] = [site_of(u) for u in urls]
        batch.count("line_frequency.lines_counted", len(records))
        return batch

    def decide(self, keys: Keys, context: GlobalContext) -> Decisions:
        p = self.params
        files = keys.files()
        if context.cluster is not None and files and keys.num_rows:  # an engine with a cluster: shuffles over the key files
            from builder.stages.line_frequency_cluster import decide_on_cluster

            edits = decide_on_cluster(context.cluster, files, p, context.counters)
        else:
            n = keys.num_rows
            records, doc = _records(keys.column(LINES))
            doc_chars = keys.column(CHARS).to_numpy().astype(np.int64)
            site, site_hash = site_ids(keys.column(SITE))
            chrome = chrome_lines(records, doc, site, site_hash, n, p)
            edits = document_edits(records, doc, doc_chars, chrome, p, context.counters)
        rows, lines = edits
        details = pc.binary_join_element_wise(pc.cast(pc.list_value_length(lines), pa.string()), " lines repeated across documents", "")
        return Decisions.edits(keys.num_rows, rows, lines, details)


def document_edits(records: np.ndarray, doc: np.ndarray, doc_chars: np.ndarray, chrome: np.ndarray,
                   p: LineFrequencyParams, counters) -> tuple[np.ndarray, pa.ListArray]:
    """The documents that lose lines, after the copy guard (increasing), and the line indices each loses
    (as columns: no Python object per document).

    `doc` indexes `doc_chars` (a whole run's documents, or one block's, `doc` then counted from the block's first).
    """
    n = len(doc_chars)
    removed = np.bincount(doc[chrome], weights=records["chars"][chrome].astype(np.float64) + 1, minlength=n)
    touched = np.bincount(doc[chrome], minlength=n) > 0
    guarded = touched & (removed > p.max_removed_share * (doc_chars + 1))  # each line counted with its "\n"
    counters["line_frequency.documents_guarded"] += int(guarded.sum())
    counters["line_frequency.lines_guarded"] += int(chrome[guarded[doc]].sum())
    chrome = chrome & ~guarded[doc]
    rows = np.flatnonzero(chrome)
    if not len(rows):
        return np.empty(0, np.int64), pa.array([], pa.list_(pa.int64()))
    line_doc = doc[rows]
    line_index = records["index"][rows].astype(np.int64)
    starts = np.flatnonzero(np.concatenate([[True], line_doc[1:] != line_doc[:-1]]))
    offsets = np.concatenate([starts, [len(rows)]]).astype(np.int32)
    return line_doc[starts].astype(np.int64), pa.ListArray.from_arrays(pa.array(offsets), pa.array(line_index))


def chrome_lines(records: np.ndarray, doc: np.ndarray, site: np.ndarray, site_hash: np.ndarray, n_docs: int,
                 p: LineFrequencyParams) -> np.ndarray:
    """Which counted lines are chrome under the corpus and site rules (before the copy guard).

    `records` (RECORD) and `doc` have one entry per counted line, in document order; `site`
    (-1: no site) and `site_hash` (`site_ids`) one per document. Each rule sorts the lines by
    its group key (the line's key, or key and site) once and walks the sorted order in slices
    of whole groups, so its scratch memory is bounded by the slice, not by the number of
    groups. A line counts one for its group when it is the first with its key in its document
    and that document is the first of its copies, so no order inside a group is needed.
    """
    hashes = records["hash"]
    if not len(records):
        return np.zeros(0, dtype=bool)
    fingerprint = fingerprints(hashes, doc, n_docs)
    long_line = records["key_chars"] >= p.long_line_chars
    first_in_doc = records["first"].view(bool)

    chrome = np.zeros(len(records), dtype=bool)
    if (site >= 0).any():
        canonical = first_of_copies(fingerprint ^ site_hash) & (site >= 0)  # copies on one site count once there
        site_docs = np.bincount(site[canonical], minlength=int(site.max()) + 1)
        group_key = site_hash[doc] ^ hashes
        doc_site_docs = np.where(site >= 0, site_docs[site], 0)  # distinct documents of each one's site
        chrome = site_rule(group_key, first_in_doc & canonical[doc], doc_site_docs, long_line, p, doc)
        del group_key
    corpus, keeps = corpus_rule(hashes, first_in_doc & first_of_copies(fingerprint)[doc], long_line, doc, p)
    return (chrome | corpus) & ~keeps


def site_rule(group_key: np.ndarray, counted: np.ndarray, site_docs: np.ndarray, long_line: np.ndarray,
              p: LineFrequencyParams, doc: np.ndarray | None = None) -> np.ndarray:
    """Chrome by the site rule: lines grouped by (key, site) as `group_key`; `counted` lines count one for
    their group, which must reach `site_docs` (the distinct documents of the line's site; per document of
    `doc` when given, else per line) times the share."""
    chrome = np.zeros(len(group_key), dtype=bool)
    for rows, first in _sorted_groups(group_key):
        counts = np.add.reduceat(counted[rows], first, dtype=np.int64)
        line_site_docs = site_docs[rows] if doc is None else site_docs[doc[rows]]
        # A group's lines share their site and length class (one key); taken over the group, not from
        # whichever line sorts first, so that no order (of a sort, of a shuffle) can change the answer.
        need = np.maximum(p.min_site_docs, p.min_site_share * np.maximum.reduceat(line_site_docs, first))
        need = np.where(np.maximum.reduceat(long_line[rows], first), need * p.long_line_factor, need)
        chrome[rows] = np.repeat(counts >= need, np.diff(np.append(first, len(rows))))
    return chrome


def corpus_rule(hashes: np.ndarray, counted: np.ndarray, long_line: np.ndarray, doc: np.ndarray,
                p: LineFrequencyParams) -> tuple[np.ndarray, np.ndarray]:
    """Chrome by the corpus rule (lines grouped by key), and the lines that stay whatever the rules say:
    a prose-length line's lines in the first document (in input order) holding it."""
    chrome = np.zeros(len(hashes), dtype=bool)
    keep = np.zeros(len(hashes), dtype=bool)
    for rows, first in _sorted_groups(hashes):
        counts = np.add.reduceat(counted[rows], first, dtype=np.int64)
        sizes = np.diff(np.append(first, len(rows)))
        need = np.where(np.maximum.reduceat(long_line[rows], first), p.min_corpus_docs * p.long_line_factor, p.min_corpus_docs)
        chrome[rows] = np.repeat(counts >= need, sizes)
        # A prose-length line keeps its first copy (in input order): a paragraph that many pages
        # quote or syndicate is text worth having once; only its repeats are removed. Chrome is
        # short, and goes everywhere.
        holder = doc[rows]
        keep[rows[(holder == np.repeat(np.minimum.reduceat(holder, first), sizes)) & long_line[rows]]] = True
    return chrome, keep


def _sorted_groups(group_key: np.ndarray, slice_lines: int = 1 << 20) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The lines sorted by group key, in slices of about `slice_lines` that never split a group:
    each slice's line indices and the positions in it where a group starts."""
    order = np.argsort(group_key)
    n, start = len(order), 0
    while start < n:
        end = min(start + slice_lines, n)
        if end < n:  # extend to the end of the group the slice would cut
            last, step = group_key[order[end - 1]], 1024
            while end < n:
                differs = group_key[order[end : end + step]] != last
                if differs.any():
                    end += int(differs.argmax())
                    break
                end, step = min(end + step, n), step * 2
        rows = order[start:end]
        keys = group_key[rows]
        starts = np.ones(len(rows), dtype=bool)
        starts[1:] = keys[1:] != keys[:-1]
        yield rows, np.flatnonzero(starts)
        start = end


def _first_in_document(hashes: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """1 for each line that is the first with its key in its document, 0 for a repeat in it."""
    _, first_seen = np.unique(hashes ^ mix64(doc.astype(np.uint64)), return_index=True)
    first = np.zeros(len(hashes), dtype=np.uint8)
    first[first_seen] = 1
    return first


def fingerprints(hashes: np.ndarray, doc: np.ndarray, n_docs: int, first_doc: int = 0) -> np.ndarray:
    """A 64-bit fingerprint per document: the wrapping sum of its counted lines' keys, mixed.

    Exact copies (and pages differing only in whitespace, numbers or uncounted lines) share
    it. A document with no counted line gets one of its own (its number, from `first_doc` for a block).
    """
    fingerprint = np.arange(first_doc, first_doc + n_docs, dtype=np.uint64) | np.uint64(1 << 63)
    present = np.flatnonzero(np.bincount(doc, minlength=n_docs))
    if len(present):
        with np.errstate(over="ignore"):
            fingerprint[present] = mix64(np.add.reduceat(mix64(hashes.copy()), np.searchsorted(doc, present)))
    return fingerprint


def first_of_copies(fingerprint: np.ndarray) -> np.ndarray:
    """True for each document that is the first (in input order) with its fingerprint."""
    _, first = np.unique(fingerprint, return_index=True)
    canonical = np.zeros(len(fingerprint), dtype=bool)
    canonical[first] = True
    return canonical


def _records(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The per-line records of every document, concatenated into one array, and the document of each."""
    sizes = pc.binary_length(column).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if (sizes % RECORD.itemsize).any():
        raise ValueError(f"{LINES}: a row's length is not a multiple of {RECORD.itemsize} bytes")
    per_doc = sizes // RECORD.itemsize
    records = np.empty(int(per_doc.sum()), dtype=RECORD)
    raw = records.view(np.uint8)
    at = 0
    for chunk in column.chunks:
        if not pa.types.is_binary(chunk.type):
            chunk = chunk.cast(pa.binary())
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
        size = int(offsets[-1] - offsets[0])
        if size:
            raw[at : at + size] = np.frombuffer(chunk.buffers()[2], dtype=np.uint8, count=size, offset=int(offsets[0]))
        at += size
    return records, np.repeat(np.arange(len(per_doc), dtype=np.int32), per_doc)


def site_ids(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Per document, a small integer per distinct site (first-seen order; -1 for none) and the site's hash.

    The hash mixes the site into its lines' group keys: made from the name (`site_hash`), not
    the number, so that a block of the documents alone gives every site the same one.
    """
    if not len(column):
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.uint64)
    encoded = pc.dictionary_encode(column.combine_chunks())
    ids = encoded.indices.fill_null(-1).to_numpy().astype(np.int32)
    hashes = np.append(site_hash(encoded.dictionary.to_pylist()), _NO_SITE)
    return ids, hashes[ids]


_NO_SITE = np.uint64(0)


def site_hash(sites: list[str]) -> np.ndarray:
    """A well-mixed 64-bit hash of each site's name (never 0, which documents without a site get)."""
    raw = np.array([int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little") for s in sites], dtype=np.uint64)
    return np.maximum(mix64(raw), np.uint64(1))
