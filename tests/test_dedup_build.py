"""dedup through the real runner: worker counts, published versions, the rejected file."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from builder.config import load_config
from builder.runner import Build
from conftest import write_config, write_jsonl
from test_dedup import chinese_text, near_copies

STAGES = "  - type: normalize\n  - type: dedup\n"


def build(config_path: Path, **overrides):
    return Build(load_config(config_path, overrides)).run()


def rejected_rows(version_dir: Path) -> list[dict]:
    manifest = json.loads((version_dir / "MANIFEST.json").read_text())
    rows = []
    for shard in manifest["rejected"]:
        rows += pq.read_table(version_dir.parent / shard["path"], columns=["id", "reason", "detail"]).to_pylist()
    return rows


def kept_ids(version_dir: Path) -> list[str]:
    return [i for f in sorted((version_dir / "data").glob("*.parquet")) for i in pq.read_table(f, columns=["id"])["id"].to_pylist()]


def test_near_duplicates_identical_with_one_and_two_workers(tmp_path):
    originals = [chinese_text(seed, 900) for seed in range(8)]
    records = [{"id": f"o{i}", "text": t} for i, t in enumerate(originals)]
    records += [{"id": f"c{i}", "text": near_copies(originals[i])[i % 4]} for i in range(8)]
    source = write_jsonl(tmp_path / "in" / "docs.jsonl", records)
    outputs = []
    for count in (1, 2):
        result = build(write_config(tmp_path / f"c{count}.yaml", [source], stages=STAGES, root=tmp_path / f"out{count}", workers=count))
        files = sorted((result.version_dir / "data").glob("*.parquet")) + sorted((result.version_dir.parent / "runs").rglob("*.parquet"))
        outputs.append({f.name: f.read_bytes() for f in files})
        assert kept_ids(result.version_dir) == [f"o{i}" for i in range(8)]
        rows = rejected_rows(result.version_dir)
        assert [(r["id"], r["reason"], r["detail"].split(" (Jaccard ~")[0]) for r in rows] == [(f"c{i}", "dedup.near", f"o{i}") for i in range(8)]
        assert all(0.7 <= float(r["detail"].split("~")[1].rstrip(")")) <= 1 for r in rows)  # the detail carries the similarity
    assert outputs[0] == outputs[1]


def test_a_new_version_adds_only_new_documents(tmp_path):
    old = [{"id": f"old-{i}", "text": chinese_text(100 + i, 700)} for i in range(5)]
    first = write_jsonl(tmp_path / "in" / "v1.jsonl", old)
    config = write_config(tmp_path / "c.yaml", [first], stages=STAGES)
    v1 = build(config)
    assert (v1.version_dir / "dedup" / "signatures.parquet").is_file()

    new = [
        {"id": "new-repost", "text": near_copies(old[2]["text"])[0]},
        {"id": "new-mirror", "text": old[4]["text"].replace("，", ",")},
        {"id": "new-1", "text": chinese_text(200, 700)},
    ]
    second = write_jsonl(tmp_path / "in" / "v2.jsonl", new)
    v2 = build(config, **{"version": "1.1.0", "input.paths": [str(first), str(second)]})
    assert kept_ids(v2.version_dir) == ["new-1"]
    by_id = {row["id"]: row for row in rejected_rows(v2.version_dir)}
    assert by_id["new-repost"]["reason"] == "dedup.near" and by_id["new-repost"]["detail"].startswith("v1.0.0:old-2 (Jaccard ~")
    assert by_id["new-mirror"]["reason"] == "dedup.exact" and by_id["new-mirror"]["detail"] == "v1.0.0:old-4"
    assert {by_id[f"old-{i}"]["detail"] for i in range(5)} == {f"v1.0.0:old-{i}" for i in range(5)}
    summary = json.loads((v2.version_dir / "dedup" / "dedup.json").read_text())
    assert summary["previous_versions"] == ["v1.0.0"] and summary["duplicates_of_previous_versions"] == 7
