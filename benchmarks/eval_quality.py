"""Precision and recall of the quality stage on the hand-labelled set.

    python benchmarks/eval_quality.py [--errors] [path/to/labelled.jsonl]

Documents: `drop` is the positive class (precision/recall of dropping), plus the two rates
the issue sets targets for: spam pages dropped and good pages kept. Lines: `removed` is the
positive class, over every non-blank line of every page except the machine-repeated kind
(whose lines are labelled by page, not by line). `--errors` lists every miss.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from builder.stages import STAGES, Batch

DEFAULT_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "quality" / "labelled.jsonl"
TARGETS = {"spam_dropped": 0.95, "good_kept": 0.97, "junk_lines_removed": 0.90, "good_lines_removed": 0.01}


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def evaluate(path: Path = DEFAULT_SET, params: dict | None = None) -> dict:
    docs = [json.loads(line) for line in open(path, encoding="utf-8")]
    stage = STAGES["quality"](STAGES["quality"].Params(**(params or {})))
    batch = stage(Batch({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}))
    lines = stage.clean_lines([d["text"] for d in docs])
    doc_counts: Counter = Counter()
    line_counts: Counter = Counter()
    errors = []
    for row, doc in enumerate(docs):
        dropped = row in batch.drops
        truth = doc["label"] == "drop"
        doc_counts[(truth, dropped)] += 1
        doc_counts[(doc["kind"], dropped)] += 1
        if truth != dropped:
            reason = batch.drops[row].reason + " " + (batch.drops[row].detail or "") if dropped else "kept"
            errors.append(f"doc  {doc['id']}: labelled {doc['label']}, got {reason}")
        if doc["kind"] == "repetitive":
            continue
        first = int(lines.first_line[row])
        for offset, (text, junk) in enumerate(doc["lines"]):
            if not text.strip():
                continue
            rule = lines.rule[first + offset]
            line_counts[(junk, bool(rule))] += 1
            if junk != bool(rule):
                errors.append(f"line {doc['id']}: {'junk kept' if junk else 'good removed (' + rule + ')'}: {text[:60]}")
    tp, fp, fn = doc_counts[(True, True)], doc_counts[(False, True)], doc_counts[(True, False)]
    ltp, lfp, lfn = line_counts[(True, True)], line_counts[(False, True)], line_counts[(True, False)]
    return {
        "documents": len(docs),
        "drop_precision": _ratio(tp, tp + fp),
        "drop_recall": _ratio(tp, tp + fn),
        "spam_dropped": _ratio(doc_counts[("spam", True)], doc_counts[("spam", True)] + doc_counts[("spam", False)]),
        "good_kept": _ratio(doc_counts[(False, False)], doc_counts[(False, False)] + fp),
        "lines": ltp + lfp + lfn + line_counts[(False, False)],
        "removal_precision": _ratio(ltp, ltp + lfp),
        "removal_recall": _ratio(ltp, ltp + lfn),
        "junk_lines_removed": _ratio(ltp, ltp + lfn),
        "good_lines_removed": _ratio(lfp, lfp + line_counts[(False, False)]),
        "per_kind_dropped": {
            kind: f"{doc_counts[(kind, True)]}/{doc_counts[(kind, True)] + doc_counts[(kind, False)]}"
            for kind in sorted({d["kind"] for d in docs})
        },
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--errors", action="store_true", help="list every misclassified document and line")
    args = parser.parse_args()
    result = evaluate(args.path)
    print(f"{result['documents']} documents, {result['lines']} non-blank lines ({args.path})")
    print(f"{'measure':<28}{'value':>8}{'target':>10}")
    rows = [
        ("document drop precision", "drop_precision", None),
        ("document drop recall", "drop_recall", None),
        ("spam documents dropped", "spam_dropped", ">= 0.95"),
        ("good documents kept", "good_kept", ">= 0.97"),
        ("line removal precision", "removal_precision", None),
        ("line removal recall", "removal_recall", None),
        ("junk lines removed", "junk_lines_removed", ">= 0.90"),
        ("good lines removed", "good_lines_removed", "<= 0.01"),
    ]
    for label, key, target in rows:
        print(f"{label:<28}{result[key]:>8.3f}{target or '':>10}")
    print("dropped per kind:", ", ".join(f"{k} {v}" for k, v in result["per_kind_dropped"].items()))
    if args.errors:
        print("\n".join(result["errors"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
