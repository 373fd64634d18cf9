"""The dataset root of the local folder: README.md (the newest version's card, every version a
configuration) and CHANGELOG.md, both rewritten from the versions' manifests after each release."""
from __future__ import annotations

import os
from pathlib import Path

from builder.publish.card import LoadTarget, VersionEntry, render_root_card
from builder.publish.changelog import render_changelog
from builder.publish.manifest import read_manifest
from builder.publish.versions import published_versions


def local_entries(dataset_dir: Path, staged: Path | None = None) -> list[VersionEntry]:
    """Every local version, oldest first, with the Hub commit of its latest release if it has one;
    `staged` is a version folder about to be published, counted as the newest."""
    entries = []
    for version_dir in published_versions(dataset_dir) + ([staged] if staged else []):
        manifest = read_manifest(version_dir)
        releases = manifest.get("releases") or []
        entries.append(VersionEntry(manifest["version"], manifest, releases[-1]["commit"] if releases else None))
    return entries


def render_root(dataset_dir: Path, staged: Path | None = None) -> dict[str, str]:
    """The root card (newest version's card, every version a configuration) and CHANGELOG.md, as text."""
    entries = local_entries(dataset_dir, staged)
    newest_dir = staged or dataset_dir / f"v{entries[-1].version}"
    card = render_root_card(newest_dir, entries, LoadTarget("local", dataset_dir.as_posix()))
    changelog = render_changelog(entries[-1].manifest["name"], [(f"v{e.version}", e.manifest, e.commit) for e in entries])
    return {"README.md": str(card), "CHANGELOG.md": changelog}


def write_root(dataset_dir: Path) -> None:
    """Rewrite the root card and CHANGELOG.md from the published versions."""
    for name, text in render_root(dataset_dir).items():
        _replace_text(dataset_dir / name, text)


def _replace_text(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
