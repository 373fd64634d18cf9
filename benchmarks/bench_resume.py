"""Resume against a clean build: the flagship recipe on the bench, killed (kill -9) at a fault point, then
resumed; prints wall and CPU seconds of each run and checks the resumed shards are the clean build's bytes.

    python benchmarks/bench_resume.py ../shared/bench/zh-bench-20mb.jsonl.gz --fault after:segment-1
    python benchmarks/bench_resume.py part-*.jsonl --unit-mb 0 --fault after:segment-0/unit-2   # one unit per file
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(config: Path, inputs: list[str], output: Path, fault: str | None = None) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("BUILDER_FAULT", None)
    if fault:
        env["BUILDER_FAULT"] = fault
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "builder", "--config", str(config), "--input", *inputs, "--output", str(output)],
                          env=env, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    resumed = next((line for line in done.stdout.splitlines() if line.startswith("resumed:")), "")
    if fault is None and done.returncode != 0:
        raise SystemExit(f"build failed: {done.stderr}")
    return wall, cpu, resumed


def hashes(dataset_dir: Path) -> dict[str, str]:
    files = sorted(p for p in dataset_dir.rglob("*.parquet") if ".staging" not in str(p))
    return {str(p.relative_to(dataset_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", default=[str(REPO.parent / "shared" / "bench" / "zh-bench-20mb.jsonl.gz")])
    parser.add_argument("--config", default=str(REPO / "configs" / "zh.yaml"))
    parser.add_argument("--fault", default="after:segment-1", help="where the first run is killed (BUILDER_FAULT)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--unit-mb", type=int, default=None, help="executor.unit_mb (0: one unit per input file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as scratch:
        scratch = Path(scratch)
        text = Path(args.config).read_text(encoding="utf-8")
        config = scratch / "config.yaml"
        extra = f"\n  workers: {args.workers}" + (f"\n  unit_mb: {args.unit_mb}" if args.unit_mb is not None else "")
        config.write_text(text.replace("executor:\n", "executor:" + extra + "\n", 1).replace("  workers: 2 ", "  # workers: 2 "), encoding="utf-8")
        inputs = [str(Path(p).resolve()) for p in args.inputs]
        wall, cpu, _ = run(config, inputs, scratch / "clean")
        print(f"clean build:            {wall:7.1f} s wall {cpu:7.1f} s CPU")
        wall, cpu, _ = run(config, inputs, scratch / "resumed", args.fault)
        print(f"killed at {args.fault}: {wall:7.1f} s wall {cpu:7.1f} s CPU")
        wall, cpu, resumed = run(config, inputs, scratch / "resumed")
        print(f"resumed:                {wall:7.1f} s wall {cpu:7.1f} s CPU   {resumed}")
        same = hashes(scratch / "clean") == hashes(scratch / "resumed")
        print(f"shards, rejected rows, removed lines, artifacts byte-identical to the clean build: {same}")


if __name__ == "__main__":
    main()
