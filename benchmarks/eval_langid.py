"""Accuracy of the `language` stage vs seeded langdetect alone on the language-ID dev set.

Every line is one document. For sentences and for word pairs it prints: zh recall (Simplified
as given, and Traditional made with OpenCC s2t, s2tw, s2hk), the share of every other
language wrongly kept as zh, and Hans/Hant accuracy, each for the stage (default params)
and for langdetect alone (zh-cn/zh-tw taken as zh, and as Hans/Hant).

Hans/Hant accuracy is given twice: over all zh lines, and over the lines whose OpenCC
conversion changed them (a line written the same in both scripts has no right answer; the
stage calls it Hans).

    /work/venv/bin/python benchmarks/eval_langid.py [../shared/langid]
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from langdetect import DetectorFactory, LangDetectException, detect
from opencc import OpenCC

from builder.stages.base import Batch
from builder.stages.language import Language, LanguageParams

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LANGID = REPO.parent / "shared" / "langid"
CONVERSIONS = ("s2t", "s2tw", "s2hk")


@dataclass
class Labels:
    kept_zh: list[bool]
    script: list[str | None]


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def stage_labels(stage: Language, lines: list[str]) -> Labels:
    batch = stage(Batch({"id": [str(i) for i in range(len(lines))], "text": list(lines)}))
    kept = [row not in batch.drops and batch["lang"][row] == "zh" for row in range(len(lines))]
    return Labels(kept, batch["script"])


def langdetect_labels(lines: list[str]) -> Labels:
    DetectorFactory.seed = 0
    found = []
    for line in lines:
        try:
            found.append(detect(line))
        except LangDetectException:
            found.append("unknown")
    return Labels([lang.startswith("zh") for lang in found], [{"zh-cn": "Hans", "zh-tw": "Hant"}.get(lang) for lang in found])


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:6.2f}%" if whole else "   n/a"


def evaluate(folder: Path, stage: Language) -> None:
    zh_lines = read_lines(folder / "zh.txt")
    variants = {"Hans (as given)": ("Hans", zh_lines, [True] * len(zh_lines))}
    for config in CONVERSIONS:
        converted = [OpenCC(config).convert(line) for line in zh_lines]
        variants[f"Hant ({config})"] = ("Hant", converted, [c != z for c, z in zip(converted, zh_lines)])

    print(f"\n## {folder.name}\n")
    print("| measure | lines | this stage | langdetect alone |")
    print("| --- | ---: | ---: | ---: |")
    for name, (expected, lines, changed) in variants.items():
        ours, theirs = stage_labels(stage, lines), langdetect_labels(lines)
        print(f"| zh recall, {name} | {len(lines)} | {percent(sum(ours.kept_zh), len(lines))} "
              f"| {percent(sum(theirs.kept_zh), len(lines))} |")
        for label, subset in (("all lines", [True] * len(lines)), ("lines the conversion changed", changed)):
            if expected == "Hans" and label != "all lines":
                continue
            rows = [i for i, keep in enumerate(subset) if keep]
            print(f"| {expected} accuracy, {name}, {label} | {len(rows)} "
                  f"| {percent(sum(ours.script[i] == expected for i in rows), len(rows))} "
                  f"| {percent(sum(theirs.script[i] == expected for i in rows), len(rows))} |")
    for path in sorted(folder.glob("*.txt")):
        if path.stem == "zh":
            continue
        lines = read_lines(path)
        ours, theirs = stage_labels(stage, lines), langdetect_labels(lines)
        print(f"| {path.stem} wrongly kept as zh | {len(lines)} | {percent(sum(ours.kept_zh), len(lines))} "
              f"| {percent(sum(theirs.kept_zh), len(lines))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("langid", type=Path, nargs="?", default=DEFAULT_LANGID)
    args = parser.parse_args()
    stage = Language(LanguageParams())
    for kind in ("sentences", "word-pairs"):
        evaluate(args.langid / kind, stage)


if __name__ == "__main__":
    main()
