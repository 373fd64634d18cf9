"""`dedup`: exact duplicates on normalized text (first version)."""
from __future__ import annotations

import hashlib

import pyarrow as pa

from builder.stages import register
from builder.stages.base import Batch, Drop, GlobalContext, GlobalStage, StageParams


class DedupParams(StageParams):
    exact: bool = True


@register
class Dedup(GlobalStage):
    type = "dedup"
    Params = DedupParams

    def key_columns(self) -> dict[str, pa.DataType]:
        return {"_dedup_exact": pa.binary(16)}

    def __call__(self, batch: Batch) -> Batch:
        batch["_dedup_exact"] = [hashlib.blake2b("".join(t.split()).encode(), digest_size=16).digest() for t in batch["text"]]
        return batch

    def decide(self, keys: pa.Table, context: GlobalContext) -> list[Drop | None]:
        first: dict[bytes, str] = {}
        out: list[Drop | None] = []
        for doc_id, key in zip(keys["id"].to_pylist(), keys["_dedup_exact"].to_pylist()):
            if key in first:
                out.append(Drop("dedup.exact", first[key]))
            else:
                first[key] = doc_id
                out.append(None)
        return out
