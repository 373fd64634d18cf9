"""Semantic versions of published releases."""
from __future__ import annotations

import re
from pathlib import Path

VERSION_DIR_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def version_key(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.lstrip("v").split("."))
    return major, minor, patch


def published_versions(dataset_dir: Path) -> list[Path]:
    """Version folders that hold a complete release (a manifest), oldest first."""
    if not dataset_dir.is_dir():
        return []
    found = [p for p in dataset_dir.iterdir() if VERSION_DIR_RE.match(p.name) and (p / "MANIFEST.json").is_file()]
    return sorted(found, key=lambda p: version_key(p.name))
