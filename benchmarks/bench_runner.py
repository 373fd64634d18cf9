"""End-to-end and per-stage throughput of a build on a JSONL input.

    python benchmarks/bench_runner.py ../shared/bench/zh-bench-20mb.jsonl.gz            # zh.yaml stages
    python benchmarks/bench_runner.py ../shared/bench/zh-bench-20mb.jsonl.gz --stages   # read → write only

MB/s counts UTF-8 bytes of input text. Per-stage MB/s is input MB over that stage's time,
i.e. the rate the whole build would have if that stage were the only work. With one worker, `cpu`
is the CPU time of the whole build (the stages run in this process): on a shared machine it moves less
than wall time. With more, it is this process's share only (reading, writing, deciding, publishing):
the workers are children of a fork server, whose time is not counted until it exits.
"""
from __future__ import annotations

import argparse
import gzip
import importlib
import json
import resource
import tempfile
import time
from pathlib import Path

from builder.config import load_config
from builder.runner import Build
from common import REPO, peak_rss_mb



def input_text_bytes(path: Path) -> tuple[int, int]:
    opener = gzip.open if path.name.endswith(".gz") else open  # type: ignore[assignment]
    docs = size = 0
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                docs += 1
                size += len(json.loads(line).get("text", "").encode("utf-8"))
    return docs, size


def repeated_input(path: Path, times: int) -> Path:
    target = Path(tempfile.mkdtemp()) / f"{path.name.split('.')[0]}-x{times}.jsonl"
    with open(target, "w", encoding="utf-8") as handle:
        for copy in range(times):
            for line in gzip.open(path, "rt", encoding="utf-8"):
                if line.strip():
                    record = json.loads(line)
                    record["id"] = f"{record.get('id')}-{copy}"
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return target


def cpu_seconds() -> float:
    """User + system CPU of this process and of its children that have ended."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "zh.yaml")
    parser.add_argument("--stages", nargs="*", help="stage types to keep from the config (none: read → write only)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="feed the input N times (new ids) to check that memory stays flat")
    args = parser.parse_args()
    if args.repeat > 1:
        args.input = repeated_input(args.input, args.repeat)

    docs, text_bytes = input_text_bytes(args.input)
    warm = time.perf_counter()
    for module in ("huggingface_hub.repocard", "pandas"):  # one-time imports (pandas via pyarrow, jinja2): not per-document work
        importlib.import_module(module)

    print(f"one-time imports excluded from the timings: {time.perf_counter() - warm:.2f}s")
    with tempfile.TemporaryDirectory() as out:
        config = load_config(args.config, {"input.paths": [str(args.input)], "publish.root": out, "executor.workers": args.workers})
        if args.stages is not None:
            config = config.model_copy(update={"stages": [s for s in config.stages if s.type in args.stages]})
        started, cpu_started = time.perf_counter(), cpu_seconds()
        result = Build(config).run()
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    mb = text_bytes / 1e6
    peak = max(peak_rss_mb(), peak_rss_mb(children=True))
    print(f"input: {args.input.name}: {docs:,} docs, {mb:.1f} MB of text; workers={args.workers}")
    print(f"{'step':<14}{'seconds':>9}{'docs/s':>10}{'MB/s':>9}")
    for stage in result.report["stages"]:
        s = stage["seconds"]
        print(f"{stage['type']:<14}{s:>9.2f}{(docs / s if s else 0):>10,.0f}{(mb / s if s else 0):>9.1f}")
    print(f"{'end to end':<14}{seconds:>9.2f}{docs / seconds:>10,.0f}{mb / seconds:>9.1f}   cpu {cpu:.2f}s{' (this process only)' if args.workers > 1 else f' ({mb / cpu:.1f} MB/s of CPU)'}")
    print(f"kept {result.report['kept']['documents']:,} of {docs:,} documents; peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
