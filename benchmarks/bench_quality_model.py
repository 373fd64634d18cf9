"""Speed of the `quality_model` stage on the bench corpus, one core: docs/s, MB/s, peak RSS.

Times the stage as the pipeline calls it (batches of `--batch-size` documents), with the shipped
model or `--model`; also prints how the scores spread on the bench and how many pages fall
below the threshold. The bench text is raw (not cleaned by `quality` first), which costs the
model the same per character.

    PYTHONPATH=$PWD /work/venv/bin/python benchmarks/bench_quality_model.py [--bench PATH]
        [--batch-size 500] [--repeat 3] [--threshold 0.5] [--model PATH]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from builder.stages.base import Batch
from builder.stages.quality_model import QualityModel, QualityModelParams
from common import DEFAULT_BENCH, peak_rss_mb, read_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the fastest is reported")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--model", type=str, default=None)
    args = parser.parse_args()

    texts = read_texts(args.bench)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{len(texts):,} documents, {megabytes:.1f} MB of UTF-8 text from {args.bench}")
    started = time.perf_counter()
    stage = QualityModel(QualityModelParams(threshold=args.threshold, annotate=True, model=args.model))
    print(f"model loaded and tables built in {time.perf_counter() - started:.2f} s (once per worker)")
    chunks = [texts[first : first + args.batch_size] for first in range(0, len(texts), args.batch_size)]
    timings, scores = [], []
    for _ in range(args.repeat):
        scores = []
        wall, cpu = time.perf_counter(), time.process_time()
        for chunk in chunks:
            batch = stage(Batch({"id": list(range(len(chunk))), "text": chunk}))
            scores.extend(batch["quality_score"])
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    wall, cpu = min(timings)
    print(
        f"quality_model (batch {args.batch_size}): {len(texts) / wall:,.0f} docs/s, {megabytes / wall:.1f} MB/s wall, "
        f"{megabytes / cpu:.1f} MB/s CPU "
        f"({wall:.2f} s wall, {cpu:.2f} s CPU, fastest of {args.repeat}: " + ", ".join(f"{w:.2f}" for w, _ in timings)
        + f"); peak RSS {peak_rss_mb():.0f} MB"
    )  # fmt: skip
    values = np.array(scores)
    quantiles = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75)
    print("quality_score quantiles " + ", ".join(f"p{int(q * 100)} {v:.3f}" for q, v in zip(quantiles, np.quantile(values, quantiles))))
    print(f"below threshold {args.threshold}: {(values < args.threshold).sum():,} ({(values < args.threshold).mean():.1%})")


if __name__ == "__main__":
    main()
