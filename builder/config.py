"""Typed, validated configuration, loaded from YAML with errors that point at the line.

Everything is checked before any document is read: unknown keys are rejected with the
nearest valid key as a suggestion, and each stage's parameters are validated by that
stage's own `Params` model.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from builder.publish.versions import is_version
from builder.stages import STAGES, StageParams


class ConfigError(Exception):
    """A user error in the config; the message names the file, line and key."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputConfig(Model):
    """Relative paths here and in `publish.root` are relative to the working directory."""

    paths: list[str] = Field(min_length=1, description="Files, folders or globs; expanded in sorted order.")
    format: Literal["jsonl", "parquet", "text", "datasets", "warc", "html"] = "jsonl"
    extract: Literal["main", "full"] = Field(
        "main", description="`warc`/`html`: `main` keeps the page's main content, `full` every visible text block (as a WET file)."
    )
    text_field: str = "text"
    id_field: str | None = "id"
    url_field: str | None = "url"
    encoding: str | None = Field(None, description="`text` format: declared charset, used when the bytes agree.")
    max_doc_chars: int = Field(5_000_000, gt=0, description="Longer documents are quarantined, not truncated.")
    max_quarantined_share: float = Field(
        0.5, ge=0, le=1, description="A run that quarantines more of its input than this is not published (a wrong field name, not bad data)."
    )


class PublishConfig(Model):
    """Every release is built into `root`; `target: hub` then uploads that same folder to `repo_id`."""

    target: Literal["local", "hub"] = "local"
    root: str = "out"
    repo_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="`target: hub`: the dataset repository, `org/name`. The token comes from HF_TOKEN or `hf auth login`.",
    )
    private: bool = Field(False, description="`target: hub`: create the repository private (ignored if it exists).")
    max_shard_mb: int = Field(256, gt=0, le=500, description="Uncompressed text per Parquet shard (the Hub serves shards up to 500 MB well).")
    row_group_mb: int = Field(64, gt=0, le=100, description="Uncompressed text per row group (at most 100 MB, so readers stream).")

    @model_validator(mode="after")
    def _hub_needs_repo(self):
        if self.target == "hub" and not self.repo_id:
            raise ValueError("publish.target hub needs publish.repo_id (org/name)")
        return self


class ExecutorConfig(Model):
    type: Literal["local", "ray"] = Field("local", description="`local`: this machine; `ray`: a Ray cluster (`pip install '.[ray]'`).")
    workers: int = Field(1, ge=1, description="`local`: 1 runs in-process; N uses N worker processes.")
    batch_size: int = Field(500, ge=1, description="Documents per batch handed to the stages.")
    unit_mb: int = Field(64, ge=0, description="Input files are grouped into resume units of about this many MB (a larger "
                         "file is a unit of its own; 0: one file per unit); an interrupted build re-run skips finished units.")
    address: str | None = Field(
        None, description="`ray`: the cluster to join (`auto`: the one `ray start` or RAY_ADDRESS names); null joins a running "
        "local cluster if there is one, else starts one for this run.",
    )
    num_cpus: int | None = Field(None, ge=1, description="`ray`: CPUs (stage workers) to use; null: every CPU of the cluster.")


class StageConfig(Model):
    type: str
    params: StageParams

    @property
    def stage_class(self):
        return STAGES[self.type]


