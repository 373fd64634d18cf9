"""What `normalize` and PII redaction do to real web text, per file of a realweb-layout folder.

For each of `text/*.jsonl` and `html/page_text.jsonl` (records with `id` and `text`), runs
the `normalize` stage (flagship switches) and the PII finder on its output, and prints:

- invisible characters between text that became a line break or space (`invisible_breaks`):
  documents, breaks, and lines per document before and after (a paragraph-mark CMS shows
  here as one-line articles becoming many lines);
- punctuation folded inside numbers (`97．81％` -> `97.81%`): documents and marks;
- Latin words with accents in the input that are missing from the output (mojibake repair
  must never touch them; pinyin readings removed by `strip_pinyin` are not counted);
- PII spans found after normalize, per type, with the characters they cover.

It runs unchanged on any folder laid out like `../shared/realweb`, and skips files that are
not there.

    /work/venv/bin/python benchmarks/eval_normalize_realweb.py [--realweb ../shared/realweb]
"""
from __future__ import annotations

import argparse
import json
import unicodedata
from collections import Counter
from pathlib import Path

from builder.stages.normalize import Normalize, NormalizeParams
from builder.stages.quality.tables import fold
from builder.text.pii import PII_TYPES, PiiFinder
from builder.text.mojibake import LATIN_WORD_RE
from builder.text.punctuation import FULLWIDTH_ALNUM_RE, NUMBER_PUNCT_PATTERNS
from common import REPO

FILES = ("text/crud_rag_news.jsonl", "text/dureader_search.jsonl", "html/page_text.jsonl")
ASCII_FOLD = {c: chr(ord(c) - 0xFEE0) for c in "０１２３４５６７８９"}


def accented_words(text: str) -> set[str]:
    """Latin words with accents, except a word alone in parentheses (a pinyin reading
    that strip_pinyin removes)."""
    words = set()
    text = unicodedata.normalize("NFC", text)  # ftfy composes `e` + U+0301; so does this count
    for m in LATIN_WORD_RE.finditer(text):
        word = m.group()
        in_parentheses = text[m.start() - 1 : m.start()] in ("(", "（") and text[m.end() : m.end() + 1] in (")", "）")
        if not word.isascii() and not in_parentheses:
            words.add(word)
    return words


def evaluate(path: Path, stage: Normalize, finder: PiiFinder) -> None:
    records = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    breaks = Counter()
    lines_before = lines_after = 0
    number_docs = number_marks = 0
    words_seen = words_lost = 0
    lost_examples: list[str] = []
    pii_spans: Counter = Counter()
    pii_chars = 0
    for record in records:
        text = record["text"]
        counts: Counter = Counter()
        out, _ = stage.normalize(text, counts)
        if counts["invisible_breaks"]:
            breaks["documents"] += 1
            breaks["breaks"] += counts["invisible_breaks"]
            lines_before += text.count("\n") + 1
            lines_after += out.count("\n") + 1
        digits_folded = FULLWIDTH_ALNUM_RE.sub(lambda m: ASCII_FOLD.get(m.group(), m.group()), text)
        marks = sum(len(pattern.findall(digits_folded)) for pattern in NUMBER_PUNCT_PATTERNS.values())
        number_docs += bool(marks)
        number_marks += marks
        for word in accented_words(text):
            words_seen += 1
            if word not in unicodedata.normalize("NFC", out):
                words_lost += 1
                lost_examples.append(word)
        folded = fold(out)
        for span in finder.finditer(folded):
            pii_spans[span.type] += 1
            pii_chars += span.end - span.start
    print(f"{path.parent.name}/{path.name}: {len(records):,} documents, {sum(len(r['text']) for r in records):,} characters")
    lines = f", lines {lines_before:,} -> {lines_after:,}" if breaks["documents"] else ""
    print(f"  invisible breaks: {breaks['breaks']:,} in {breaks['documents']:,} documents{lines}")
    print(f"  number punctuation folded: {number_marks:,} marks in {number_docs:,} documents")
    print(f"  accented Latin words: {words_seen:,}, missing after normalize: {words_lost:,} {lost_examples[:5]}")
    print(f"  PII spans: {sum(pii_spans.values()):,} ({pii_chars:,} characters) {dict(sorted(pii_spans.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realweb", type=Path, default=REPO.parent / "shared" / "realweb")
    args = parser.parse_args()
    stage = Normalize(NormalizeParams(cjk_punctuation=True))
    finder = PiiFinder(PII_TYPES)
    found = [args.realweb / name for name in FILES if (args.realweb / name).exists()]
    if not found:
        print(f"no realweb files under {args.realweb}: nothing to measure")
        return
    for path in found:
        evaluate(path, stage, finder)


if __name__ == "__main__":
    main()
