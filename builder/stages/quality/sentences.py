"""Sentences repeated inside long lines: the copies go, the line stays.

Some pages (news with photo captions, templated listings) repeat whole sentences inside one
long line: `…清淤除障。(刘永兴摄)2023年8月10日，…清淤除障。(刘永兴摄)…`. Line rules cannot
remove part of a line, and the page's character n-gram repetition then drops a real article.
A sentence of a long line that already stood earlier on the page, in any line (a post shown as
paragraphs and again as one run-together line), with at least `MIN_SENTENCE_CHARS` visible
characters (compared without spaces), is removed from its line.
"""
from __future__ import annotations

import re

# A sentence runs to its end marks and takes along closing quotes and a short bracketed credit
# after them (`…井然。（记者摄）`).
SENTENCE_RE = re.compile(r"[^。！？!?]*[。！？!?]+(?:[”」』）)]|（[^（）]{0,12}）|\([^()]{0,12}\))*|[^。！？!?]+$")
MIN_SENTENCE_CHARS = 20
LONG_LINE_CHARS = 200


def drop_repeated_sentences(text: str) -> tuple[str, int]:
    """The text without repeated sentences of its long lines, and how many were removed."""
    if len(text) < LONG_LINE_CHARS:
        return text, 0
    lines = text.split("\n")
    if max(map(len, lines)) < LONG_LINE_CHARS:
        return text, 0
    if not _may_repeat(text):
        return text, 0
    seen: set[str] = set()
    removed = 0
    for index, line in enumerate(lines):
        long_line = len(line) >= LONG_LINE_CHARS
        kept: list[str] = []
        removed_here = 0
        for sentence in SENTENCE_RE.findall(line):
            key = "".join(sentence.split())
            if len(key) >= MIN_SENTENCE_CHARS:
                if key in seen and long_line:
                    removed_here += 1
                    continue
                seen.add(key)
            kept.append(sentence)
        if removed_here:
            lines[index] = "".join(kept)
            removed += removed_here
    return ("\n".join(lines), removed) if removed else (text, 0)


def _may_repeat(text: str) -> bool:
    """A cheap look first: does any long piece between two 。 (or line ends) occur twice on the page?"""
    pieces = [piece for piece in text.replace("\n", "。").split("。") if len(piece) >= MIN_SENTENCE_CHARS]
    return len(set(pieces)) < len(pieces)
