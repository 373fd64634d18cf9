"""The Ray engine on a two-node cluster on this machine (two raylets of one CPU each), joined
with `address: auto`, while a stage worker is killed in the middle of the map: Ray runs the
lost batches again and the bytes are the local engine's."""
from __future__ import annotations

import json
import os
import threading
import time

import pytest

from builder.config import load_config
from builder.runner import Build
from conftest import REPO, write_config

ray = pytest.importorskip("ray", reason="the Ray engine's tests need `pip install -e '.[ray]'`")
psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.ray

STAGES = "  - type: normalize\n  - type: language\n  - type: quality\n  - type: dedup\n"


def _stage_workers() -> list:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any("_TaskActor" in part for part in process.info["cmdline"] or []):
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_two_nodes_and_a_killed_worker_give_the_local_bytes(tmp_path, monkeypatch):
    from ray.cluster_utils import Cluster

    lines = (REPO / "samples" / "zh-web-sample.jsonl").read_text(encoding="utf-8").splitlines()
    files = []
    for part in range(6):  # enough batches that the map is still running when a worker is killed
        path = tmp_path / "in" / f"part-{part}.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(json.dumps({**json.loads(l), "id": f"{part}-{i}"}, ensure_ascii=False) + "\n" for i, l in enumerate(lines)), encoding="utf-8")
        files.append(path)
    config = write_config(tmp_path / "c.yaml", files, stages=STAGES)
    settings = {"executor.batch_size": 15, "executor.unit_mb": 0}  # six units: a killed worker loses a unit in the middle
    local = Build(load_config(config, {**settings, "publish.root": str(tmp_path / "local")})).run()

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        monkeypatch.setenv("RAY_ADDRESS", cluster.address)
        build = Build(load_config(config, {**settings, "executor.type": "ray", "executor.address": "auto", "publish.root": str(tmp_path / "ray")}))
        assert build.engine.workers == 2 and len(ray.nodes()) == 2  # joins the cluster (address: auto)
        outcome: dict = {}
        runner = threading.Thread(target=lambda: outcome.update(result=build.run()), daemon=True)
        runner.start()
        killed = None
        deadline = time.monotonic() + 240
        while runner.is_alive() and killed is None and time.monotonic() < deadline:
            workers = _stage_workers()
            if workers:
                time.sleep(0.5)  # let it take batches first (on an idle machine the map takes a few seconds)
                try:
                    workers[0].kill()
                    killed = workers[0].pid
                except psutil.NoSuchProcess:
                    continue
            time.sleep(0.2)
        runner.join(timeout=600)
        assert killed is not None, "the map ended before a worker could be killed"
        result = outcome["result"]
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()

    def parquet(version_dir):
        dataset = version_dir.parent
        found = sorted(version_dir.glob("data/*.parquet")) + sorted((dataset / "runs" / version_dir.name).rglob("*.parquet"))
        return {str(f.relative_to(dataset)): f.read_bytes() for f in found}

    assert parquet(result.version_dir) == parquet(local.version_dir)
    assert result.report["kept"] == local.report["kept"] and result.report["dropped"] == local.report["dropped"]
    assert not os.path.exists(tmp_path / "ray" / "test-set" / "v1.0.0" / "data" / "train-00000.parquet.partial")
