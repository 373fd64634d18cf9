"""What publishing adds to a build: card statistics, charts, cards, manifest hashes, verify.

    python benchmarks/bench_publish.py out/zh-web/v1.0.0

Times each step over an already-built version (its kept shards and the run's rejected rows) and
prints docs/s and MB/s (UTF-8 bytes of the kept and rejected text read) and peak RSS. Run it on
one core (`taskset -c 0`) for figures comparable with the other benchmarks.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.publish.card import LoadTarget, render_version_card
from builder.publish.charts import write_charts
from builder.publish.stats import collect
from builder.publish.verify import rehash


def text_bytes(paths: list[Path]) -> tuple[int, int]:
    docs = size = 0
    for path in paths:
        column = pq.read_table(path, columns=["text"])["text"]
        docs += len(column)
        size += pc.sum(pc.fill_null(pc.binary_length(column), 0)).as_py() or 0
    return docs, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version_dir", type=Path)
    args = parser.parse_args()
    version_dir = args.version_dir
    manifest = json.loads((version_dir / "MANIFEST.json").read_text(encoding="utf-8"))
    shards = [version_dir / s["path"] for s in manifest["shards"]]
    rejected = [version_dir.parent / r["path"] for r in manifest["rejected"]]
    docs, size = text_bytes(shards + rejected)
    report = json.loads((version_dir / "report.json").read_text(encoding="utf-8"))

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / version_dir.name
        shutil.copytree(version_dir, copy)
        file_bytes = sum(p.stat().st_size for p in copy.rglob("*") if p.is_file())
        steps = []
        started = time.perf_counter()
        stats = collect(shards, rejected)
        seconds = time.perf_counter() - started
        steps.append(("card statistics (lengths, scripts, redacted examples)", seconds,
                      f"{docs / seconds:>9,.0f} docs/s {size / 1e6 / seconds:>6.1f} MB/s of text"))
        started = time.perf_counter()
        write_charts(copy, report, stats)
        steps.append(("charts (3 PNG)", time.perf_counter() - started, ""))
        started = time.perf_counter()
        render_version_card(copy, LoadTarget("local", "out/x"))
        steps.append(("card render", time.perf_counter() - started, ""))
        started = time.perf_counter()
        rehash(copy)
        seconds = time.perf_counter() - started
        steps.append(("verify: re-hash shards and artifacts", seconds, f"{file_bytes / 1e6 / seconds:>6.1f} MB/s of files"))

    print(f"{version_dir}: {docs:,} documents, {size / 1e6:.1f} MB of text (kept and rejected)")
    for name, seconds, rate in steps:
        print(f"  {name:<55}{seconds:>7.2f} s  {rate}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
