"""Speed and memory of the `line_frequency` stage, pinned to one core (wall and CPU time).

1. Map step (line keys, records, site) over the bench corpus in batches of 500 (the
   runner's default): docs/s and MB/s of UTF-8 input; then `decide` on its keys, with the
   lines it would remove (`--show N` prints the N most frequent, and N rare ones).
2. `decide` on N synthetic counted lines (default 10,000,000): documents of 5-60 lines on
   2,000 sites, a tenth of each site's lines drawn from 30 chrome lines of that site and a
   twentieth from 200 corpus-wide chrome lines, the rest unique. The keys are written to
   Parquet and decided in a fresh process that reads them back as the runner does, so its
   peak RSS (minus the interpreter's, printed too) is the whole cost, in bytes per line.

    /work/venv/bin/python benchmarks/bench_line_frequency.py [--bench PATH] [--synthetic 10000000] [--show 30]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builder.stages import Batch, Edit, GlobalContext, Keys
from builder.stages.line_frequency import CHARS, LINES, RECORD, SITE, LineFrequency, LineFrequencyParams, _first_in_document
from common import DEFAULT_BENCH, peak_rss_mb, read_documents, status_mb


def _keys_table(stage: LineFrequency, batch: Batch) -> pa.Table:
    return pa.table({"id": batch["id"], **{c: pa.array(batch[c], t) for c, t in stage.key_columns().items()}})


def bench_corpus(path: Path, batch_size: int, show: int) -> None:
    documents = read_documents(path)
    megabytes = sum(len(d["text"].encode("utf-8")) for d in documents) / 1e6
    stage = LineFrequency(LineFrequencyParams())
    stage(Batch({"id": ["warm"], "text": ["预热一次，建好查找表。"]}))  # one-off tables, not per-batch cost
    tables = []
    wall = cpu = 0.0
    for lo in range(0, len(documents), batch_size):
        chunk = documents[lo : lo + batch_size]
        batch = Batch({"id": [d["id"] for d in chunk], "text": [d["text"] for d in chunk], "url": [d.get("url") for d in chunk]})
        started, cpu_started = time.perf_counter(), time.process_time()
        batch = stage(batch)
        wall += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        tables.append(_keys_table(stage, batch))
    for label, spent in (("map (stage call)", wall), ("map (stage call, CPU time)", cpu)):
        print(f"{label}: {len(documents)} docs, {megabytes:.1f} MB in {spent:.2f} s: "
              f"{len(documents) / spent:,.0f} docs/s, {megabytes / spent:.1f} MB/s")
    context = GlobalContext([], None)
    started = time.perf_counter()
    decisions = stage.decide(Keys(tables, tables[0].schema), context)
    seconds = time.perf_counter() - started
    removed: Counter = Counter()
    chars = 0
    for document, decision in zip(documents, decisions):
        if isinstance(decision, Edit):
            lines = document["text"].split("\n")
            for i in decision.lines:
                removed[lines[i][:60]] += 1
                chars += len(lines[i]) + 1
    total = sum(len(d["text"]) for d in documents)
    print(f"decide: {seconds:.2f} s; {sum(isinstance(d, Edit) for d in decisions)} of {len(decisions)} documents edited, "
          f"{sum(removed.values())} lines and {chars:,} of {total:,} characters ({chars / total:.2%}) removed; "
          f"{dict(context.counters)}; peak RSS {peak_rss_mb():.0f} MB")
    if show:
        print("most removed:", removed.most_common(show))
        print("removed from fewest documents:", sorted(removed.items(), key=lambda kv: kv[1])[:show])


def synthetic_keys(n_lines: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    per_doc = rng.integers(5, 61, size=n_lines // 30 + 1)
    per_doc = per_doc[: np.searchsorted(np.cumsum(per_doc), n_lines) + 1]
    per_doc[-1] -= per_doc.sum() - n_lines
    n_docs = len(per_doc)
    site = rng.integers(0, 2000, size=n_docs)
    doc = np.repeat(np.arange(n_docs), per_doc)
    records = np.empty(n_lines, dtype=RECORD)
    records["hash"] = rng.integers(0, 1 << 63, size=n_lines, dtype=np.uint64)
    kind = rng.random(n_lines)
    site_chrome = kind < 0.1
    records["hash"][site_chrome] = (site[doc[site_chrome]] * 30 + rng.integers(0, 30, size=int(site_chrome.sum()))).astype(np.uint64)
    corpus_chrome = (kind >= 0.1) & (kind < 0.15)
    records["hash"][corpus_chrome] = (1 << 40) + rng.integers(0, 200, size=int(corpus_chrome.sum())).astype(np.uint64)
    records["index"] = np.arange(n_lines) - np.repeat(np.cumsum(per_doc) - per_doc, per_doc)
    records["chars"] = rng.integers(3, 120, size=n_lines)
    records["key_chars"] = records["chars"]
    records["first"] = _first_in_document(records["hash"], doc)
    records["pad"] = 0
    chars = np.bincount(doc, weights=records["chars"] + 1, minlength=n_docs).astype(np.int64) * 3  # lines not counted too
    flat = records.tobytes()
    offsets = np.concatenate([[0], np.cumsum(per_doc) * RECORD.itemsize]).astype(np.int32)
    return pa.table({
        "id": pa.array([f"doc-{i:07d}" for i in range(n_docs)]),
        LINES: pa.Array.from_buffers(pa.binary(), n_docs, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(flat)]),
        CHARS: pa.array(chars),
        SITE: pa.array([f"site{s}.example" for s in site.tolist()]),
    })


def decide_from_parquet(path: Path) -> None:
    """Child process: read keys as the runner does and decide; report time and peak RSS."""
    stage = LineFrequency(LineFrequencyParams())
    lines = int(pq.read_schema(path).metadata[b"lines"])  # written by the parent: reading the keys here would count them in the baseline
    baseline = status_mb("VmRSS")
    context = GlobalContext([], None)
    started, cpu = time.perf_counter(), time.process_time()
    decisions = stage.decide(Keys([path], pq.read_schema(path)), context)  # read from the file, as the runner does
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = status_mb("VmHWM")
    edits = [d for d in decisions if isinstance(d, Edit)]
    print(f"decide: {lines:,} lines of {len(decisions):,} documents in {seconds:.1f} s ({cpu:.1f} s CPU); "
          f"peak RSS {peak:.0f} MB ({baseline:.0f} MB before reading the keys): "
          f"{(peak - baseline) * 2**20 / lines:.0f} bytes per line, keys table and decisions included; "
          f"{len(edits):,} documents edited, {sum(len(e.lines) for e in edits):,} lines removed; {dict(context.counters)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--synthetic", type=int, default=10_000_000, help="counted lines to decide on (0: skip)")
    parser.add_argument("--show", type=int, default=0, help="print the N most and N least frequent removed lines")
    parser.add_argument("--decide-from", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.decide_from:
        decide_from_parquet(args.decide_from)
        return
    bench_corpus(args.bench, args.batch_size, args.show)
    if args.synthetic:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "keys.parquet"
            keys = synthetic_keys(args.synthetic)
            pq.write_table(keys.replace_schema_metadata({"lines": str(args.synthetic)}), path)
            del keys
            subprocess.run([sys.executable, __file__, "--decide-from", str(path)], check=True)


if __name__ == "__main__":
    main()
