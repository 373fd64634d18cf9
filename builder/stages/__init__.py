"""Stage registry: config `type:` names -> stage classes, imported on first use.

The built-in stages are listed here by name and `module:Class`, so listing the names (the
command line's help, the config's "did you mean") imports none of them; a stage's module,
with the libraries and tables it loads, is imported the first time its class is asked for
(its `Params` to validate a config, or the class to run it). A stage module registers its
class with `@register`; the config and the runner look stages up only through `STAGES`.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from builder.stages.base import Batch, Decisions, Drop, Edit, GlobalContext, GlobalStage, Keys, Stage, StageParams

# Built-in stages (order is irrelevant; the config sets the order).
BUILTIN_STAGES = {
    "dedup": "builder.stages.dedup:Dedup",
    "language": "builder.stages.language:Language",
    "line_frequency": "builder.stages.line_frequency:LineFrequency",
    "normalize": "builder.stages.normalize:Normalize",
    "quality": "builder.stages.quality:Quality",
    "quality_model": "builder.stages.quality_model:QualityModel",
}


def _path_of(cls: type[Stage]) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class StageRegistry(Mapping):
    """`type` -> stage class; a built-in one is imported when it is first looked up."""

    def __init__(self, builtin: dict[str, str]):
        self._paths = dict(builtin)
        self._classes: dict[str, type[Stage]] = {}

    def register(self, cls: type[Stage]) -> type[Stage]:
        if cls.type in self._classes or self._paths.get(cls.type, _path_of(cls)) != _path_of(cls):
            raise ValueError(f"stage type {cls.type!r} registered twice")
        self._paths[cls.type] = _path_of(cls)
        self._classes[cls.type] = cls
        return cls

    def __getitem__(self, name: str) -> type[Stage]:
        cls = self._classes.get(name)
        if cls is None:
            module, _, qualname = self._paths[name].partition(":")  # KeyError: not a stage type
            importlib.import_module(module)  # the module's @register fills _classes
            cls = self._classes.get(name)
            if cls is None:
                raise RuntimeError(f"stage module {module} did not register {qualname} as {name!r}")
        return cls

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def module_of(self, name: str) -> str:
        """The module that defines stage `name`, without importing it."""
        return self._paths[name].partition(":")[0]


STAGES = StageRegistry(BUILTIN_STAGES)
register = STAGES.register

__all__ = ["STAGES", "register", "Batch", "Decisions", "Drop", "Edit", "GlobalContext", "GlobalStage", "Keys", "Stage", "StageParams"]
