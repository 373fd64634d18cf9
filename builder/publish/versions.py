"""Semantic versions of published releases, and what `version: auto` becomes."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Literal

VERSION_DIR_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
Bump = Literal["major", "minor", "patch"]


def version_key(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.lstrip("v").split("."))
    return major, minor, patch


def published_versions(dataset_dir: Path) -> list[Path]:
    """Version folders that hold a complete release (a manifest), oldest first."""
    if not dataset_dir.is_dir():
        return []
    found = [p for p in dataset_dir.iterdir() if VERSION_DIR_RE.match(p.name) and (p / "MANIFEST.json").is_file()]
    return sorted(found, key=lambda p: version_key(p.name))


def newest(versions: Iterable[str]) -> str | None:
    """The highest of `X.Y.Z` / `vX.Y.Z` names (returned without the `v`), or None."""
    names = [v.lstrip("v") for v in versions if VERSION_DIR_RE.match("v" + v.lstrip("v"))]
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
