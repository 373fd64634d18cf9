"""`normalize`: repair text without damaging Chinese (first version)."""
from __future__ import annotations

import re

import ftfy
import pyarrow as pa

from builder.stages import register
from builder.stages.base import Batch, Stage, StageParams

# ftfy's defaults fold full-width punctuation to ASCII and uncurl “”; both damage Chinese.
FTFY_CONFIG = ftfy.TextFixerConfig(fix_character_width=False, uncurl_quotes=False, fix_line_breaks=True)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
TRAILING_SPACE_RE = re.compile(r"[ \t\u00a0]+$", re.MULTILINE)
BLANK_LINES_RE = re.compile(r"\n{3,}")


class NormalizeParams(StageParams):
    ftfy: bool = True


@register
class Normalize(Stage):
    type = "normalize"
    Params = NormalizeParams

    def __call__(self, batch: Batch) -> Batch:
        texts = batch["text"]
        out = []
        for text in texts:
            if self.params.ftfy:
                text = ftfy.fix_text(text, FTFY_CONFIG)
            text = CONTROL_RE.sub("", text.replace("\r\n", "\n"))
            text = TRAILING_SPACE_RE.sub("", text.replace("\u00a0", " "))
            out.append(BLANK_LINES_RE.sub("\n\n", text).strip())
        batch["text"] = out
        return batch

    def columns(self) -> dict[str, pa.DataType]:
        return {}
