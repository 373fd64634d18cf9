"""Speed of the `normalize` stage on the bench corpus, one core, with ftfy's defaults for scale.

Prints docs/s, MB/s (UTF-8 bytes of input text per second) and peak RSS for the whole
stage with the given switches, the per-sub-step counters, and (with --ftfy-baseline)
the same figures for `ftfy.fix_text` with default settings on every document.

    /work/venv/bin/python benchmarks/bench_normalize.py [--bench ../shared/bench/zh-bench-20mb.jsonl.gz]
        [--cjk-punctuation] [--convert t2s] [--ftfy-baseline] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import Counter
from pathlib import Path

import ftfy

from builder.stages.base import Batch
from builder.stages.normalize import Normalize, NormalizeParams
from common import DEFAULT_BENCH, peak_rss_mb, read_texts



def run_stage(texts: list[str], params: NormalizeParams, batch_size: int) -> tuple[float, float, Counter, list[float]]:
    """Wall and CPU seconds (CPU time is what one core spends, whatever else the machine runs)."""
    stage = Normalize(params)
    counters: Counter = Counter()
    ratios: list[float] = []
    start, start_cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(texts), batch_size):
        chunk = texts[first : first + batch_size]
        batch = stage(Batch({"id": list(range(first, first + len(chunk))), "text": chunk}))
        counters.update(batch.counters)
        ratios.extend(batch["mojibake_ratio"])
    return time.perf_counter() - start, time.process_time() - start_cpu, counters, ratios


def report(label: str, seconds: float, documents: int, megabytes: float, cpu_seconds: float | None = None) -> None:
    cpu = f"; CPU time {megabytes / cpu_seconds:.1f} MB/s ({cpu_seconds:.2f} s)" if cpu_seconds else ""
    print(f"{label}: {documents / seconds:,.0f} docs/s, {megabytes / seconds:.1f} MB/s ({seconds:.2f} s wall){cpu}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--cjk-punctuation", action="store_true", help="turn on the optional sub-step (as configs/zh.yaml does)")
    parser.add_argument("--convert", default="none", choices=["none", "t2s", "s2t", "s2tw"])
    parser.add_argument("--ftfy-baseline", action="store_true", help="also time ftfy.fix_text with default settings")
    parser.add_argument("--profile", action="store_true", help="print the top functions by cumulative time")
    args = parser.parse_args()

    texts = read_texts(args.bench)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{len(texts):,} documents, {megabytes:.1f} MB of UTF-8 text from {args.bench}")
    params = NormalizeParams(cjk_punctuation=args.cjk_punctuation, convert=args.convert)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    seconds, cpu_seconds, counters, ratios = run_stage(texts, params, args.batch_size)
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    report(f"normalize ({params.model_dump()})", seconds, len(texts), megabytes, cpu_seconds)
    for name, n in sorted(counters.items()):
        print(f"  {name}: {n:,}")
    flagged = [r for r in ratios if r > 0]
    print(f"  documents with mojibake_ratio > 0: {len(flagged):,}; > 0.01: {sum(r > 0.01 for r in ratios):,}")
    if args.ftfy_baseline:
        start = time.perf_counter()
        for text in texts:
            ftfy.fix_text(text)
        report("ftfy.fix_text (defaults)", time.perf_counter() - start, len(texts), megabytes)
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
