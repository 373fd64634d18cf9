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

__all__ = ["LocalRelease", "Staging", "VersionExists"]

from builder.publish import VersionExists
from builder.publish.card import CARD_DATA_FILE, LoadTarget, excerpt_placeholder, render_version_card, split_info
from builder.publish.changelog import describe_changes
from builder.publish.charts import write_charts
from builder.io.writers import sha256_file
from builder.publish.manifest import build_manifest, read_manifest, write_json
from builder.publish.root import write_root
from builder.publish.stats import collect
from builder.publish.versions import published_versions


def readable_files(version_dir: Path) -> list[str]:
    """The report, card data, card and charts of a version: written after the manifest, listed in its `files`."""
    names = ["report.json", CARD_DATA_FILE, "README.md"]
    charts = sorted(p.relative_to(version_dir).as_posix() for p in (version_dir / "charts").glob("*.png"))
    return [n for n in names if (version_dir / n).is_file()] + charts


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

    @property
    def version_dir(self) -> Path:
        return self.dataset_dir / f"v{self.version}"

    @property
    def run_dir(self) -> Path:
        return self.dataset_dir / "runs" / f"v{self.version}"

    def check_new(self) -> None:
        if self.version_dir.exists():
            raise VersionExists(
                f"{self.version_dir} already exists and published versions are immutable: "
                "set a new `version:` in the config (or `version: auto`) or pass --version X.Y.Z"
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

    def publish(self, staging: Staging, config, report: dict, shards, rejected_shards, inputs: list[dict],
                limit: int | None, auto_version: dict | None) -> None:
        """Manifest, report, card data, charts and card into the staged version; then rename it into place."""
        version_dir = staging.version_dir
        manifest = build_manifest(config, inputs, shards, rejected_shards, version_dir, limit, staging.previous_versions,
                                  split_info([s.path for s in shards]))
        if staging.previous_versions:
            previous = staging.previous_versions[-1]
            previous_report = json.loads((previous / "report.json").read_text(encoding="utf-8"))
            manifest["changes"] = describe_changes(read_manifest(previous), previous_report, manifest, report)
        else:
            manifest["changes"] = describe_changes(None, None, manifest, report)
        if auto_version:
            manifest["auto_version"] = auto_version
        manifest["releases"] = []
        write_json(version_dir / "MANIFEST.json", manifest)
        write_json(version_dir / "report.json", report)
        stats = collect([s.path for s in shards], [s.path for s in rejected_shards], excerpt_placeholder(manifest["config"]))
        write_json(version_dir / CARD_DATA_FILE, stats)
        write_charts(version_dir, report, stats)
        render_version_card(version_dir, self.load_target()).save(version_dir / "README.md")
        # What readers see besides the rows: hashed too, so `verify` notices a changed report, card or chart.
        manifest["files"] = [{"path": path, "sha256": sha256_file(version_dir / path)} for path in readable_files(version_dir)]
        write_json(version_dir / "MANIFEST.json", manifest)
        self.check_new()
        os.rename(version_dir, self.version_dir)  # atomic: the version appears whole or not at all
        self.run_dir.parent.mkdir(exist_ok=True)
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)  # rejected rows of an earlier, unpublished attempt
        os.rename(staging.run_dir, self.run_dir)
        write_root(self.dataset_dir)

    def load_target(self) -> LoadTarget:
        return LoadTarget("local", self.dataset_dir.as_posix())
