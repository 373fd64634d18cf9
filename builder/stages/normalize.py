"""`normalize`: repair Chinese text instead of damaging it.

Sub-steps run in this order, each behind its own switch and counted in the report as
`normalize.<switch>`:

1. `strip_invisible` (first part): format characters (zero-width, bidi, BOM) go before any
   repair, so they cannot split a mojibake span.
2. `repair_mojibake`: reversible CJK mojibake (see `builder.text.mojibake`).
3. `ftfy`: only on lines holding a character one of its fixes looks for, with the options
   that keep Chinese punctuation full-width and Chinese quotes curly.
4. `strip_invisible` (second part): C1 controls, private use, odd spaces, whitespace per line.
   Invisible characters between text become a line break or a space where the context
   says so (paragraph marks, glyphs between Latin words), counted as `invisible_breaks`.
5. `strip_pinyin`: `據(jù)` -> `據` when the reading is the character's.
6. `fold_width`: `ＶＩＰ２０１２` -> `VIP2012`, `９７．８１％` -> `97.81%`.
   Steps 2-6 repeat while one of them exposes something an earlier one can repair.
   Lossy damage is measured here, into `mojibake_ratio`, before anything can hide it.
7. `cjk_punctuation` (off by default): `,:;?!()` between Chinese characters to full width.
8. `convert`: OpenCC script conversion; `script` then records the original script.

Every sub-step is a no-op on text it has nothing to do for, and each starts with a cheap
whole-text check so that clean text costs a few regex scans.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Literal

import ftfy
import pyarrow as pa
from pydantic import Field

from builder.stages import register
from builder.stages.base import Batch, Stage, StageParams
from builder.text.chars import HAN_RANGES, KANA_RANGES
from builder.text.invisible import remove_format_junk, strip_invisible
from builder.text.mojibake import LOST_QUESTION_STRONG_RE, might_be_mojibake, mojibake_ratio, repair_mojibake
from builder.text.pinyin import strip_pinyin_annotations
from builder.text.punctuation import fold_width, restore_cjk_punctuation

# ftfy's defaults fold full-width punctuation to ASCII and uncurl “”: both damage Chinese.
FTFY_CONFIG = ftfy.TextFixerConfig(fix_character_width=False, uncurl_quotes=False, explain=False)

# Characters no ftfy fix changes on their own: ASCII (but `&`, which may open an HTML
# entity), CJK, kana, Hangul syllables, general and CJK punctuation, full-width forms,
# and Latin-1 / pinyin letters (ftfy's encoding fixes need two of those in a row; `Â` and
# `Ã` are left out because `Â ` and `Ã ` are mojibake of a no-break space and `à`).
FTFY_QUIET = (
    "\t\n\x20-\x25\x27-\x7e\u00a0-\u00c1\u00c4-\u00ff\u0100-\u024f\u2010-\u2027\u2030-\u205e"
    f"\u3000-\u303f\u3100-\u312f{KANA_RANGES}\uac00-\ud7a3\uff00-\uffef{HAN_RANGES.replace(chr(0xF900) + '-' + chr(0xFAFF), '')}"
)
FTFY_NEEDED_RE = re.compile(f"[^{FTFY_QUIET}]")
LATIN_PAIR_RE = re.compile(r"[\u0080-\u024f][\u0080-\u024f]")
HTML_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")


def needs_ftfy(text: str) -> bool:
    """True when some ftfy fix could change the text (an exact superset, never a guess)."""
    return (
        FTFY_NEEDED_RE.search(text) is not None
        or LATIN_PAIR_RE.search(text) is not None
        or ("&" in text and HTML_ENTITY_RE.search(text) is not None)
    )


MAX_REPAIR_ROUNDS = 3


class NormalizeParams(StageParams):
    repair_mojibake: bool = Field(True, description="Reverse CJK mojibake where the round trip is reversible (UTF-8 read as GBK/Big5, GBK/Big5 read as Latin-1, double encodings).")
    ftfy: bool = Field(True, description="Run ftfy (Chinese-safe options) on lines that hold something it can fix.")
    strip_invisible: bool = Field(True, description="Remove BOMs, zero-width and bidi marks, private-use glyphs and control characters (a paragraph mark between text becomes a line break); tidy whitespace per line, keeping paragraphs.")
    strip_pinyin: bool = Field(True, description="Remove `(pinyin)` glued after a Han character when it is a reading of that character.")
    fold_width: bool = Field(True, description="Full-width ASCII letters and digits to half-width, with the punctuation inside numbers (９７．８１％ -> 97.81%); other punctuation stays full-width.")
    cjk_punctuation: bool = Field(False, description="Half-width ,:;?!() between two Chinese characters to ，：；？！（）.")
    convert: Literal["none", "t2s", "s2t", "s2tw"] = Field("none", description="OpenCC script conversion; the original script is kept in column `script`.")


def _lines_needing_ftfy(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line holding something ftfy could fix, in order."""
    lines = []
    position = 0
    while position <= len(text):
        found = [m.start() for m in (FTFY_NEEDED_RE.search(text, position), LATIN_PAIR_RE.search(text, position)) if m]
        if "&" in text:
            entity = HTML_ENTITY_RE.search(text, position)
            if entity:
                found.append(entity.start())
        if not found:
            break
        hit = min(found)
        start = text.rfind("\n", 0, hit) + 1
        end = text.find("\n", hit)
        end = len(text) if end < 0 else end
        lines.append((start, end))
        position = end + 1
    return lines


