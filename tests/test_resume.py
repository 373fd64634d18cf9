"""Resume on the real process: a build killed (kill -9) or interrupted (SIGTERM) after a chosen unit
is finished by the same command, reusing the recorded units, and publishes the same bytes as a
build that was never stopped; a changed later stage, a changed input file and --fresh redo
exactly what they must. Each run carries a token in its environment, so every process it started
can be found afterwards (see test_faults.py)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from builder.config import load_config
from builder.runner import Build
from conftest import ARTICLES, REPO, write_jsonl
from test_faults import left_behind

FILES = 4
# Segment 0: normalize → dedup (global); segment 1: quality, whose rows make the shards.
STAGES = "  - type: normalize\n  - type: dedup\n  - type: quality\n"


def make_corpus(folder: Path) -> list[Path]:
    """Four files; copies across files (dedup decides across units), a bad line, a too-short document."""
    paths = []
    for f in range(FILES):
        records = [{"id": f"f{f}-{i}", "text": f"第{f}卷第{i}篇。" + ARTICLES[(f + i) % len(ARTICLES)] + ARTICLES[(f * 5 + i) % len(ARTICLES)]}
                   for i in range(10)]
        records.append({"id": f"f{f}-copy", "text": "第0卷第0篇。" + ARTICLES[0] + ARTICLES[0]})  # an exact copy of f0-0
        records.append({"id": f"f{f}-short", "text": "短。"})
        if f == 2:
            records.append('{"id": "broken", "text": ')
        paths.append(write_jsonl(folder / f"part-{f}.jsonl", records))
    return paths


def config_text(inputs: Path, root: Path, stages: str = STAGES, workers: int = 1, version: str = "1.0.0") -> str:
    return (f"name: test-set\nversion: {version}\ninput:\n  paths: [{json.dumps(str(inputs))}]\n  format: jsonl\n"
            f"stages:\n{stages}publish:\n  root: {root}\nexecutor:\n  workers: {workers}\n  batch_size: 4\n  unit_mb: 0\n")


def build(config: Path, *args: str, fault: str | None = None) -> tuple[subprocess.CompletedProcess, str]:
    token = uuid.uuid4().hex
    env = {**os.environ, "ZH_BUILDER_TEST_RUN": token, "PYTHONPATH": str(REPO)}
    env.pop("BUILDER_FAULT", None)
    if fault:
        env["BUILDER_FAULT"] = fault
    done = subprocess.run([sys.executable, "-m", "builder", "--config", str(config), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return done, token


def clean_build(config: Path) -> Path:
    """A reference build nothing interrupts, in this process (no interpreter to start): its dataset folder."""
    return Build(load_config(config)).run().version_dir.parent


def published(dataset_dir: Path, version: str = "v1.0.0") -> dict[str, str]:
    """sha256 of every Parquet file of the version and its run (rows, rejected, removed lines, dedup's signatures)."""
    files = sorted(p for folder in (dataset_dir / version, dataset_dir / "runs" / version) for p in folder.rglob("*.parquet"))
    return {str(p.relative_to(dataset_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def without_timing(report: dict) -> dict:
    report = json.loads(json.dumps(report))
    report.pop("seconds")
    for stage in report["stages"]:
        stage.pop("seconds")
    return report


def readable(dataset_dir: Path, version: str = "v1.0.0", workers_differ: bool = False) -> tuple[dict, dict, str]:
    """report.json without its timings, the card's data and the card, with the output folder's path taken out.

    The card's hash of the resolved config differs anyway (the config holds the output folder);
    `workers_differ`: the runs compared used different worker counts, which the report records.
    """
    folder = dataset_dir / version
    card = (folder / "README.md").read_text(encoding="utf-8").replace(str(dataset_dir.parent), "ROOT")
    card = "\n".join(line for line in card.splitlines() if "resolved config (sha256" not in line)
    report = without_timing(json.loads((folder / "report.json").read_text(encoding="utf-8")))
    if workers_differ:
        report.pop("workers")
    card_data = json.loads((folder / "card.json").read_text(encoding="utf-8")) if (folder / "card.json").is_file() else {}
    return report, card_data, card


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("resume") / "in"
    make_corpus(folder)
    return folder


@pytest.fixture(scope="module")
def clean(corpus: Path) -> Path:
    """The build nothing interrupted: what every resumed build must equal."""
    config = corpus.parent / "clean.yaml"
    config.write_text(config_text(corpus, corpus.parent / "clean-out"), encoding="utf-8")
    return clean_build(config)


def staged(dataset_dir: Path) -> list[str]:
    return sorted(p.name for p in dataset_dir.iterdir() if p.name.startswith(".staging"))


def test_kill_9_after_a_unit_then_the_same_command_resumes_to_the_same_bytes(tmp_path, corpus, clean):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(corpus, tmp_path / "out", workers=2), encoding="utf-8")
    killed, token = build(config, fault="after:segment-0/unit-1")
    assert killed.returncode == -signal.SIGKILL
    assert left_behind(token) == []  # fork server, workers, resource tracker: all gone
    dataset_dir = tmp_path / "out" / "test-set"
    assert staged(dataset_dir) == [".staging-v1.0.0"] and not (dataset_dir / "v1.0.0").exists()

    again, token = build(config)
    assert again.returncode == 0, again.stderr
    assert "resumed: 2/4 units of segment 0 reused, the dedup decision made again, 0/4 units of segment 1 reused" in again.stdout
    assert left_behind(token) == []
    assert published(dataset_dir) == published(clean)  # two workers then, one for the clean build: the same bytes
    assert readable(dataset_dir, workers_differ=True) == readable(clean, workers_differ=True)
    assert staged(dataset_dir) == []  # a successful publish removes the staging area
    verify = subprocess.run([sys.executable, "-m", "builder", "verify", str(dataset_dir / "v1.0.0")], capture_output=True, text=True, cwd=REPO)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_sigterm_keeps_the_finished_units_and_says_how_to_resume(tmp_path, corpus, clean):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(corpus, tmp_path / "out"), encoding="utf-8")
    stopped, _ = build(config, fault="after:segment-1/unit-2:TERM")
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr.strip() == ("interrupted: nothing was published; the finished work is kept: re-run the same command "
                                      "to resume, or add --fresh to start over")
    dataset_dir = tmp_path / "out" / "test-set"
    assert staged(dataset_dir) == [".staging-v1.0.0"] and not (dataset_dir / ".lock").exists()

    again, _ = build(config)
    assert again.returncode == 0, again.stderr
    assert "resumed: 4/4 units of segment 0 reused, the dedup decision reused, 3/4 units of segment 1 reused" in again.stdout
    assert published(dataset_dir) == published(clean)
    assert readable(dataset_dir) == readable(clean)


def test_a_changed_later_stage_reuses_the_earlier_segment_only(tmp_path, corpus):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(corpus, tmp_path / "out"), encoding="utf-8")
    killed, _ = build(config, fault="after:segment-1")  # every unit recorded, the shards not yet assembled
    assert killed.returncode == -signal.SIGKILL

    changed = STAGES.replace("  - type: quality\n", "  - type: quality\n    max_line_repeats: 1\n    line_rules: [spam, nav]\n")
    config.write_text(config_text(corpus, tmp_path / "out", stages=changed), encoding="utf-8")
    again, _ = build(config)
    assert again.returncode == 0, again.stderr
    assert "resumed: 4/4 units of segment 0 reused, the dedup decision reused, 0/4 units of segment 1 reused" in again.stdout

    reference = tmp_path / "ref.yaml"
    reference.write_text(config_text(corpus, tmp_path / "ref", stages=changed), encoding="utf-8")
    assert published(tmp_path / "out" / "test-set") == published(clean_build(reference))


def test_a_changed_input_file_invalidates_that_files_units(tmp_path, corpus):
    inputs = tmp_path / "in"
    shutil.copytree(corpus, inputs)
    config = tmp_path / "c.yaml"
    config.write_text(config_text(inputs, tmp_path / "out"), encoding="utf-8")
    killed, _ = build(config, fault="after:segment-1")
    assert killed.returncode == -signal.SIGKILL

    part = inputs / "part-3.jsonl"
    part.write_text(part.read_text(encoding="utf-8") + json.dumps({"id": "new", "text": "第9卷。" + ARTICLES[4] * 2}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    again, _ = build(config)
    assert again.returncode == 0, again.stderr
    resumed = next(line for line in again.stdout.splitlines() if line.startswith("resumed:"))
    assert resumed.startswith("resumed: 3/4 units of segment 0 reused, the dedup decision made again")

    reference = tmp_path / "ref.yaml"
    reference.write_text(config_text(inputs, tmp_path / "ref"), encoding="utf-8")
    clean_build(reference)
    assert published(tmp_path / "out" / "test-set") == published(tmp_path / "ref" / "test-set")
    assert readable(tmp_path / "out" / "test-set")[0] == readable(tmp_path / "ref" / "test-set")[0]
    assert readable(tmp_path / "out" / "test-set")[0]["input"]["documents"] == FILES * 12 + 2  # the bad line and the new one


def test_fresh_ignores_what_was_recorded_and_other_stagings_are_removed(tmp_path, corpus, clean):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(corpus, tmp_path / "out"), encoding="utf-8")
    dataset_dir = tmp_path / "out" / "test-set"
    assert build(config, fault="after:segment-1")[0].returncode == -signal.SIGKILL
    # What interrupted builds of another version, and an older builder (random suffix), leave behind.
    for name in (".staging-v0.9.0", ".staging-v1.0.0-k2x9q1"):
        (dataset_dir / name / "work").mkdir(parents=True)
    again, _ = build(config, "--fresh")
    assert again.returncode == 0, again.stderr
    assert "resumed:" not in again.stdout
    assert published(dataset_dir) == published(clean)
    assert readable(dataset_dir) == readable(clean)
    assert f"removed {dataset_dir / '.staging-v0.9.0'}: work of an interrupted build of v0.9.0" in again.stderr
    assert f"removed {dataset_dir / '.staging-v1.0.0-k2x9q1'}: the staging folder of a build that died" in again.stderr
    assert staged(dataset_dir) == []


# -- the store itself, in process ------------------------------------------------------------

def test_a_marker_is_trusted_only_with_its_config_its_input_and_all_its_files(tmp_path):
    from builder.checkpoint import UnitStore

    store = UnitStore(tmp_path / "work")
    folder = store.start(store.unit_dir(0, "unit-a"))
    (folder / "rows.arrow").write_bytes(b"x" * 100)
    store.record(folder, "config-1", "input-1", {"rows_count": 3})
    assert store.load(folder, "config-1", "input-1")["rows_count"] == 3
    assert store.load(folder, "config-2", "input-1") is None  # the config changed
    assert store.load(folder, "config-1", "input-2") is None  # the input changed
    assert UnitStore(tmp_path / "work", enabled=False).load(folder, "config-1", "input-1") is None  # --sample
    (folder / "rows.arrow").write_bytes(b"x" * 50)  # a file cut short after the marker was written
    assert store.load(folder, "config-1", "input-1") is None
    store.start(folder)  # a unit run again starts from nothing: no marker, no files
    assert store.load(folder, "config-1", "input-1") is None and list(folder.iterdir()) == []


def test_decisions_round_trip_and_their_hash_sees_every_field(tmp_path, monkeypatch):
    from builder import checkpoint
    from builder.checkpoint import decisions_sha, read_decisions, unit_decisions_shas, write_decisions
    from builder.stages import Decisions, Drop, Edit

    rows = [None, Drop("dedup.exact", "v1.0.0:doc-3"), Edit([0, 4, 4], None), Drop("dedup.near", None), Edit([2], "boilerplate"), None]
    decisions = Decisions.of(rows)
    assert decisions.changed == 4 and decisions.dropped == 2 and list(decisions) == rows
    write_decisions(tmp_path / "d.parquet", decisions)
    assert read_decisions(tmp_path / "d.parquet") == decisions
    monkeypatch.setattr(checkpoint, "DECISION_ROWS", 1)  # a row group per changed row: a slice reads only some
    write_decisions(tmp_path / "small.parquet", decisions)
    for start, stop in [(0, 6), (1, 3), (2, 2), (3, 6), (5, 6)]:
        assert list(read_decisions(tmp_path / "small.parquet", start, stop)) == rows[start:stop]
    offsets = [0, 1, 1, 3, 6]  # each unit's slice hashed in one pass = the hash of the slice it reads
    assert unit_decisions_shas(tmp_path / "small.parquet", offsets) == [
        decisions_sha(read_decisions(tmp_path / "small.parquet", a, b)) for a, b in zip(offsets, offsets[1:])]
    write_decisions(tmp_path / "none.parquet", Decisions(3))
    assert list(read_decisions(tmp_path / "none.parquet")) == [None] * 3
    variants = [rows[:1] + [Drop("dedup.exact", "v1.0.0:doc-4")] + rows[2:], rows[:2] + [Edit([0, 4], None)] + rows[3:],
                rows[:3] + [None] + rows[4:], rows[:-1], rows + [None]]
    assert len({decisions_sha(Decisions.of(d)) for d in [rows, *variants]}) == 1 + len(variants)


def test_units_group_small_files_and_keep_a_big_one_alone():
    from builder.checkpoint import group_units
    from builder.io.readers import InputFile

    files = [InputFile(Path(f"{i}.jsonl"), f"{i}.jsonl", size) for i, size in enumerate([10, 20, 30, 100, 5, 5])]
    sizes = lambda units: [[f.size for f in unit] for unit in units]  # noqa: E731
    assert sizes(group_units(files, 60)) == [[10, 20, 30], [100], [5, 5]]
    assert sizes(group_units(files, 0)) == [[10], [20], [30], [100], [5], [5]]
