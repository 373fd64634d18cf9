"""A recipe's stages run in process on a list of labelled pages, for the training scripts.

Nothing is dropped (every labelled page is looked at); what a stage would drop is recorded as the
page's reason. Global stages (line_frequency; dedup is left out) are decided over all pages at once,
as one build would, and the lines they remove are blanked, so that line numbers stay those of the
input and line labels still apply.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from builder.config import load_config
from builder.stages import STAGES
from builder.stages.base import Batch, Edit, GlobalContext, GlobalStage, Keys, Stage


@dataclass
class StagesOutput:
    texts: list[str]
    removed_lines: list[set[int]]  # per page: lines a global stage removed (blank in `texts`)
    reasons: list[str | None]  # per page: the first drop reason a stage gave, None if kept


def stages_until(config_path: Path, last: str, **last_overrides) -> tuple[list[Stage], Stage]:
    """The recipe's stages before the first `last` stage (dedup left out), and that stage with `last_overrides`."""
    config = load_config(config_path)
    stages = []
    for stage_config in config.stages:
        if stage_config.type == last:
            return stages, STAGES[last](stage_config.params.model_copy(update=last_overrides))
        if stage_config.type != "dedup":
            stages.append(STAGES[stage_config.type](stage_config.params))
    raise SystemExit(f"{config_path}: no `{last}` stage")


def run_stages(stages: list[Stage], pages: list[dict]) -> StagesOutput:
    """`pages` are dicts with `id`, `text` and maybe `url`."""
    columns = {"id": [p["id"] for p in pages], "text": [p["text"] for p in pages], "url": [p.get("url") for p in pages]}
    removed: list[set[int]] = [set() for _ in pages]
    reasons: list[str | None] = [None] * len(pages)
    for stage in stages:
        batch = stage(Batch(dict(columns)))
        for row, drop in batch.drops.items():
            reasons[row] = reasons[row] or drop.reason
        columns = batch.columns
        if isinstance(stage, GlobalStage):
            key_types = stage.key_columns()
            keys = pa.table({"id": pa.array(columns["id"]), **{k: pa.array(columns[k], type=t) for k, t in key_types.items()}})
            decisions = stage.decide(Keys.of(keys), GlobalContext(previous_versions=[], artifacts_dir=None))
            texts = []
            for row, (text, decision) in enumerate(zip(columns["text"], decisions)):
                if isinstance(decision, Edit):
                    parts = text.split("\n")
                    for index in decision.lines:
                        parts[index] = ""
                        removed[row].add(index)
                    text = "\n".join(parts)
                texts.append(text)
            columns = {k: v for k, v in columns.items() if k not in key_types} | {"text": texts}
    return StagesOutput(columns["text"], removed, reasons)
