"""End-to-end builds through the real runner, real Parquet and real `load_dataset`."""
from __future__ import annotations

import os
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from builder.config import load_config
from builder.runner import Build
from conftest import ARTICLES, run_cli, write_config, write_jsonl

NORMALIZE_DEDUP = "  - type: normalize\n  - type: dedup\n"


def build(config_path: Path, **overrides):
    return Build(load_config(config_path, overrides)).run()


def test_round_trip_by_root_and_by_version_despite_the_cache(tmp_path, corpus):
    config = write_config(tmp_path / "c.yaml", [corpus], stages="  - type: normalize\n")
    first = build(config)
    newer = write_jsonl(tmp_path / "in2" / "more.jsonl", [{"id": "new-1", "text": "新版本加入的一篇短文，内容与旧版本完全不同。"}])
    build(config, **{"version": "1.1.0", "input.paths": [str(corpus), str(newer)]})
    root = first.version_dir.parent
    cache = tmp_path / "cache"  # one cache for every load, as a user has

    v100 = load_dataset(str(root), "v1.0.0", split="train", cache_dir=str(cache))
    latest = load_dataset(str(root), split="train", cache_dir=str(cache))
    v110 = load_dataset(str(root), "v1.1.0", split="train", cache_dir=str(cache))
    by_folder = load_dataset(str(root / "v1.0.0"), split="train", cache_dir=str(cache))

    assert sorted(v100["id"]) == sorted(["dup-0"] + [f"doc-{i}" for i in range(len(ARTICLES))])
    assert sorted(v110["id"]) == sorted(list(v100["id"]) + ["new-1"])
    assert list(latest["id"]) == list(v110["id"])
    assert list(by_folder["id"]) == list(v100["id"])
    assert v100[0]["text"] == ARTICLES[0] and v100[0]["url"] == "https://example.com/0"


def test_report_and_manifest_describe_the_version(tmp_path, corpus):
    result = build(write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE_DEDUP))
    report = json.loads((result.version_dir / "report.json").read_text())
    manifest = json.loads((result.version_dir / "MANIFEST.json").read_text())
    assert report["input"]["documents"] == len(ARTICLES) + 1
    assert report["dropped"] == {"dedup.exact": {"documents": 1, "characters": len(ARTICLES[0])}}
    assert [s["type"] for s in report["stages"]] == ["normalize", "dedup"]
    shard = result.version_dir / manifest["shards"][0]["path"]
    assert manifest["shards"][0]["rows"] == pq.read_metadata(shard).num_rows == len(ARTICLES)
    assert manifest["inputs"][0]["sha256"] and len(manifest["config_sha256"]) == 64
    rejected = pq.read_table(result.version_dir.parent / manifest["rejected"][0]["path"]).to_pylist()
    assert rejected == [{"id": "dup-0", "reason": "dedup.exact", "detail": "doc-0", "source": rejected[0]["source"], "status": "dropped", "text": ARTICLES[0]}]
    assert rejected[0]["source"].endswith("corpus.jsonl:7")


@pytest.mark.parametrize("workers", [2])
def test_byte_identical_with_one_and_two_workers(tmp_path, corpus, workers):
    records = [{"id": f"r{i}", "text": ARTICLES[i % len(ARTICLES)] + f"第{i}段。"} for i in range(40)]
    records += ["{broken json", {"id": "no-text"}]
    source = write_jsonl(tmp_path / "in" / "many.jsonl", records)
    outputs = []
    for run, count in enumerate((1, workers, 1)):
        config = write_config(tmp_path / f"c{run}.yaml", [source, corpus], stages=NORMALIZE_DEDUP, root=tmp_path / f"out{run}", workers=count)
        result = build(config)
        files = sorted((result.version_dir / "data").glob("*.parquet")) + sorted((result.version_dir.parent / "runs").rglob("*.parquet"))
        outputs.append({f.name: f.read_bytes() for f in files})
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0]) == 2  # one data shard, one rejected shard


