"""Hub releases against a real server on loopback: our write API over real git, olah for reading.

Publishing and loading run as separate client processes, as a user runs them, with HF_ENDPOINT
pointing at the local server, a dummy token and HF_HUB_DISABLE_XET=1 (the server has no Xet, so
uploads go through the LFS batch API). What this cannot show: authentication, Xet storage, the
Hub's own metadata validation and rate limits.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builder.config import load_config
from builder.publish.hub import HubRepo
from builder.runner import Build
from conftest import ARTICLES, REPO, write_config, write_jsonl
from hub_server import HubServer  # needs olah installed (a test dependency): it serves the read path
from hub_server.git_store import GitRepo

STAGES = "  - type: normalize\n  - type: dedup\n"
LOAD_SCRIPT = """
import json, sys
from datasets import load_dataset
repo, requests = sys.argv[1], json.loads(sys.argv[2])
out = {}
for key, kwargs in requests.items():
    ds = load_dataset(repo, split="train", **kwargs)
    out[key] = list(ds["id"])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubServer(tmp_path_factory.mktemp("hub")) as server:
        yield server


def client(hub: HubServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env=hub.client_env(tmp_path / "hf-home"))


def shard_ids(version_dir: Path) -> list[str]:
    manifest = json.loads((version_dir / "MANIFEST.json").read_text())
    return [i for s in manifest["shards"] for i in pq.read_table(version_dir / s["path"], columns=["id"])["id"].to_pylist()]


def test_two_versions_published_then_loaded_back_by_tag_and_never_replaced(hub, tmp_path, corpus):
    repo_id = "org/zh-two-versions"
    out = tmp_path / "out"
    # v1.0.0: built and published in one command (publish.target: hub).
    config = write_config(tmp_path / "hub.yaml", [corpus], stages=STAGES, root=out)
    config.write_text(config.read_text().replace("publish:\n", f"publish:\n  target: hub\n  repo_id: {repo_id}\n"))
    first = client(hub, tmp_path, "-m", "builder", "--config", str(tmp_path / "hub.yaml"), "-q")
    assert first.returncode == 0, first.stderr
    # v1.1.0: built locally (version: auto), then published without rebuilding.
    newer = write_jsonl(tmp_path / "in2" / "more.jsonl", [{"id": "new-1", "text": "新版本加入的一篇短文，内容与旧版本完全不同，讲的是秋天的收成。"}])
    local = write_config(tmp_path / "local.yaml", [corpus, newer], stages=STAGES, root=out, version="auto")
    Build(load_config(local)).run()
    second = client(hub, tmp_path, "-m", "builder", "publish", str(out / "test-set" / "v1.1.0"), "--to", "hub", "--repo-id", repo_id)
    assert second.returncode == 0, second.stderr
    assert "tag v1.1.0" in second.stdout

    requests = {"v1.0.0": {"revision": "v1.0.0"}, "v1.1.0": {"revision": "v1.1.0"}, "main": {}, "v1.0.0 by name": {"name": "v1.0.0"}}
    loaded = client(hub, tmp_path, "-c", LOAD_SCRIPT, repo_id, json.dumps(requests))
    assert loaded.returncode == 0, loaded.stderr
    ids = json.loads(loaded.stdout.strip().splitlines()[-1])
    v100, v110 = shard_ids(out / "test-set" / "v1.0.0"), shard_ids(out / "test-set" / "v1.1.0")
    assert ids["v1.0.0"] == ids["v1.0.0 by name"] == v100 == [f"doc-{i}" for i in range(len(ARTICLES))]
    assert ids["v1.1.0"] == ids["main"] == v110 == ["new-1"]  # cross-version dedup: only what is new

    git = GitRepo(hub.server.store.root / repo_id)
    refs = git.refs()
    tags = {t["name"]: t["targetCommit"] for t in refs["tags"]}
    branches = {b["name"]: b["targetCommit"] for b in refs["branches"]}
    assert set(branches) == {"main"}  # the release branches are gone
    assert branches["main"] == tags["v1.1.0"]
    for version in ("v1.0.0", "v1.1.0"):
        manifest = json.loads((out / "test-set" / version / "MANIFEST.json").read_text())
        assert manifest["releases"][-1] == {"target": "hub", "repo_id": repo_id, "tag": version, "commit": tags[version],
                                           "parent": manifest["releases"][-1]["parent"]}
        # One release = one commit on main, whose parent is the head the publish read.
        assert git.git("rev-parse", f"{tags[version]}^") == manifest["releases"][-1]["parent"]
    assert git.git("rev-parse", "v1.1.0^") == tags["v1.0.0"]
    card = git.git("show", "v1.1.0:README.md")
    assert f'load_dataset("{repo_id}", revision="v1.1.0"' in card and tags["v1.0.0"][:12] in card
    assert f"commit `{tags['v1.0.0'][:12]}`" in git.git("show", "v1.1.0:CHANGELOG.md")
    assert "v1.1.0" not in git.git("show", "v1.0.0:README.md")

    again = client(hub, tmp_path, "-m", "builder", "publish", str(out / "test-set" / "v1.1.0"), "--to", "hub", "--repo-id", repo_id)
    assert again.returncode == 2
    assert "already has tag v1.1.0" in again.stderr and "Traceback" not in again.stderr
    assert git.refs() == refs  # a published tag is never replaced


