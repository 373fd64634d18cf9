"""The flagship build on Ray (a local Ray of N CPUs) against the local engine with N workers.

    python benchmarks/bench_ray.py                      # the 20 MB bench x10 (>= 200 MB), in 8 files, 2 CPUs
    python benchmarks/bench_ray.py --repeat 1 --parts 4 # the 20 MB bench once
    python benchmarks/bench_ray.py --no-build --decide 1000000  # only the dedup decide, Ray vs local
    python benchmarks/bench_ray.py --no-build --decide 0 --lines 3000000  # only the line_frequency decide

Each engine runs in a fresh process on the same files. Ray's start-up (`ray.init`: the
local cluster's processes) is timed apart from the build; the build's own time includes
starting the stage actors, which load the stages once each. MB/s counts UTF-8 bytes of input
text. The script checks that both engines published the same shards (sha256 in MANIFEST.json).
Peak RSS is the driver's (VmHWM): with Ray the reading and the stages run in other processes
(a task per resume unit; the driver assembles the shards and publishes).

`--decide N`: the dedup decide on N synthetic keys (`bench_dedup.synthetic_keys`: 512-slot
signatures, 30% near copies, 2% exact copies), written to Parquet in row groups of 100,000
rows as the runner's work files are, then decided in a fresh process by each engine: in one
process (local), or as shuffles on a local Ray of `--cpus` CPUs (ray; `ray.init` timed
apart). Both must give the same decisions (their sha256 is compared). Driver peak RSS is the
deciding process's VmHWM, keys it reads included; Ray's workers are other processes.
`--lines N`: the same for the line_frequency decide on N synthetic counted lines
(`bench_line_frequency.synthetic_keys`), in row groups of 10,000 documents.
"""
from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DEFAULT_BENCH, REPO, status_mb


