"""Does a published version still match its manifest, and does the manifest rebuild it?

Re-hashing checks the shards and stage artifacts on disk against MANIFEST.json. Rebuilding runs
the build again from the manifest alone (resolved config, input fingerprints, document limit, the
earlier versions cross-version dedup read) into a temporary folder and compares the sha256 of
every shard and artifact: equal means the version is reproducible byte for byte.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from builder.io.writers import sha256_file
from builder.publish import PublishError
from builder.publish.manifest import package_versions, read_manifest


@dataclass
class Verdict:
    matches: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def rehash(version_dir: Path) -> Verdict:
    if not (version_dir / "MANIFEST.json").is_file():
        raise PublishError(f"{version_dir}: no MANIFEST.json here; give a version folder such as out/zh-web/v1.0.0")
    manifest = read_manifest(version_dir)
    problems = []
    for shard in manifest["shards"]:
        path = version_dir / shard["path"]
        if not path.is_file():
            problems.append(f"missing shard {shard['path']}")
        elif sha256_file(path) != shard["sha256"]:
            problems.append(f"shard {shard['path']}: sha256 differs from the manifest")
        elif pq.read_metadata(path).num_rows != shard["rows"]:
            problems.append(f"shard {shard['path']}: {pq.read_metadata(path).num_rows} rows, the manifest says {shard['rows']}")
    listed = {s["path"] for s in manifest["shards"]}
    for extra in sorted((version_dir / "data").glob("*.parquet")):
        if extra.relative_to(version_dir).as_posix() not in listed:
            problems.append(f"shard {extra.relative_to(version_dir).as_posix()} is not in the manifest")
    for kind, items in (("artifact", manifest["artifacts"]), ("file", manifest.get("files", []))):
        for item in items:
            path = version_dir / item["path"]
            if not path.is_file():
                problems.append(f"missing {kind} {item['path']}")
            elif sha256_file(path) != item["sha256"]:
                problems.append(f"{kind} {item['path']}: sha256 differs from the manifest")
    notes = [] if "files" in manifest else ["built before report, card and charts were hashed: only shards and artifacts checked"]
    checked = len(manifest["shards"]) + len(manifest["artifacts"]) + len(manifest.get("files", []))
    return Verdict(not problems, checked, problems, notes)


def rebuild(version_dir: Path) -> Verdict:
    """Build the version again from its manifest into a temporary folder and compare hashes."""
    from builder.config import BuilderConfig  # the runner imports publishing: import it only when rebuilding
    from builder.io.readers import InputError, expand_inputs, fingerprint
    from builder.runner import Build

    manifest = read_manifest(version_dir.resolve())
    notes = _environment_notes(manifest)
    with tempfile.TemporaryDirectory(prefix="zh-builder-verify-") as scratch, _working_directory(manifest.get("working_directory")):
        config_data = json.loads(json.dumps(manifest["config"]))
        config_data["version"] = manifest["version"]
        config_data["publish"].update(root=scratch, target="local", repo_id=None)
        config = BuilderConfig(**config_data)
        try:
            files = expand_inputs(config.input)
        except InputError as err:
            raise PublishError(f"cannot rebuild {version_dir.name}: {err}") from None
        found = {f.name: fingerprint(f) for f in files}
        recorded = {i["path"]: i["sha256"] for i in manifest["inputs"]}
        changed = [f"{p} (missing)" if p not in found else f"{p} (sha256 differs)" for p in recorded if found.get(p) != recorded[p]]
        changed += [f"{p} (not in the manifest)" for p in found if p not in recorded]
        if changed:
            raise PublishError(f"cannot rebuild {version_dir.name}: its inputs are not the ones it was built from: {', '.join(changed)}")
        _stage_previous_versions(manifest, version_dir.resolve().parent, Path(scratch) / manifest["name"])
        result = Build(config, limit=manifest.get("limit")).run()
        rebuilt = read_manifest(result.version_dir)
    problems = []
    for kind in ("shards", "artifacts"):
        want = {item["path"]: item["sha256"] for item in manifest[kind]}
        got = {item["path"]: item["sha256"] for item in rebuilt[kind]}
        problems += [f"{kind[:-1]} {p}: rebuilt bytes differ" for p in want if p in got and got[p] != want[p]]
        problems += [f"{kind[:-1]} {p}: not produced by the rebuild" for p in want if p not in got]
        problems += [f"{kind[:-1]} {p}: produced by the rebuild but not in the manifest" for p in got if p not in want]
    return Verdict(not problems, len(manifest["shards"]) + len(manifest["artifacts"]), problems, notes)


def _environment_notes(manifest: dict) -> list[str]:
    """Package versions that differ from the build's: a likely cause if the bytes differ."""
    current = package_versions()
    return [
        f"{name} is {current.get(name)} here, {version} when built"
        for name, version in manifest["environment"]["packages"].items()
        if current.get(name) != version
    ]


def _stage_previous_versions(manifest: dict, dataset_dir: Path, scratch_dataset: Path) -> None:
    """Make the earlier versions the build's cross-version dedup read visible in the scratch folder."""
    for previous in manifest["previous_versions"]:
        source = dataset_dir / previous["version"]
        if not (source / "MANIFEST.json").is_file():
            raise PublishError(f"cannot rebuild: it deduplicated against {previous['version']}, which is not in {dataset_dir}")
        for artifact in previous["artifacts"]:
            path = source / artifact["path"]
            if not path.is_file() or sha256_file(path) != artifact["sha256"]:
                raise PublishError(f"cannot rebuild: {path} is not the file the build read (missing or changed)")
        target = scratch_dataset / previous["version"]
        target.mkdir(parents=True)
        for name in ("MANIFEST.json", "report.json"):
            shutil.copyfile(source / name, target / name)
        for artifact in previous["artifacts"]:
            (target / artifact["path"]).parent.mkdir(parents=True, exist_ok=True)
            os.symlink((source / artifact["path"]).resolve(), target / artifact["path"])


@contextmanager
def _working_directory(path: str | None) -> Iterator[None]:
    """Relative input paths, and the ids made from them, are relative to where the build ran."""
    before = os.getcwd()
    if path is not None:
        if not Path(path).is_dir():
            raise PublishError(f"cannot rebuild: the build ran in {path}, which does not exist here")
        os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)