class BuilderConfig(Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = Field("1.0.0", description="`X.Y.Z`, or `auto`: the next version after the newest published one.")
    breaking: bool = Field(False, description="With `version: auto`, bump the major version.")
    description: str = ""
    license: str = "other"
    input: InputConfig
    stages: list[StageConfig] = Field(default_factory=list)
    publish: PublishConfig = PublishConfig()
    executor: ExecutorConfig = ExecutorConfig()

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if value != "auto" and not is_version(value):
            raise ValueError(f"version must look like 1.2.3 (X.Y.Z, no leading zeros) or be auto, got {value!r}")
        return value

    @field_validator("stages", mode="before")
    @classmethod
    def _parse_stages(cls, items: Any) -> Any:
        if items is None:  # `stages:` with nothing under it: a copy-only build
            return []
        if not isinstance(items, list):
            return items
        parsed, problems = [], []
        for i, item in enumerate(items):
            try:
                parsed.append(_parse_stage(i, item))
            except _StageError as err:
                problems += err.problems
        if problems:
            raise _StageError(*problems[0], more=problems[1:])
        return parsed

    @model_validator(mode="after")
    def _one_global_stage_last(self):
        types = [s.type for s in self.stages]
        if len(set(types)) != len(types):
            raise ValueError(f"each stage type may appear once; got {types}")
        return self

    def resolved(self) -> dict[str, Any]:
        """The config with every default filled in: what the manifest and the card record."""
        data = self.model_dump(mode="json", exclude={"stages"})
        data["stages"] = [{"type": s.type, **s.params.model_dump(mode="json")} for s in self.stages]
        return data


def _parse_stage(index: int, item: Any) -> Any:
    if isinstance(item, StageConfig):
        return item
    if not isinstance(item, dict) or "type" not in item:
        raise _StageError((index,), "each stage is a mapping with a `type:` key")
    stage_type = item["type"]
    if stage_type not in STAGES:
        raise _StageError((index, "type"), f"unknown stage type {stage_type!r}{_suggest(str(stage_type), STAGES)}")
    params = {k: v for k, v in item.items() if k != "type"}
    try:
        return StageConfig(type=stage_type, params=STAGES[stage_type].Params(**params))
    except ValidationError as err:
        problems = [((index,) + tuple(e["loc"]), _describe(e, STAGES[stage_type].Params)) for e in err.errors()]
        raise _StageError(*problems[0], more=problems[1:]) from None


class _StageError(ValueError):
    def __init__(self, loc: tuple, message: str, more: list[tuple[tuple, str]] | None = None):
        super().__init__(message)
        self.problems = [(loc, message), *(more or [])]


def _suggest(name: str, valid) -> str:
    match = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else f"; valid: {', '.join(sorted(valid))}"


def _describe(error: dict, model: type[BaseModel] | None) -> str:
    key = error["loc"][-1] if error["loc"] else None
    if error["type"] == "extra_forbidden" and model is not None:
        return f"unknown key {key!r}{_suggest(str(key), model.model_fields)}"
    if error["type"] == "missing":
        return f"missing required key {key!r}"
    if error["type"] == "string_type" and isinstance(error.get("input"), (int, float)) and not isinstance(error.get("input"), bool):
        # YAML reads `version: 1.0` as the number 1.0: the user meant text.
        if key == "version":
            return f"YAML read {error['input']!r} as a number: quote it and give all three parts, X.Y.Z (version: \"1.0.0\")"
        return f"YAML read {error['input']!r} as a number: quote it to make it text"
    if error["type"] == "value_error" and isinstance(error.get("ctx", {}).get("error"), Exception):
        return str(error["ctx"]["error"])  # our own message, without pydantic's `Value error, ` prefix
    return error["msg"]


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model whose field set applies to the last element of an error location."""
    model: Any = BuilderConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """Walk the composed YAML tree along `loc`; return the 1-based line of the deepest match."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_config(path: str | Path, overrides: dict[str, Any] | None = None, flags: dict[str, str] | None = None) -> BuilderConfig:
    """Read, merge CLI overrides into, and validate a YAML config.

    `flags` maps an override's dotted key to the command-line flag that set it, so a bad value
    given on the command line is blamed on the flag, not on a line of the file. Every problem is
    reported, one per line, not only the first.
    """
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config ({err})") from None
    try:
        data = yaml.safe_load(source)
        tree = yaml.compose(source)
    except yaml.YAMLError as err:
        mark, context = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        opened = f"; the construct started at line {context.line + 1}" if context and mark and context.line != mark.line else ""
        raise ConfigError(f"{path}{where}: invalid YAML ({getattr(err, 'problem', err)}{opened})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys (name, input, stages, ...)")
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.rpartition(".")
        target = data.setdefault(section, {}) if section else data
        if not isinstance(target, dict):
            raise ConfigError(f"{path}: `{section}` must be a mapping to apply --{key}")
        target[key] = value
    try:
        return BuilderConfig(**data)
    except ValidationError as err:
        problems: list[tuple[tuple, str]] = []
        for error in err.errors():
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, _StageError):
                problems += [(("stages",) + loc, message) for loc, message in cause.problems]
            else:
                problems.append((tuple(error["loc"]), _describe(error, _model_at(tuple(error["loc"])))))
        lines = []
        for loc, message in problems:
            flag = (flags or {}).get(_dotted(loc))
            if flag is not None:
                lines.append(f"{flag} {(overrides or {}).get(_dotted(loc))}: {message}")
            else:
                lines.append(f"{config_location(path, tree, loc)}: {_dotted(loc)}: {message}")
        raise ConfigError("\n".join(lines)) from None


def config_location(path: Path, tree: yaml.Node | None, loc: tuple) -> str:
    """`file:line` of the key at `loc` (or just `file` when the key is not written in it)."""
    line = _line_of(tree, loc) if tree is not None else None
    return f"{path}:{line}" if line else str(path)


def locate(path: str | Path, loc: tuple) -> str:
    """`file:line` of a key of a config file already loaded (for errors found after validation)."""
    try:
        tree = yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        tree = None
    return config_location(Path(path), tree, loc)