def test_published_version_is_immutable(tmp_path, corpus):
    config = write_config(tmp_path / "c.yaml", [corpus])
    result = build(config)
    before = {p: p.read_bytes() for p in result.version_dir.rglob("*") if p.is_file()}
    again = run_cli("--config", str(config), "-q")
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--version" in again.stderr and "Traceback" not in again.stderr
    assert {p: p.read_bytes() for p in result.version_dir.rglob("*") if p.is_file()} == before


def test_failed_run_leaves_no_visible_version(tmp_path):
    # A file that stops being gzip halfway fails the run after some batches were written.
    import gzip

    good = "\n".join(json.dumps({"id": str(i), "text": ARTICLES[i % 6]}, ensure_ascii=False) for i in range(50)).encode()
    broken = tmp_path / "in" / "broken.jsonl.gz"
    broken.parent.mkdir()
    broken.write_bytes(gzip.compress(good)[:-40])
    config = write_config(tmp_path / "c.yaml", [broken])
    result = run_cli("--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "broken.jsonl.gz" in result.stderr and "Traceback" not in result.stderr
    dataset_dir = tmp_path / "out" / "test-set"
    assert [p.name for p in dataset_dir.iterdir() if not p.name.startswith(".")] == []
    assert list(dataset_dir.iterdir()) == []  # staging removed too


def test_cli_prints_where_and_how_to_load(tmp_path, corpus):
    result = run_cli("--config", str(write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE_DEDUP)))
    assert result.returncode == 0, result.stderr
    assert "published:" in result.stdout and "load_dataset(" in result.stdout
    assert "dedup.exact" in result.stdout


def test_dry_run_counts_and_writes_nothing(tmp_path, corpus):
    result = run_cli("--config", str(write_config(tmp_path / "c.yaml", [corpus])), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"{len(ARTICLES) + 1} documents" in result.stdout
    assert not (tmp_path / "out").exists()


def test_limit_reads_only_the_first_documents(tmp_path, corpus):
    result = build(write_config(tmp_path / "c.yaml", [corpus]), **{})
    limited = Build(load_config(write_config(tmp_path / "d.yaml", [corpus], root=tmp_path / "o2")), limit=3).run()
    assert limited.report["input"]["documents"] == 3
    assert result.report["input"]["documents"] == len(ARTICLES) + 1


def test_increments_under_cross_version_dedup_load_whole_through_all(tmp_path, corpus):
    config = write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE_DEDUP)
    first = build(config)
    newer = write_jsonl(tmp_path / "in2" / "more.jsonl", [{"id": "new-1", "text": "新版本加入的一篇短文，内容与旧版本完全不同，讲的是城市公园里新开的一家图书馆。"}])
    build(config, **{"version": "1.1.0", "input.paths": [str(corpus), str(newer)]})
    root = str(first.version_dir.parent)
    cache = str(tmp_path / "cache")
    newest = load_dataset(root, split="train", cache_dir=cache)
    whole = load_dataset(root, "all", split="train", cache_dir=cache)
    v100 = load_dataset(root, "v1.0.0", split="train", cache_dir=cache)
    assert list(newest["id"]) == ["new-1"]  # v1.1.0 adds only what v1.0.0 did not have
    assert sorted(whole["id"]) == sorted(list(v100["id"]) + ["new-1"])
    assert 'load_dataset("' in (first.version_dir.parent / "README.md").read_text() and '"all"' in (first.version_dir.parent / "README.md").read_text()


def _pid_task():
    return lambda item: (item, os.getpid())


def test_the_local_engine_runs_one_batch_in_process_and_several_in_its_pool():
    """A pool is worth its start-up only when there is more than one batch to share."""
    from builder.engines.local import LocalEngine

    engine = LocalEngine(2)
    engine.workers = 2  # a pool of two even on one CPU (the engine caps it there): the pool is under test
    assert list(engine.map(_pid_task, [7])) == [(7, os.getpid())]
    assert list(engine.map(_pid_task, [])) == []
    several = list(engine.map(_pid_task, range(5)))
    assert [item for item, _ in several] == list(range(5))
    assert all(pid != os.getpid() for _, pid in several)
