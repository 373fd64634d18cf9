"""Repair precision and recall of `normalize` on clean Chinese with injected encoding damage.

Paragraphs: the repo's clean set (tests/data/normalize/clean_zh.txt) plus, when present,
../shared/langid/sentences/zh.txt, each also converted to Traditional with OpenCC. One
random span per paragraph is damaged by each kind in `builder.text.damage` (real
encode/mis-decode round trips). The stage runs with its defaults except `fold_width`
(which is meant to change clean text), and:

- recall (reversible kinds): share of damaged paragraphs that come back exactly;
- precision: of the paragraphs the stage changed (reversible kinds, plus the clean
  paragraphs undamaged, where any change is a false repair), the share it changed into
  exactly the original;
- lossy kinds: share of damaged paragraphs that end with mojibake_ratio > 0 (flagged).

    /work/venv/bin/python benchmarks/eval_normalize_repair.py [--seed 0]
"""
from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

import opencc

from builder.stages.normalize import Normalize, NormalizeParams
from builder.text.damage import DAMAGE_KINDS, inject

REPO = Path(__file__).resolve().parents[1]
CLEAN = REPO / "tests" / "data" / "normalize" / "clean_zh.txt"
SHARED_SENTENCES = REPO.parent / "shared" / "langid" / "sentences" / "zh.txt"


def clean_paragraphs() -> list[str]:
    lines = [line.rstrip("\n") for line in CLEAN.open(encoding="utf-8") if not line.startswith("#")]
    if SHARED_SENTENCES.exists():
        lines += [line.strip() for line in SHARED_SENTENCES.open(encoding="utf-8") if line.strip()]
    converters = [opencc.OpenCC(config) for config in ("s2t", "s2tw")]
    converted = [converter.convert(line) for converter in converters for line in lines]
    return list(dict.fromkeys(lines + converted))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    stage = Normalize(NormalizeParams(fold_width=False))
    paragraphs = clean_paragraphs()
    false_repairs = sum(stage.normalize(p, Counter())[0] != p for p in paragraphs)
    print(f"{len(paragraphs):,} clean paragraphs: {false_repairs} changed (false repairs)")
    changed_total, correct_total = false_repairs, 0
    for kind, (_, reversible) in DAMAGE_KINDS.items():
        damaged = restored = changed = flagged = 0
        for paragraph in paragraphs:
            injected = inject(paragraph, kind, rng)
            if injected is None:
                continue
            text = injected[0]
            out, ratio = stage.normalize(text, Counter())
            damaged += 1
            restored += out == paragraph
            changed += out != text
            flagged += ratio > 0
        if reversible:
            changed_total += changed
            correct_total += restored
            print(f"{kind}: {damaged:,} damaged, recall {restored / damaged:.3f}, flagged when not restored {flagged}")
        else:
            print(f"{kind} (lossy): {damaged:,} damaged, flagged {flagged / damaged:.3f}, changed {changed / damaged:.3f}")
    print(f"precision (reversible kinds and clean paragraphs): {correct_total / changed_total:.4f} ({correct_total:,}/{changed_total:,} changed paragraphs restored exactly)")


if __name__ == "__main__":
    main()
