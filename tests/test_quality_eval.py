"""The labelled set's targets, checked for real on every run (benchmarks/eval_quality.py prints the table)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_eval():
    spec = importlib.util.spec_from_file_location("eval_quality", REPO / "benchmarks" / "eval_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_labelled_set_meets_the_issue_targets():
    evaluation = load_eval()
    result = evaluation.evaluate()
    assert result["documents"] >= 200
    assert result["spam_dropped"] >= evaluation.TARGETS["spam_dropped"]
    assert result["good_kept"] >= evaluation.TARGETS["good_kept"]
    assert result["junk_lines_removed"] >= evaluation.TARGETS["junk_lines_removed"]
    assert result["good_lines_removed"] <= evaluation.TARGETS["good_lines_removed"]


def test_labelled_set_is_the_one_its_builder_writes():
    """The JSONL is generated from the hand-written parts; a stale file would measure the wrong thing."""
    data = REPO / "tests" / "data" / "quality"
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch)
        for name in ("articles.yaml", "posts.yaml", "junk.yaml", "build_labelled_set.py"):
            (copy / name).write_bytes((data / name).read_bytes())
        subprocess.run([sys.executable, str(copy / "build_labelled_set.py")], check=True, capture_output=True)
        fresh = [json.loads(line) for line in open(copy / "labelled.jsonl", encoding="utf-8")]
    stored = [json.loads(line) for line in open(data / "labelled.jsonl", encoding="utf-8")]
    assert fresh == stored
