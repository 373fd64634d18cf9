"""What the page model reads: a page's prose, with its lines of program code left out.

The model was trained on pages where Latin letters and program punctuation mostly mean junk, so
a good Chinese tutorial that is half code scored like a page of junk and was dropped (real
pages: a CSDN solution, a forum post with its matplotlib code, a Docker how-to). When code lines
(`quality/code.py`) hold at least `code_share` of a page's characters and the rest is at least
`MIN_PROSE_CHARS`, the model scores the rest; every other page is scored whole, as it was
trained. The code itself stays in the page.
"""
from __future__ import annotations

import numpy as np

from builder.stages.quality.code import code_lines_of

MIN_PROSE_CHARS = 100


def prose_for_scoring(texts: list[str], code_share: float) -> list[str]:
    """`texts`, each with its code lines left out where they hold at least `code_share` of its characters."""
    if not texts or code_share >= 1:
        return texts
    code, length, first_line = code_lines_of(texts)
    lines_per_text = np.diff(first_line)
    text_of_line = np.repeat(np.arange(len(texts)), lines_per_text)
    code_chars = np.bincount(text_of_line, weights=np.where(code, length, 0), minlength=len(texts))
    line_chars = np.bincount(text_of_line, weights=length, minlength=len(texts))
    apart = (code_chars > 0) & (code_chars >= code_share * line_chars) & (line_chars - code_chars >= MIN_PROSE_CHARS)
    out = list(texts)
    for i in np.flatnonzero(apart).tolist():
        is_code = code[first_line[i] : first_line[i] + lines_per_text[i]].tolist()
        out[i] = "\n".join(line for line, skip in zip(texts[i].split("\n"), is_code) if not skip)
    return out