def test_an_interrupted_upload_resumes_without_sending_files_twice(hub, tmp_path, corpus, monkeypatch):
    from huggingface_hub import HfApi, constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest keeps `datasets` offline; this talks to the local server
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    repo_id = "org/zh-resume"
    version_dir = Build(load_config(write_config(tmp_path / "c.yaml", [corpus], stages=STAGES))).run().version_dir
    repo = HubRepo(repo_id, api=HfApi(endpoint=hub.url, token="dummy-token"), batch_bytes=1)  # one file per branch commit
    uploads_before = len(hub.server.lfs_uploads)
    hub.server.fail_lfs_attempt = hub.server.lfs_attempts + 2  # the second large file fails
    with pytest.raises(Exception, match="Error while uploading"):
        repo.publish(version_dir, progress=False)
    git = GitRepo(hub.server.store.root / repo_id)
    assert "v1.0.0" not in {t["name"] for t in git.refs()["tags"]}
    partial = git.git("ls-tree", "-r", "--name-only", "release-v1.0.0").splitlines()
    assert "v1.0.0/MANIFEST.json" in partial and "v1.0.0/data/train-00000-of-00001.parquet" not in partial

    commit = repo.publish(version_dir, progress=False)
    blobs = [line.split()[2] for line in git.git("ls-tree", "-r", "v1.0.0").splitlines()]
    lfs_files = [b for b in blobs if git.git("cat-file", "-p", b).startswith("version https://git-lfs")]
    uploaded = hub.server.lfs_uploads[uploads_before:]
    assert len(uploaded) == len(set(uploaded)) == len(lfs_files)  # every large file went up exactly once
    assert {t["name"]: t["targetCommit"] for t in git.refs()["tags"]}["v1.0.0"] == commit
    assert "release-v1.0.0" not in {b["name"] for b in git.refs()["branches"]}


def test_a_commit_on_a_moved_head_is_refused(hub, tmp_path, monkeypatch):
    from huggingface_hub import CommitOperationAdd, HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    api = HfApi(endpoint=hub.url, token="dummy-token")
    api.create_repo("org/zh-race", repo_type="dataset")
    head = api.list_repo_refs("org/zh-race", repo_type="dataset").branches[0].target_commit
    api.create_commit("org/zh-race", [CommitOperationAdd("a.txt", b"first")], commit_message="a", repo_type="dataset", parent_commit=head)
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_commit("org/zh-race", [CommitOperationAdd("b.txt", b"second")], commit_message="b", repo_type="dataset", parent_commit=head)
    assert refused.value.response.status_code == 412
    assert "b.txt" not in GitRepo(hub.server.store.root / "org/zh-race").git("ls-tree", "--name-only", "main")
