"""Speed of the `language` stage on the bench corpus, one core, against langdetect on whole documents.

Prints docs/s, MB/s (UTF-8 bytes of input text per second) and peak RSS for the stage,
and for the documents where the stage ran langdetect, how often its (sampled, restricted)
answer agrees with seeded langdetect on the whole of those documents' undecided lines.

    /work/venv/bin/python benchmarks/bench_language.py [--bench ../shared/bench/zh-bench-20mb.jsonl.gz]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import time
from pathlib import Path

from langdetect import LangDetectException

from builder.stages.base import Batch
from builder.stages.language import UNDECIDED, Language, LanguageParams, _line_labels
from builder.text.script import script_counts

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BENCH = REPO.parent / "shared" / "bench" / "zh-bench-20mb.jsonl.gz"


def read_documents(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def time_stage(documents: list[dict], params: LanguageParams, batch_size: int) -> tuple[float, Batch]:
    stage = Language(params)
    merged = Batch({"id": [], "text": [], "lang": [], "script": [], "lang_score": []})
    start = time.perf_counter()
    for first in range(0, len(documents), batch_size):
        chunk = documents[first : first + batch_size]
        batch = stage(Batch({"id": [d["id"] for d in chunk], "text": [d["text"] for d in chunk]}))
        for name in merged.columns:
            merged.columns[name].extend(batch[name])
        merged.counters.update(batch.counters)
        merged.drops.update({first + row: drop for row, drop in batch.drops.items()})
    return time.perf_counter() - start, merged


def whole_text_agreement(stage: Language, documents: list[dict], labels: list[str]) -> tuple[int, int]:
    """Agreement between the stage's sampled detection and langdetect on the whole undecided text.

    The comparison is made where the stage runs langdetect (documents with undecided
    lines that the scripts alone do not settle); both calls get the same script-based priors.
    """
    asked = agreed = 0
    for document, label in zip(documents, labels):
        counts, _ = script_counts([document["text"]])
        line_labels, weights = _line_labels(counts)
        undecided = line_labels == UNDECIDED
        decided_zh = weights[line_labels == 1].sum()
        if not undecided.any() or decided_zh >= stage.params.min_zh_share * weights.sum():
            continue
        lines = document["text"].split("\n")
        whole = "\n".join(line for line, flag in zip(lines, undecided) if flag)
        totals = counts[undecided].sum(axis=0)
        sampled = stage.detect_undecided(document["text"], undecided, counts[undecided])
        detector_kwargs = dict(han=bool(totals[1:5].sum()), kana=bool(totals[5]), hangul=bool(totals[6]))
        stage_whole = Language(stage.params.model_copy(update={"sample_chars": 10**9}))
        try:
            full = stage_whole.detect(whole, **detector_kwargs)
        except LangDetectException:
            full = None
        asked += 1
        agreed += (sampled and sampled[0]) == (full and full[0])
    return asked, agreed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    documents = read_documents(args.bench)
    megabytes = sum(len(d["text"].encode("utf-8")) for d in documents) / 1e6
    params = LanguageParams()
    Language(params)  # load langdetect's profiles outside the timed loop, as a worker does once
    seconds, result = time_stage(documents, params, args.batch_size)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"documents: {len(documents)}  input: {megabytes:.1f} MB  batch size: {args.batch_size}")
    print(f"language stage: {seconds:.2f} s  {len(documents) / seconds:,.0f} docs/s  "
          f"{megabytes / seconds:.1f} MB/s  peak RSS {peak_rss_mb:.0f} MB")
    print("counters:", dict(sorted(result.counters.items())))
    reasons: dict[str, int] = {}
    for drop in result.drops.values():
        reasons[drop.reason] = reasons.get(drop.reason, 0) + 1
    print("drops:", dict(sorted(reasons.items())))
    asked, agreed = whole_text_agreement(Language(params), documents, result["lang"])
    print(f"sampled vs whole-text langdetect, where the stage runs it: {agreed}/{asked} agree")


if __name__ == "__main__":
    main()
