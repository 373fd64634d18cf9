"""What the builder can do, told from its typed models: the stage catalogue, the config's JSON
Schema for editors, and the flagship recipe for `init` (shipped inside the package)."""
from __future__ import annotations

import copy
import shutil
import textwrap
from importlib import resources
from pathlib import Path

from pydantic_core import PydanticUndefined

from builder.config import BuilderConfig, ConfigError
from builder.stages import STAGES, GlobalStage

RECIPE = "zh.yaml"


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""


def _default(field) -> str:
    if field.default is PydanticUndefined:
        return "(required)"
    value = field.default
    if isinstance(value, tuple):
        value = list(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_stages() -> str:
    """Every registered stage: what it is for, then each parameter with its default and meaning."""
    out = ["Stages, in the order they usually run; use them in `stages:` as `- type: NAME` plus parameters.", ""]
    order = ["normalize", "language", "quality", "dedup"]
    for name in sorted(STAGES, key=lambda n: (order.index(n) if n in order else len(order), n)):
        stage = STAGES[name]
        kind = " (global: decides over all documents)" if issubclass(stage, GlobalStage) else ""
        meaning = _first_line(stage.__doc__) or _first_line(__import__(stage.__module__, fromlist=["_"]).__doc__)
        meaning = meaning.removeprefix(f"`{name}`:").removeprefix(f"`{name}`").strip()
        out.append(f"{name}{kind}: {meaning}")
        for key, field in stage.Params.model_fields.items():
            meaning = field.description or ""
            line = f"  {key:<26} {_default(field):<22} {meaning}"
            out += textwrap.wrap(line, 120, subsequent_indent=" " * 52) or [line]
        out.append("")
    out.append("The config's other keys: `python -m builder stages --schema -` prints its JSON Schema.")
    return "\n".join(out)


def config_schema() -> dict:
    """The config's JSON Schema, with `stages` items spelled out per stage type (for editors' completion)."""
    schema = BuilderConfig.model_json_schema()
    definitions = schema.setdefault("$defs", {})
    variants = []
    for name, stage in sorted(STAGES.items()):
        params = copy.deepcopy(stage.Params.model_json_schema())
        definitions.update(params.pop("$defs", {}))
        params["properties"] = {"type": {"const": name, "description": _first_line(stage.__doc__)}, **params.get("properties", {})}
        params["required"] = ["type", *params.get("required", [])]
        params["additionalProperties"] = False
        params["title"] = f"stage {name}"
        variants.append(params)
    schema["properties"]["stages"] = {"type": ["array", "null"], "items": {"oneOf": variants},
                                      "description": "Ordered list of stages: `- type: NAME` plus its parameters."}
    schema["$defs"].pop("StageConfig", None)
    schema["$defs"].pop("StageParams", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "zh-corpus-builder config"
    return schema


def write_starter(directory: Path) -> Path:
    """Copy the flagship recipe (package data) into `directory`; never over an existing file."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / RECIPE
    if target.exists():
        raise ConfigError(f"{target} already exists: not overwriting it (give another folder: python -m builder init DIR)")
    with resources.as_file(resources.files("builder.recipes").joinpath(RECIPE)) as source:
        shutil.copyfile(source, target)
    return target
