"""MANIFEST.json: everything needed to rebuild a version byte for byte, and to check it."""
from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from builder.io.writers import ShardInfo

PINNED_PACKAGES = ("zh-corpus-builder", "datasets", "huggingface_hub", "pyarrow", "ftfy", "langdetect",
                   "opencc-python-reimplemented", "pypinyin", "pyahocorasick", "charset-normalizer", "numpy")


def config_sha256(resolved: dict) -> str:
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _git_commit() -> str | None:
    """The builder's own commit, when it runs from a git checkout (with `+dirty` if modified)."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True, timeout=5)
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str | None]:
    found = {}
    for name in PINNED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def build_manifest(config, inputs: list[dict], shards: list[ShardInfo], rejected: list[ShardInfo], version_dir: Path, dataset_dir: Path) -> dict:
    resolved = config.resolved()
    return {
        "name": config.name,
        "version": config.version,
        "builder": {"version": _versions()["zh-corpus-builder"], "git_commit": _git_commit()},
        "environment": {"python": platform.python_version(), "packages": _versions()},
        "config": resolved,
        "config_sha256": config_sha256(resolved),
        "inputs": inputs,
        "shards": [{"path": s.path.relative_to(version_dir).as_posix(), "rows": s.rows, "bytes": s.bytes, "sha256": s.sha256} for s in shards],
        "rejected": [{"path": f"runs/v{config.version}/rejected/{s.path.name}", "rows": s.rows, "sha256": s.sha256} for s in rejected],
    }
