"""MANIFEST.json: everything needed to rebuild a version byte for byte, and to check it."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from builder.io.writers import ShardInfo, sha256_file

PINNED_PACKAGES = ("zh-corpus-builder", "datasets", "huggingface_hub", "pyarrow", "ftfy", "langdetect",
                   "opencc", "pypinyin", "charset-normalizer", "numpy")


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


def package_versions() -> dict[str, str | None]:
    found = {}
    for name in PINNED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _file_sha256s(version_dir: Path, skip: set[Path]) -> list[dict]:
    return [
        {"path": path.relative_to(version_dir).as_posix(), "sha256": sha256_file(path)}
        for path in sorted(p for p in version_dir.rglob("*") if p.is_file() and p not in skip)
    ]


def build_manifest(config, inputs: list[dict], shards: list[ShardInfo], rejected: list[ShardInfo], version_dir: Path,
                   limit: int | None, previous_versions: list[Path], split: dict) -> dict:
    """Call before anything but the build's own output is in `version_dir`: every file there then is
    either a shard or a stage artifact (e.g. dedup signatures), and all of them are hashed."""
    resolved = config.resolved()
    shard_paths = {s.path for s in shards}
    return {
        "name": config.name,
        "version": config.version,
        "builder": {"version": package_versions()["zh-corpus-builder"], "git_commit": _git_commit()},
        "environment": {"python": platform.python_version(), "packages": package_versions()},
        "config": resolved,
        "config_sha256": config_sha256(resolved),
        # Relative input paths, and ids made from them, mean something only from here.
        "working_directory": os.getcwd(),
        "inputs": inputs,
        "limit": limit,
        # Cross-version dedup reads these versions' signatures: a rebuild needs the same ones.
        "previous_versions": [
            {"version": v.name, "artifacts": read_manifest(v).get("artifacts", [])} for v in previous_versions
        ],
        "split": split,
        "shards": [{"path": s.path.relative_to(version_dir).as_posix(), "rows": s.rows, "bytes": s.bytes, "sha256": s.sha256} for s in shards],
        "artifacts": _file_sha256s(version_dir, shard_paths),
        "rejected": [{"path": f"runs/v{config.version}/rejected/{s.path.name}", "rows": s.rows, "sha256": s.sha256} for s in rejected],
    }


def read_manifest(version_dir: Path) -> dict:
    return json.loads((version_dir / "MANIFEST.json").read_text(encoding="utf-8"))


def write_json(path: Path, data: dict) -> None:
    """Written beside and renamed over, so a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
