"""Speed and memory of the `dedup` stage, pinned to one core. Wall and CPU time are both
printed: on a shared machine the CPU time is the one-core cost.

1. Map step (comparison keys, exact hash, MinHash signature) over the bench corpus in
   batches of 500 (the runner's default): docs/s, MB/s of UTF-8 input, peak RSS; then
   `decide` on its keys, with the exact and near duplicates the corpus holds.
2. `decide` on N synthetic signatures (default 1,000,000): 70% independent documents, 30%
   near copies of one of them (each slot agrees with its source with probability J, J
   uniform in 0.5-1.0, as MinHash slots do) and 2% exact copies. The keys are written to
   Parquet and decided in a fresh process that reads them back as the runner does, so its
   peak RSS is the whole cost of the clustering step (keys table included).

    /work/venv/bin/python benchmarks/bench_dedup.py [--bench ../shared/bench/zh-bench-20mb.jsonl.gz] [--synthetic 1000000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builder.stages import Batch, GlobalContext, Keys
from builder.stages.dedup import EXACT, LENGTH, MINHASH, Dedup, DedupParams
from builder.text.minhash import VALUE_BITS, VALUE_DTYPE
from common import DEFAULT_BENCH, peak_rss_mb, read_documents



def bench_corpus(path: Path, batch_size: int) -> None:
    documents = read_documents(path)
    megabytes = sum(len(d["text"].encode("utf-8")) for d in documents) / 1e6
    stage = Dedup(DedupParams())
    stage(Batch({"id": ["warm"], "text": ["预热一次，建好查找表。"]}))  # one-off tables, not per-batch cost
    tables = []
    in_stage = in_stage_cpu = 0.0
    started = time.perf_counter()
    for lo in range(0, len(documents), batch_size):
        chunk = documents[lo : lo + batch_size]
        batch = Batch({"id": [d["id"] for d in chunk], "text": [d["text"] for d in chunk]})
        stage_started, stage_cpu = time.perf_counter(), time.process_time()
        batch = stage(batch)
        in_stage += time.perf_counter() - stage_started
        in_stage_cpu += time.process_time() - stage_cpu
        tables.append(pa.table({"id": batch["id"], **{c: pa.array(batch[c], t) for c, t in stage.key_columns().items()}}))
    seconds = time.perf_counter() - started
    runs = (("map (stage call)", in_stage), ("map (stage call, CPU time)", in_stage_cpu), ("map + Arrow key columns", seconds))
    for label, spent in runs:
        print(f"{label}: {len(documents)} docs, {megabytes:.1f} MB in {spent:.2f} s: "
              f"{len(documents) / spent:,.0f} docs/s, {megabytes / spent:.1f} MB/s")
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        drops = stage.decide(Keys(tables, tables[0].schema), GlobalContext([], Path(tmp)))
        seconds = time.perf_counter() - started
        summary = json.loads((Path(tmp) / "dedup.json").read_text())
    print(f"decide: {seconds:.2f} s; exact duplicates {summary['exact_duplicates']}, near duplicates "
          f"{summary['near_duplicates']}, kept {summary['kept']} of {len(drops)}; "
          f"group sizes {summary['duplicate_group_sizes']}")


def synthetic_keys(n: int, num_perm: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    signatures = rng.integers(0, 1 << VALUE_BITS, size=(n, num_perm), dtype=VALUE_DTYPE)
    exact = rng.integers(0, 1 << 63, size=(n, 2), dtype=np.uint64)
    copies = np.flatnonzero(rng.random(n) < 0.3)
    sources = (rng.random(copies.size) * copies).astype(np.int64)  # a copy of an earlier document
    jaccard = rng.uniform(0.5, 1.0, size=copies.size)
    for lo in range(0, copies.size, 1 << 16):
        part = slice(lo, lo + (1 << 16))
        agree = rng.random((copies[part].size, num_perm)) < jaccard[part, None]
        signatures[copies[part]] = np.where(agree, signatures[sources[part]], signatures[copies[part]])
    exact_copies = np.flatnonzero(rng.random(n) < 0.02)
    exact[exact_copies] = exact[exact_copies // 2]
    signatures[exact_copies] = signatures[exact_copies // 2]
    length = rng.integers(200, 20_000, size=n, dtype=np.int32)
    width = num_perm * signatures.itemsize
    return pa.table({
        "id": pa.array([f"doc-{i:07d}" for i in range(n)]),
        EXACT: pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(exact.tobytes())]),
        LENGTH: pa.array(length),
        MINHASH: pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(signatures.tobytes())]),
    })


def decide_from_parquet(path: Path) -> None:
    """Child process: read keys as the runner does and decide; report time and peak RSS."""
    stage = Dedup(DedupParams())
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu = time.perf_counter(), time.process_time()
        drops = stage.decide(Keys([path], pq.read_schema(path)), GlobalContext([], Path(tmp)))  # read from the file, as the runner does
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        summary = json.loads((Path(tmp) / "dedup.json").read_text())
    print(f"decide: {len(drops):,} signatures in {seconds:.1f} s ({cpu:.1f} s CPU); peak RSS {peak_rss_mb():.0f} MB, "
          f"keys table included; dropped {sum(d is not None for d in drops):,} "
          f"(exact {summary['exact_duplicates']:,}, near {summary['near_duplicates']:,}); "
          f"candidate pairs {summary['candidate_pairs']:,}, verified {summary['verified_pairs']:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="signatures to cluster (0: skip)")
    parser.add_argument("--decide-from", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.decide_from:
        decide_from_parquet(args.decide_from)
        return
    bench_corpus(args.bench, args.batch_size)
    if args.synthetic:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "keys.parquet"
            pq.write_table(synthetic_keys(args.synthetic, DedupParams().num_perm), path)
            subprocess.run([sys.executable, __file__, "--decide-from", str(path)], check=True)


if __name__ == "__main__":
    main()
