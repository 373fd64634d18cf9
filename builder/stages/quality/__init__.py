"""`quality`: document-level filters for Chinese (first version)."""
from __future__ import annotations

import pyarrow as pa

from builder.stages import register
from builder.stages.base import Batch, Stage, StageParams
from builder.text.chars import count_han


class QualityParams(StageParams):
    min_chars: int = 50
    min_cjk_share: float = 0.3


@register
class Quality(Stage):
    type = "quality"
    Params = QualityParams

    def columns(self) -> dict[str, pa.DataType]:
        return {}

    def __call__(self, batch: Batch) -> Batch:
        for row, text in enumerate(batch["text"]):
            chars = sum(1 for ch in text if not ch.isspace())
            if chars < self.params.min_chars:
                batch.drop(row, "quality.min_chars")
            elif count_han(text) / chars < self.params.min_cjk_share:
                batch.drop(row, "quality.min_cjk_share")
        return batch
