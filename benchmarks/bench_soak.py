"""Soak: a generated corpus of N MB, then M tiny documents, each through the whole zh.yaml recipe
as a real `python -m builder` process (and the tiny ones through normalize + dedup alone); prints wall time, docs/s, MB/s and the peak RSS of the
largest process (main or worker).

    python benchmarks/bench_soak.py                          # small: 20 MB, 100,000 tiny documents
    python benchmarks/bench_soak.py --mb 2000 --tiny 10000000 --workers 2   # the issue's soak (hours)

Documents are made from the sentences of the bench corpus (or of the bundled sample when it is
absent), shuffled with a fixed seed, so most are new text and dedup has real work; tiny
documents are 10 characters of Han text each, the case that made dedup quadratic.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from common import DEFAULT_BENCH, REPO, read_texts

SENTENCE_RE = re.compile(r"[^。！？\n]+[。！？]?")


def sentences() -> list[str]:
    source = DEFAULT_BENCH if DEFAULT_BENCH.is_file() else REPO / "samples" / "zh-web-sample.jsonl"
    found = [s for text in read_texts(source) for s in SENTENCE_RE.findall(text) if len(s.strip()) > 4]
    return found


def write_corpus(path: Path, target_mb: float, pool: list[str], seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    docs = size = 0
    with open(path, "w", encoding="utf-8") as out:
        while size < target_mb * 1e6:
            text = "".join(rng.choice(pool) for _ in range(rng.randint(4, 30)))
            out.write(json.dumps({"id": f"g{docs}", "text": text}, ensure_ascii=False) + "\n")
            docs += 1
            size += len(text.encode("utf-8"))
    return docs, size


def write_tiny(path: Path, count: int, pool: list[str], seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    han = [c for c in "".join(pool[:5000]) if "\u4e00" <= c <= "\u9fff"] or list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出")
    size = 0
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            text = "".join(rng.choice(han) for _ in range(10))
            out.write(json.dumps({"id": f"t{i}", "text": text}, ensure_ascii=False) + "\n")
            size += len(text.encode("utf-8"))
    return count, size


def run_recipe(corpus: Path, scratch: Path, name: str, workers: int, only: tuple[str, ...] | str | None) -> tuple[float, dict]:
    """The flagship recipe on `corpus`; `only`: the stage types to keep, or "annotate" (quality stages keep everything)."""
    config = yaml.safe_load((REPO / "configs" / "zh.yaml").read_text(encoding="utf-8"))
    config.update(name=name, version="1.0.0")
    if only == "annotate":
        for stage in config["stages"]:
            if stage["type"] in ("quality", "quality_model"):
                stage["annotate"] = True
    elif only:
        config["stages"] = [stage for stage in config["stages"] if stage["type"] in only]
    config["input"]["paths"] = [str(corpus)]
    config["publish"] = {"root": str(scratch / "out")}
    config.setdefault("executor", {})["workers"] = workers
    config_path = scratch / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "builder", "--config", str(config_path), "-q"], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name}: build failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads((scratch / "out" / name / "v1.0.0" / "report.json").read_text(encoding="utf-8"))
    return seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20, help="size of the generated corpus (UTF-8 MB of text)")
    parser.add_argument("--tiny", type=int, default=100_000, help="number of 10-character documents")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    pool = sentences()
    with tempfile.TemporaryDirectory(prefix="zh-soak-") as scratch_name:
        scratch = Path(scratch_name)
        runs = (("soak-corpus", write_corpus, args.mb, None),
                # quality would drop every 10-character document (and a build that keeps nothing does not
                # publish): the tiny ones go through every stage with the quality stages annotating, so that
                # dedup sees them all too
                ("soak-tiny", write_tiny, args.tiny, "annotate"),
                ("soak-tiny-dedup", write_tiny, args.tiny, ("normalize", "dedup")))
        for name, writer, amount, only in runs:
            if not amount:
                continue
            corpus = scratch / f"{name}.jsonl"
            docs, size = writer(corpus, amount, pool, args.seed)
            seconds, report = run_recipe(corpus, scratch, name, args.workers, only)
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"{name}: {docs:,} docs, {size / 1e6:.1f} MB in {seconds:.1f} s: {docs / seconds:,.0f} docs/s, "
                  f"{size / 1e6 / seconds:.2f} MB/s, kept {report['kept']['documents']:,}, "
                  f"peak RSS so far {peak:.0f} MB (largest process), workers {report['workers']}")
            corpus.unlink()


if __name__ == "__main__":
    main()
