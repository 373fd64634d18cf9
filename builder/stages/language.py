"""`language`: language and script labels (first version: langdetect, seeded)."""
from __future__ import annotations

import pyarrow as pa
from langdetect import DetectorFactory, LangDetectException, detect_langs

from builder.stages import register
from builder.stages.base import Batch, Stage, StageParams


class LanguageParams(StageParams):
    keep: list[str] = ["zh"]
    min_score: float = 0.5
    seed: int = 0


@register
class Language(Stage):
    type = "language"
    Params = LanguageParams

    def columns(self) -> dict[str, pa.DataType]:
        return {"lang": pa.string(), "script": pa.string(), "lang_score": pa.float32()}

    def __call__(self, batch: Batch) -> Batch:
        DetectorFactory.seed = self.params.seed
        langs, scripts, scores = [], [], []
        for row, text in enumerate(batch["text"]):
            try:
                best = detect_langs(text[:2000])[0]
                lang, score = best.lang, best.prob
            except LangDetectException:
                lang, score = "und", 0.0
            script = {"zh-cn": "Hans", "zh-tw": "Hant"}.get(lang)
            lang = lang.split("-")[0]
            langs.append(lang)
            scripts.append(script)
            scores.append(score)
            if lang not in self.params.keep or score < self.params.min_score:
                batch.drop(row, "language")
        batch["lang"], batch["script"], batch["lang_score"] = langs, scripts, scores
        return batch
