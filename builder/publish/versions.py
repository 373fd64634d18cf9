"""Semantic versions of published releases, and what `version: auto` becomes."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Literal

# Semantic versions exactly: no leading zeros (`01.0.0` would be a second 1.0.0), nothing after
# the last digit (`$` would also accept a trailing newline), hence `\Z`.
_NUMBER = r"(0|[1-9][0-9]*)"
VERSION_RE = re.compile(rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}\Z")
VERSION_DIR_RE = re.compile(rf"v{_NUMBER}\.{_NUMBER}\.{_NUMBER}\Z")
Bump = Literal["major", "minor", "patch"]


def is_version(text: str) -> bool:
    """Whether `text` is a strict `X.Y.Z` semantic version (ASCII digits, no leading zeros)."""
    return isinstance(text, str) and VERSION_RE.match(text) is not None


def version_key(version: str) -> tuple[int, int, int]:
    """`X.Y.Z` or `vX.Y.Z` as numbers, so 1.10.0 sorts after 1.9.0."""
    match = (VERSION_DIR_RE if version.startswith("v") else VERSION_RE).match(version)
    if match is None:
        raise ValueError(f"not a version: {version!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def published_versions(dataset_dir: Path) -> list[Path]:
    """Version folders that hold a complete release (a manifest), oldest first."""
    if not dataset_dir.is_dir():
        return []
    found = [p for p in dataset_dir.iterdir() if VERSION_DIR_RE.match(p.name) and (p / "MANIFEST.json").is_file()]
    return sorted(found, key=lambda p: version_key(p.name))


def newest(versions: Iterable[str]) -> str | None:
    """The highest of `X.Y.Z` / `vX.Y.Z` names (returned without the `v`), or None."""
    names = [v.removeprefix("v") for v in versions if is_version(v.removeprefix("v"))]
    return max(names, key=version_key) if names else None


def bump(previous: str | None, part: Bump) -> str:
    """The version after `previous`; the first release is 1.0.0 whatever the part."""
    if previous is None:
        return "1.0.0"
    major, minor, patch = version_key(previous)
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"
