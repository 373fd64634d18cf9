"""Accuracy of the `language` stage vs seeded langdetect alone on the language-ID dev set.

Every line is one document. For sentences and for word pairs it prints: zh recall (Simplified
as given, and Traditional made with OpenCC s2t, s2tw, s2hk), the share of every other
language wrongly kept as zh, and Hans/Hant accuracy, each for the stage (default params)
and for langdetect alone (zh-cn/zh-tw taken as zh, and as Hans/Hant).

It also measures all-kanji Japanese snippets, and whether sampling a bounded number of
characters for langdetect changes labels of multi-sentence documents.

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
from builder.text.chars import HAN_RUN_RE

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


def evaluate_kanji_only_japanese(folder: Path, stage: Language) -> None:
    """Japanese without kana: 2-3 character Han runs cut from the Japanese sentences.

    The dev word pairs for Japanese all contain kana, so this is the only measure here of
    the all-kanji case, where only Japanese-only kanji (円 変 気 ...) can say Japanese.
    """
    runs = [run for line in read_lines(folder / "sentences" / "ja.txt") for run in HAN_RUN_RE.findall(line)]
    snippets = [run for run in runs if 2 <= len(run) <= 3]
    ours, theirs = stage_labels(stage, snippets), langdetect_labels(snippets)
    print("\n## Japanese kanji-only snippets (cut from sentences/ja.txt)\n")
    print("| measure | lines | this stage | langdetect alone |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| ja wrongly kept as zh | {len(snippets)} | {percent(sum(ours.kept_zh), len(snippets))} "
          f"| {percent(sum(theirs.kept_zh), len(snippets))} |")


def evaluate_sampling(folder: Path, stage: Language, sentences_per_document: int = 25) -> None:
    """Labels from a bounded sample vs from whole documents built of dev sentences."""
    whole = Language(stage.params.model_copy(update={"sample_chars": 10**9}))
    documents, expected = [], []
    for path in sorted((folder / "sentences").glob("*.txt")):
        lines = read_lines(path)
        for first in range(0, len(lines), sentences_per_document):
            documents.append("\n".join(lines[first : first + sentences_per_document]))
            expected.append(path.stem)
    sampled = stage(Batch({"id": [str(i) for i in range(len(documents))], "text": list(documents)}))
    full = whole(Batch({"id": [str(i) for i in range(len(documents))], "text": list(documents)}))
    print(f"\n## Sampling ({stage.params.sample_chars} characters) vs whole documents "
          f"({sentences_per_document} dev sentences each)\n")
    print(f"documents: {len(documents)}; langdetect ran on {sampled.counters['language.detector_runs']}; "
          f"labels differ: {sum(a != b for a, b in zip(sampled['lang'], full['lang']))}; "
          f"right with sampling: {sum(a == e for a, e in zip(sampled['lang'], expected))}; "
          f"right on whole documents: {sum(a == e for a, e in zip(full['lang'], expected))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("langid", type=Path, nargs="?", default=DEFAULT_LANGID)
    args = parser.parse_args()
    stage = Language(LanguageParams())
    for kind in ("sentences", "word-pairs"):
        evaluate(args.langid / kind, stage)
    evaluate_kanji_only_japanese(args.langid, stage)
    evaluate_sampling(args.langid, stage)


if __name__ == "__main__":
    main()
