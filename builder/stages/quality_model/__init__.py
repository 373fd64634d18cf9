"""`quality_model`: a learned page-quality score, and a drop below a threshold.

Rules (the `quality` stage) remove what is certain; this stage scores what rules cannot see
(spun SEO text, teaser lists, thin pages that pass every signal) with a small linear model over
hashed character n-grams and a few dense signals (`features.py`, `linear.py`), trained on real
pages labelled by careful reading (`builder/stages/models/QUALITY_MODEL.md`). It goes after
`quality`, so it scores the cleaned text it was trained on; a page that is largely program code
is scored on its prose (`prose.py`). The model is read once per worker;
scoring is numpy only and gives a page the same score alone or in any batch.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pydantic import Field, field_validator

from builder.stages import register
from builder.stages.base import Batch, Stage, StageParams
from builder.stages.quality_model.linear import SHIPPED_MODEL, ModelFileError, load_model
from builder.stages.quality_model.prose import prose_for_scoring

DROP_REASON = "quality_model.low_score"


class QualityModelParams(StageParams):
    threshold: float = Field(
        0.5, ge=0, le=1, description="drop (quality_model.low_score) a page whose quality_score is below this"
    )
    code_share: float = Field(
        0.2, ge=0, le=1, description="a page whose lines of program code hold at least this share of its characters is "
        "scored on its prose alone (the code stays in the page); 1: every page scored whole",
    )
    annotate: bool = Field(False, description="keep every document and publish quality_score as a column")
    model: str | None = Field(
        None,
        description="path of a model .npz written by benchmarks/train_quality_model.py; null: the shipped model "
        "(builder/stages/models/quality_model.npz)",
    )

    @field_validator("model")
    @classmethod
    def _loadable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                load_model(str(Path(value)))
            except ModelFileError as err:
                raise ValueError(str(err)) from None
        return value

    def model_path(self) -> str:
        return str(Path(self.model)) if self.model is not None else str(SHIPPED_MODEL)


@register
class QualityModel(Stage):
    type = "quality_model"
    Params = QualityModelParams

    def __init__(self, params: QualityModelParams):
        super().__init__(params)
        self.model = load_model(params.model_path())
        self.model.predict_proba(["预热。"])  # builds the code-point tables once per worker, not inside the first batch

    def columns(self) -> dict[str, pa.DataType]:
        return {"quality_score": pa.float32()} if self.params.annotate else {}

    def __call__(self, batch: Batch) -> Batch:
        texts = batch["text"]
        scores = self.model.predict_proba(prose_for_scoring(texts, self.params.code_share)).tolist() if texts else []
        threshold = self.params.threshold
        if self.params.annotate:
            batch["quality_score"] = scores
            batch.count("quality_model.below_threshold", sum(score < threshold for score in scores))
            return batch
        for row, score in enumerate(scores):
            if score < threshold:
                batch.drop(row, DROP_REASON, f"quality_score={score:.3f} (threshold {threshold})")
        return batch