def split_input(path: Path, times: int, parts: int, folder: Path) -> tuple[list[Path], int, int]:
    """The input `times` over (new ids), dealt into `parts` files in order; (files, documents, text bytes)."""
    lines = [line for line in gzip.open(path, "rt", encoding="utf-8") if line.strip()]
    total = len(lines) * times
    per_file = -(-total // parts)
    files, docs, size, handle = [], 0, 0, None
    for copy in range(times):
        for line in lines:
            if docs % per_file == 0:
                if handle:
                    handle.close()
                files.append(folder / f"part-{len(files):03d}.jsonl")
                handle = open(files[-1], "w", encoding="utf-8")
            record = json.loads(line)
            record["id"] = f"{record.get('id')}-{copy}"
            size += len(record.get("text", "").encode("utf-8"))
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            docs += 1
    handle.close()
    return files, docs, size


def run_one(engine: str, files: list[str], out: str, cpus: int, config: Path) -> dict:
    """One build in this process; prints a JSON line of timings."""
    from builder.config import load_config
    from builder.runner import Build

    startup = 0.0
    overrides = {"input.paths": files, "publish.root": out, "executor.type": engine}
    if engine == "ray":
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        startup = time.perf_counter() - started
        overrides["executor.num_cpus"] = cpus
    else:
        overrides["executor.workers"] = cpus
    started = time.perf_counter()
    result = Build(load_config(config, overrides)).run()
    seconds = time.perf_counter() - started
    manifest = json.loads((result.version_dir / "MANIFEST.json").read_text())
    return {"engine": engine, "startup": startup, "seconds": seconds, "kept": result.report["kept"]["documents"],
            "shards": [s["sha256"] for s in manifest["shards"]], "peak_rss_mb": status_mb("VmHWM")}


def decide_one(engine: str, kind: str, path: str, cpus: int) -> dict:
    """One decide (`kind`: dedup or line_frequency) in this process on the keys in `path`; prints a JSON line."""
    import hashlib

    import pyarrow.parquet as pq

    from builder.checkpoint import decisions_sha
    from builder.stages import GlobalContext, Keys
    from builder.stages.dedup import Dedup, DedupParams
    from builder.stages.line_frequency import LineFrequency, LineFrequencyParams

    startup, cluster = 0.0, None
    if engine == "ray":
        import ray

        from builder.engines.ray import RayCluster

        started = time.perf_counter()
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        startup = time.perf_counter() - started

        class Counting:
            shuffles = 0

        cluster = RayCluster(ray, cpus, Counting())
    stage = Dedup(DedupParams()) if kind == "dedup" else LineFrequency(LineFrequencyParams())
    rss_before = status_mb("VmRSS")
    with tempfile.TemporaryDirectory() as out:
        context = GlobalContext([], Path(out), cluster=cluster)
        started = time.perf_counter()
        decisions = stage.decide(Keys([path], pq.read_schema(path)), context)
        seconds = time.perf_counter() - started
        summary = json.loads((Path(out) / "dedup.json").read_text()) if kind == "dedup" else {}
    peak = status_mb("VmHWM")  # before hashing the decisions
    digest = hashlib.sha256(repr([decisions_sha(decisions), sorted(context.counters.items())]).encode()).hexdigest()
    return {"engine": engine, "startup": startup, "seconds": seconds, "peak_rss_mb": peak, "rss_before_mb": rss_before,
            "decided": decisions.changed, "sha": digest, "candidates": summary.get("candidate_pairs"),
            "verified": summary.get("verified_pairs"), "shuffles": cluster.engine.shuffles if cluster else 0}


def bench_decide(kind: str, n: int, cpus: int, engines: list[str]) -> None:
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "keys.parquet"
        if kind == "dedup":
            from bench_dedup import synthetic_keys
            from builder.stages.dedup import DedupParams

            pq.write_table(synthetic_keys(n, DedupParams().num_perm), path, row_group_size=100_000)
            what, decided = f"dedup decide on {n:,} synthetic signatures", "dropped"
        else:
            from bench_line_frequency import synthetic_keys as synthetic_lines

            table = synthetic_lines(n)
            pq.write_table(table, path, row_group_size=10_000)
            what, decided = f"line_frequency decide on {n:,} synthetic counted lines of {table.num_rows:,} documents", "edited"
        print(f"{what} ({path.stat().st_size / 1e6:,.0f} MB of keys); {cpus} CPUs")
        print(f"{'engine':<8}{'start s':>9}{'decide s':>10}{'driver MB':>11}{'of which before':>17}{decided:>10}{'shuffles':>10}")
        results = []
        for engine in engines:
            command = [sys.executable, __file__, "--decide-one", engine, "--kind", kind, "--cpus", str(cpus), "--out", str(path)]
            done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
            if done.returncode:
                sys.exit(f"{engine} decide failed:\n{done.stderr[-3000:]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"{engine:<8}{r['startup']:>9.1f}{r['seconds']:>10.1f}{r['peak_rss_mb']:>11,.0f}{r['rss_before_mb']:>17,.0f}"
                  f"{r['decided']:>10,}{r['shuffles']:>10}")
        if kind == "dedup":
            print(f"candidate pairs {results[0]['candidates']:,}, verified {results[0]['verified']:,}")
        if len(results) > 1:
            print(f"same decisions from every engine: {'yes' if all(r['sha'] == results[0]['sha'] for r in results) else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path, nargs="?", default=DEFAULT_BENCH)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "zh.yaml")
    parser.add_argument("--repeat", type=int, default=10, help="feed the input N times (new ids): 10 x 20 MB >= 200 MB")
    parser.add_argument("--parts", type=int, default=8, help="input files: Ray runs a task per resume unit (files grouped up to executor.unit_mb)")
    parser.add_argument("--cpus", type=int, default=2, help="local workers and Ray CPUs")
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--decide", type=int, default=1_000_000, help="dedup decide on N synthetic signatures (0: skip)")
    parser.add_argument("--no-build", action="store_true", help="skip the builds (only the decide)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one engine, print JSON
    parser.add_argument("--lines", type=int, default=0, help="line_frequency decide on N synthetic counted lines (0: skip)")
    parser.add_argument("--decide-one", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="dedup", help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.files, args.out, args.cpus, args.config)))
        return
    if args.decide_one:
        print(json.dumps(decide_one(args.decide_one, args.kind, args.out, args.cpus)))
        return
    if not args.no_build:
        bench_build(args)
    if args.decide:
        bench_decide("dedup", args.decide, args.cpus, args.engines.split(","))
    if args.lines:
        bench_decide("line_frequency", args.lines, args.cpus, args.engines.split(","))


def bench_build(args) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        files, docs, size = split_input(args.input, args.repeat, args.parts, Path(scratch))
        mb = size / 1e6
        print(f"input: {args.input.name} x{args.repeat} in {len(files)} files: {docs:,} docs, {mb:,.1f} MB of text; {args.cpus} CPUs")
        print(f"{'engine':<8}{'start s':>9}{'build s':>9}{'docs/s':>9}{'MB/s':>7}{'driver MB':>11}")
        results = []
        for engine in args.engines.split(","):
            command = [sys.executable, __file__, "--one", engine, "--cpus", str(args.cpus), "--config", str(args.config),
                       "--out", str(Path(scratch) / f"out-{engine}"), "--files", *map(str, files)]
            done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
            if done.returncode:
                sys.exit(f"{engine} failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            s = result["seconds"]
            print(f"{engine:<8}{result['startup']:>9.1f}{s:>9.1f}{docs / s:>9,.0f}{mb / s:>7.2f}{result['peak_rss_mb']:>11,.0f}")
        if len(results) > 1:
            same = all(r["shards"] == results[0]["shards"] for r in results)
            print(f"same shards from every engine: {'yes' if same else 'NO'}; kept {results[0]['kept']:,} documents")


if __name__ == "__main__":
    main()
