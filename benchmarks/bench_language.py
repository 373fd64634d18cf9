"""Speed of the `language` stage on the bench corpus, one core, and what its sampling costs in accuracy.

Prints docs/s, MB/s (UTF-8 bytes of input text per second) and peak RSS for the stage
with default params, by CPU time of the one process (best of `--repeat` runs: other work on
the machine adds noise to wall time, which is printed too),
then runs it again reading whole documents instead of a sample wherever it runs
langdetect, and prints how many labels differ.

    /work/venv/bin/python benchmarks/bench_language.py [--bench ../shared/bench/zh-bench-20mb.jsonl.gz]
"""
from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

from builder.stages.base import Batch
from builder.stages.language import Language, LanguageParams
from common import DEFAULT_BENCH, peak_rss_mb, read_documents

# langdetect reads at most 10,000 characters of what it is given: "whole" means that much.
WHOLE_DOCUMENT = 10**9


def run_stage(stage: Language, documents: list[dict], batch_size: int) -> tuple[float, float, list[str], Counter, Counter]:
    langs: list[str] = []
    counters: Counter = Counter()
    reasons: Counter = Counter()
    start, start_cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(documents), batch_size):
        chunk = documents[first : first + batch_size]
        batch = stage(Batch({"id": [d["id"] for d in chunk], "text": [d["text"] for d in chunk]}))
        langs.extend(batch["lang"])
        counters.update(batch.counters)
        reasons.update(drop.reason for drop in batch.drops.values())
    return time.process_time() - start_cpu, time.perf_counter() - start, langs, counters, reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})

    documents = read_documents(args.bench)
    megabytes = sum(len(d["text"].encode("utf-8")) for d in documents) / 1e6
    stage = Language(LanguageParams())  # loads langdetect's profiles once, as a worker does
    cpu_seconds, seconds, langs, counters, reasons = min(
        (run_stage(stage, documents, args.batch_size) for _ in range(args.repeat)), key=lambda run: run[0]
    )
    peak_mb = peak_rss_mb()
    print(f"documents: {len(documents)}  input: {megabytes:.1f} MB  batch size: {args.batch_size}  one core")
    print(f"language stage: {cpu_seconds:.2f} s CPU  {len(documents) / cpu_seconds:,.0f} docs/s  "
          f"{megabytes / cpu_seconds:.1f} MB/s  peak RSS {peak_mb:.0f} MB  (best of {args.repeat}; "
          f"wall {seconds:.2f} s = {megabytes / seconds:.1f} MB/s)")
    print("counters:", dict(sorted(counters.items())))
    print("drops:", dict(sorted(reasons.items())))

    whole = Language(LanguageParams(sample_chars=WHOLE_DOCUMENT))
    whole_seconds, _, whole_langs, _, _ = run_stage(whole, documents, args.batch_size)
    differ = sum(a != b for a, b in zip(langs, whole_langs))
    print(f"langdetect on whole documents instead of a sample: {whole_seconds:.2f} s CPU; "
          f"{differ} of {counters['language.detector_runs']} detected documents get a different label")


if __name__ == "__main__":
    main()
