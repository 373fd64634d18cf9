"""Local releases: build in a hidden staging folder, then appear atomically and immutably."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from builder.publish.card import write_root_card, write_version_card
from builder.publish.manifest import build_manifest
from builder.publish.versions import published_versions


class VersionExists(Exception):
    """Published versions are immutable."""


@dataclass
class Staging:
    root: Path
    version_dir: Path
    run_dir: Path
    work_dir: Path
    previous_versions: list[Path]


class LocalRelease:
    def __init__(self, root: Path, name: str, version: str):
        self.dataset_dir = root / name
        self.version = version
        self.version_dir = self.dataset_dir / f"v{version}"
        self.run_dir = self.dataset_dir / "runs" / f"v{version}"

    def check_new(self) -> None:
        if self.version_dir.exists():
            raise VersionExists(
                f"{self.version_dir} already exists and published versions are immutable: "
                "set a new `version:` in the config or pass --version X.Y.Z"
            )

    @contextmanager
    def staging(self) -> Iterator[Staging]:
        """A hidden folder beside the versions; removed on any failure, so no partial version is ever visible."""
        self.dataset_dir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=f".staging-v{self.version}-", dir=self.dataset_dir))
        staging = Staging(root, root / "version", root / "run", root / "work", published_versions(self.dataset_dir))
        for folder in (staging.version_dir, staging.run_dir, staging.work_dir):
            folder.mkdir()
        try:
            yield staging
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def publish(self, staging: Staging, config, report: dict, shards, rejected_shards, inputs: list[dict]) -> None:
        version_dir = staging.version_dir
        manifest = build_manifest(config, inputs, shards, rejected_shards, version_dir, self.dataset_dir)
        _write_json(version_dir / "MANIFEST.json", manifest)
        _write_json(version_dir / "report.json", report)
        write_version_card(version_dir, config, report, manifest)
        self.check_new()
        os.rename(version_dir, self.version_dir)  # atomic: the version appears whole or not at all
        self.run_dir.parent.mkdir(exist_ok=True)
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)  # rejected rows of an earlier, unpublished attempt
        os.rename(staging.run_dir, self.run_dir)
        write_root_card(self.dataset_dir, published_versions(self.dataset_dir))


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
