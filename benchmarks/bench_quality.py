"""Speed of the `quality` stage on the bench corpus, one core, and what its defaults drop there.

Prints docs/s, MB/s (UTF-8 bytes of input text per second) and peak RSS for the stage, as
it runs in the pipeline: after `normalize`, so the `mojibake_ratio` column is present (it is
filled with zeros here, outside the timing, so that normalize's cost is not counted). With
`--signals` it also prints quantiles of every signal on the bench and the share of documents
each document rule would drop, which is the measurement behind the defaults.

    /work/venv/bin/python benchmarks/bench_quality.py [--bench ../shared/bench/zh-bench-20mb.jsonl.gz]
        [--config configs/zh.yaml] [--batch-size 500] [--repeat 3] [--signals] [--profile]

Without `--config` the stage runs with its own defaults; with it, with the recipe's `quality` params
(the flagship's include the line model).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import Counter
from pathlib import Path

import numpy as np

from builder.config import load_config
from builder.stages.base import Batch
from builder.stages.quality import Quality, QualityParams
from common import DEFAULT_BENCH, peak_rss_mb, read_texts

QUANTILES = (0.01, 0.05, 0.5, 0.95, 0.99, 0.999)


def batches(texts: list[str], size: int) -> list[dict[str, list]]:
    return [
        {"id": list(range(first, first + len(texts[first : first + size]))), "text": texts[first : first + size],
         "mojibake_ratio": [0.0] * len(texts[first : first + size])}
        for first in range(0, len(texts), size)
    ]  # fmt: skip


def run(stage: Quality, chunks: list[dict[str, list]]) -> tuple[float, float, Counter, list[Batch]]:
    counters: Counter = Counter()
    outputs = []
    wall, cpu = time.perf_counter(), time.process_time()
    for columns in chunks:
        batch = stage(Batch({name: list(values) for name, values in columns.items()}))
        counters.update(batch.counters)
        counters.update(drop.reason for drop in batch.drops.values())
        outputs.append(batch)
    return time.perf_counter() - wall, time.process_time() - cpu, counters, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--config", type=Path, help="take the quality params from this recipe's `quality` stage")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the fastest is reported")
    parser.add_argument("--signals", action="store_true", help="print signal quantiles and drop shares per rule")
    parser.add_argument("--profile", action="store_true", help="print the top functions by cumulative time")
    args = parser.parse_args()

    texts = read_texts(args.bench)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{len(texts):,} documents, {megabytes:.1f} MB of UTF-8 text from {args.bench}")
    chunks = batches(texts, args.batch_size)
    params = QualityParams()
    if args.config:
        params = next(s.params for s in load_config(args.config).stages if s.type == "quality")
    stage = Quality(params)
    profiler = cProfile.Profile() if args.profile else None
    timings = []
    for _ in range(args.repeat):
        if profiler:
            profiler.enable()
        wall, cpu, counters, _ = run(stage, chunks)
        if profiler:
            profiler.disable()
        timings.append((wall, cpu))
    wall, cpu = min(timings)
    print(
        f"quality ({args.config or 'defaults'}, batch {args.batch_size}): {len(texts) / wall:,.0f} docs/s, {megabytes / wall:.1f} MB/s "
        f"({wall:.2f} s wall, {cpu:.2f} s CPU, fastest of {args.repeat}; all: "
        + ", ".join(f"{w:.2f}" for w, _ in timings)
        + f"); peak RSS {peak_rss_mb():.0f} MB"
    )
    for name, n in sorted(counters.items()):
        print(f"  {name}: {n:,}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    if args.signals:
        annotate = Quality(params.model_copy(update={"annotate": True}))
        _, _, _, outputs = run(annotate, chunks)
        names = [*annotate.signal_names(), "quality_reason"]
        columns = {name: [value for batch in outputs for value in batch[name]] for name in names}
        print(f"signal quantiles on the bench ({', '.join(str(q) for q in QUANTILES)}):")
        for name in annotate.signal_names():
            values = np.array(columns[name], dtype=float)
            print(f"  {name:<18}" + " ".join(f"{v:>9.4g}" for v in np.quantile(values, QUANTILES)))
        reasons = Counter(columns["quality_reason"])
        print("would-be reasons:", ", ".join(f"{r}: {n} ({n / len(texts):.1%})" for r, n in reasons.most_common()))


if __name__ == "__main__":
    main()