def fix_with_ftfy(text: str) -> tuple[str, int]:
    """ftfy on the lines that need it; returns (text, lines changed)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    pieces = []
    changed = last = 0
    for start, end in _lines_needing_ftfy(text):
        line = text[start:end]
        fixed = ftfy.fix_text(line, FTFY_CONFIG)
        if fixed != line:
            pieces += [text[last:start], fixed]
            last = end
            changed += 1
    if not changed:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), changed


@register
class Normalize(Stage):
    type = "normalize"
    Params = NormalizeParams

    def __init__(self, params: NormalizeParams):
        super().__init__(params)
        self.converter = None
        if params.convert != "none":
            import opencc

            from builder.text.script import han_script

            self.converter = opencc.OpenCC(params.convert)
            self.han_script = han_script

    def columns(self) -> dict[str, pa.DataType]:
        out = {"mojibake_ratio": pa.float32()}
        if self.params.convert != "none":
            out["script"] = pa.string()
        return out

    def normalize(self, text: str, counts: Counter) -> tuple[str, float]:
        """One document through every enabled sub-step; returns (text, mojibake_ratio)."""
        p = self.params
        if p.strip_invisible:
            text, n, breaks = remove_format_junk(text)
            counts["strip_invisible"] += n
            if breaks:
                counts["invisible_breaks"] += breaks
        # Sub-steps can enable each other: ftfy may peel a layer that hides CJK mojibake,
        # removing a C1 control may join a sequence ftfy knows, and turning a no-break space
        # or a full-width letter into ASCII may complete a mojibake span. Rounds repeat
        # (rarely) until none of that is left, so that normalize is idempotent.
        rerun_ftfy = False
        for round_number in range(MAX_REPAIR_ROUNDS):
            if p.repair_mojibake:
                text, n = repair_mojibake(text)
                counts["repair_mojibake"] += n
                if round_number and not (n or rerun_ftfy):
                    break
            fixed = junk = changed = 0
            if p.ftfy:
                text, fixed = fix_with_ftfy(text)
                counts["ftfy"] += fixed
                if fixed and p.repair_mojibake:
                    # before strip_invisible removes the private-use characters it is made of
                    text, n = repair_mojibake(text)
                    counts["repair_mojibake"] += n
            if p.strip_invisible:
                text, changed, junk, breaks = strip_invisible(text)
                counts["strip_invisible"] += changed
                if breaks:
                    counts["invisible_breaks"] += breaks
            if p.strip_pinyin:
                text, n = strip_pinyin_annotations(text)
                counts["strip_pinyin"] += n
                changed += n
            if p.fold_width:
                text, n = fold_width(text)
                counts["fold_width"] += n
                changed += n
            rerun_ftfy = bool(p.ftfy and (fixed or junk))
            if not (rerun_ftfy or (changed and p.repair_mojibake and might_be_mojibake(text))):
                break
        # After repair_mojibake ran to a fixed point, no reversible span is left to count.
        ratio = mojibake_ratio(text, residue=0 if p.repair_mojibake else None)
        if ratio:
            counts["mojibake_lossy_documents"] += 1
        if p.cjk_punctuation:
            keep_question_marks = LOST_QUESTION_STRONG_RE.search(text) is not None
            text, n = restore_cjk_punctuation(text, keep_question_marks)
            counts["cjk_punctuation"] += n
        if self.converter is not None:
            converted = self.converter.convert(text)
            counts["convert"] += converted != text
            text = converted
        return text, ratio

    def __call__(self, batch: Batch) -> Batch:
        texts = batch["text"]
        counts: Counter = Counter()
        out, ratios = [], []
        scripts = [self.han_script(t) for t in texts] if self.converter is not None else None
        for text in texts:
            text, ratio = self.normalize(text, counts)
            out.append(text)
            ratios.append(ratio)
        batch["text"] = out
        batch["mojibake_ratio"] = ratios
        if scripts is not None:
            batch["script"] = scripts
        for name, n in counts.items():
            batch.count(f"normalize.{name}", n)
        return batch
