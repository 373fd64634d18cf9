"""The shipped quality model: a logistic regression over `features.py`, stored as one `.npz`.

The file holds plain arrays only (read with `allow_pickle=False`): `ngram_weights` (float16,
one per hash bucket), `dense_weights`, `dense_mean`, `dense_scale` (float32, one per dense
feature), `bias`, and `meta`, a JSON string with the feature recipe (`bits`, `orders`,
`dense_features`) and what the training script recorded about the data. Scoring needs numpy
only; the training script (`benchmarks/train_quality_model.py`) writes the file with `save`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from builder.stages.models import read_model_arrays
from builder.stages.quality.ngrams import BatchPoints, ngram_scores
from builder.stages.quality_model.features import DENSE_FEATURES, dense_features

FORMAT = "zh-corpus-builder/quality-model/1"
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "quality_model.npz"
MAX_LOGIT = 50.0  # exp(50) is far from overflow; a probability past it is 1 - 2e-22 anyway


class ModelFileError(ValueError):
    """A model file that is missing or not a quality model; the message names the file."""


@dataclass
class LinearQualityModel:
    bits: int
    orders: tuple[int, ...]
    ngram_weights: np.ndarray  # float32 at run time (stored as float16)
    dense_weights: np.ndarray
    dense_mean: np.ndarray
    dense_scale: np.ndarray
    bias: float
    meta: dict = field(default_factory=dict)

    def logits(self, texts: list[str]) -> np.ndarray:
        points = BatchPoints.from_texts(texts)
        z = ngram_scores(points, self.orders, self.bits, self.ngram_weights)
        dense = (dense_features(points) - self.dense_mean) / self.dense_scale
        for column, weight in enumerate(self.dense_weights.tolist()):  # elementwise: no BLAS reduction order
            z = z + dense[:, column] * weight
        return z + self.bias

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probability that each page is worth keeping, float32; the same for a page alone or in any batch."""
        return np.array(
            [1.0 / (1.0 + math.exp(-min(max(z, -MAX_LOGIT), MAX_LOGIT))) for z in self.logits(texts).tolist()],
            dtype=np.float32,
        )

    def save(self, path: Path) -> None:
        meta = {**self.meta, "format": FORMAT, "bits": self.bits, "orders": list(self.orders),
                "dense_features": list(DENSE_FEATURES)}  # fmt: skip
        np.savez_compressed(
            path,
            ngram_weights=self.ngram_weights.astype(np.float16),
            dense_weights=self.dense_weights.astype(np.float32),
            dense_mean=self.dense_mean.astype(np.float32),
            dense_scale=self.dense_scale.astype(np.float32),
            bias=np.array(self.bias, dtype=np.float32),
            meta=np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
        )


@lru_cache(maxsize=4)
def load_model(path: str) -> LinearQualityModel:
    """Read a model file once per process; every error names the file and what is wrong."""
    arrays, meta = read_model_arrays(
        path, {"ngram_weights", "dense_weights", "dense_mean", "dense_scale", "bias"}, FORMAT, ModelFileError, "quality model"
    )
    if meta.get("dense_features") != list(DENSE_FEATURES):
        raise ModelFileError(f"quality model file {path} was trained on other dense features: {meta.get('dense_features')}")
    bits, orders = int(meta["bits"]), tuple(int(n) for n in meta["orders"])
    if arrays["ngram_weights"].shape != (1 << bits,):
        raise ModelFileError(f"quality model file {path}: ngram_weights has shape {arrays['ngram_weights'].shape}, bits={bits}")
    return LinearQualityModel(
        bits=bits,
        orders=orders,
        ngram_weights=arrays["ngram_weights"].astype(np.float32),
        dense_weights=arrays["dense_weights"].astype(np.float64),
        dense_mean=arrays["dense_mean"].astype(np.float64),
        dense_scale=arrays["dense_scale"].astype(np.float64),
        bias=float(arrays["bias"]),
        meta=meta,
    )
