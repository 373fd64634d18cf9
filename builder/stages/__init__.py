"""Stage registry: config `type:` names -> stage classes.

Importing this package registers the built-in stages. A stage module registers itself with
`@register`; the config and the runner look stages up only through `STAGES`.
"""
from __future__ import annotations

from builder.stages.base import Batch, Drop, Edit, GlobalContext, GlobalStage, Stage, StageParams

STAGES: dict[str, type[Stage]] = {}


def register(cls: type[Stage]) -> type[Stage]:
    if cls.type in STAGES:
        raise ValueError(f"stage type {cls.type!r} registered twice")
    STAGES[cls.type] = cls
    return cls


# Built-in stages register on import (order is irrelevant; the config sets the order).
from builder.stages import dedup, language, line_frequency, normalize, quality, quality_model  # noqa: E402,F401

__all__ = ["STAGES", "register", "Batch", "Drop", "Edit", "GlobalContext", "GlobalStage", "Stage", "StageParams"]
