"""The Ray engine against the local one: the same config and input give the same bytes.

Each test builds with `executor.type: local` (one worker: the reference order) and with
`executor.type: ray` on a local Ray of two CPUs, and compares the published shards, the
rejected rows and the removed lines byte for byte, and the report's counts.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from builder.config import load_config
from builder.io.readers import InputError
from builder.runner import Build
from conftest import ARTICLES, REPO, write_config, write_jsonl

ray = pytest.importorskip("ray", reason="the Ray engine's tests need `pip install -e '.[ray]'`")
pytestmark = pytest.mark.ray

SAMPLE = REPO / "samples" / "zh-web-sample.jsonl"
FLAGSHIP = REPO / "configs" / "zh.yaml"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield
    ray.shutdown()


def build(config: Path, engine: str, root: Path, **overrides):
    settings = {"executor.type": engine, "executor.workers": 1, "publish.root": str(root), **overrides}
    run = Build(load_config(config, settings))
    result = run.run()
    if engine == "ray":  # the dedup decision ran as shuffles on Ray, not on the driver
        assert run.engine.shuffles > 0
    return result


def outputs(result) -> dict[str, bytes]:
    """Every Parquet file of the version and its run folder, and the dedup artifacts, by path: the bytes that must not differ."""
    dataset = result.version_dir.parent
    files = sorted(result.version_dir.glob("data/*.parquet")) + sorted((dataset / "runs" / result.version_dir.name).rglob("*.parquet"))
    files += sorted(result.version_dir.glob("dedup/*"))  # signatures.parquet and dedup.json: made by the decide on Ray
    return {str(f.relative_to(dataset)): f.read_bytes() for f in files}


def counts(report: dict) -> dict:
    """The report without what legitimately differs between engines (time, worker count)."""
    return {k: v for k, v in report.items() if k not in ("seconds", "workers")} | {
        "stages": [{k: v for k, v in s.items() if k != "seconds"} for s in report["stages"]]
    }


def add_up(report: dict) -> bool:
    out = report["kept"]["documents"] + sum(r["documents"] for bucket in ("dropped", "quarantined") for r in report[bucket].values())
    return out == report["input"]["documents"]


def test_flagship_sample_and_a_second_version_are_byte_identical(tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    first = tmp_path / "in" / "first.jsonl"
    first.parent.mkdir()
    first.write_text("".join(lines[:200]), encoding="utf-8")
    overrides = {"executor.batch_size": 40, "input.paths": [str(first)]}  # several batches: actors finish out of order
    local = build(FLAGSHIP, "local", tmp_path / "local", **overrides)
    on_ray = build(FLAGSHIP, "ray", tmp_path / "ray", **overrides)
    assert outputs(local) == outputs(on_ray)
    assert len(outputs(local)) == 5  # data, rejected, removed lines, dedup's signatures.parquet and dedup.json
    assert counts(local.report) == counts(on_ray.report) and add_up(on_ray.report)
    assert on_ray.report["workers"] == 2

    # v1.1.0 on top of v1.0.0: copies of published documents go (cross-version dedup), new ones stay.
    copies = [{**json.loads(line), "id": f"again-{i}"} for i, line in enumerate(lines[:200:5])]
    second_file = tmp_path / "in" / "second.jsonl"
    second_file.write_text("".join(lines[200:]), encoding="utf-8")
    second = {**overrides, "version": "1.1.0", "input.paths": [str(first), str(second_file), str(write_jsonl(tmp_path / "in" / "copies.jsonl", copies))]}
    local2 = build(FLAGSHIP, "local", tmp_path / "local", **second)
    on_ray2 = build(FLAGSHIP, "ray", tmp_path / "ray", **second)
    assert outputs(local2) == outputs(on_ray2)
    assert counts(local2.report) == counts(on_ray2.report) and add_up(on_ray2.report)
    assert on_ray2.report["kept"]["documents"] > 0
    assert on_ray2.report["dropped"]["dedup.exact"]["documents"] >= on_ray.report["kept"]["documents"]  # v1.0.0 again


def test_several_files_with_quarantined_lines_give_the_local_rejected_rows(tmp_path):
    files = []
    for part in range(3):
        records = [{"id": f"p{part}-{i}", "text": ARTICLES[(i + part) % len(ARTICLES)] + f"第{i % 7}段。"} for i in range(23)]
        records[5] = "{broken json"
        records[11] = {"id": f"p{part}-no-text"}
        records[17] = {"id": f"p{part}-short", "text": "短"}
        files.append(write_jsonl(tmp_path / "in" / f"part-{part}.jsonl", records))
    stages = "  - type: normalize\n  - type: language\n  - type: dedup\n"
    config = write_config(tmp_path / "c.yaml", files, stages=stages)
    local = build(config, "local", tmp_path / "local")
    on_ray = build(config, "ray", tmp_path / "ray")
    assert outputs(local) == outputs(on_ray)
    assert counts(local.report) == counts(on_ray.report) and add_up(on_ray.report)
    assert on_ray.report["quarantined"]["input.invalid_json"]["documents"] == 3
    assert on_ray.report["dropped"]["dedup.exact"]["documents"] > 0
    # --limit reads on the driver (it stops mid-file); the stages still run on Ray.
    limited_local = Build(load_config(config, {"publish.root": str(tmp_path / "local-limit")}), limit=30).run()
    limited_ray = Build(load_config(config, {"publish.root": str(tmp_path / "ray-limit"), "executor.type": "ray"}), limit=30).run()
    assert outputs(limited_local) == outputs(limited_ray) and limited_ray.report["input"]["documents"] == 30


def test_an_unreadable_input_is_a_user_error_naming_the_file(tmp_path):
    good = "\n".join(json.dumps({"id": str(i), "text": ARTICLES[i % 6]}, ensure_ascii=False) for i in range(50)).encode()
    broken = tmp_path / "in" / "broken.jsonl.gz"
    broken.parent.mkdir()
    broken.write_bytes(gzip.compress(good)[:-40])
    with pytest.raises(InputError, match="broken.jsonl.gz"):
        build(write_config(tmp_path / "c.yaml", [broken]), "ray", tmp_path / "out")
    assert not any(p for p in (tmp_path / "out" / "test-set").iterdir() if not p.name.startswith("."))


def test_crawl_formats_read_per_unit_give_the_local_bytes_and_source_counts(tmp_path):
    from test_warc_html import SIMPLIFIED, TRADITIONAL, mixed_crawl, warc_file

    crawls = [warc_file(tmp_path / "in" / f"crawl-{i}.warc.gz", mixed_crawl()) for i in range(2)]
    site = tmp_path / "site"
    site.mkdir()
    for i in range(6):  # two read units of four and two pages (batch_size 4)
        page = (SIMPLIFIED if i % 2 else TRADITIONAL).replace("公园", f"公园{i}").replace("圖書館", f"圖書館{i}")
        (site / f"p{i}.html").write_bytes(page.replace("<head>", f'<head><link rel="canonical" href="https://s{i % 3}.example.cn/{i}">').encode())
    for inputs, fmt in ((crawls, "warc"), ([site], "html")):
        config = write_config(tmp_path / f"{fmt}.yaml", inputs, stages="  - type: normalize\n  - type: dedup\n", fmt=fmt)
        local = build(config, "local", tmp_path / f"local-{fmt}")
        on_ray = build(config, "ray", tmp_path / f"ray-{fmt}")
        assert outputs(local) == outputs(on_ray)
        assert on_ray.report["sources"] == local.report["sources"] and on_ray.report["sources"]["extracted"] >= 6
        assert counts(local.report) == counts(on_ray.report) and add_up(on_ray.report)


def test_units_are_read_and_written_by_ray_tasks_not_the_driver(tmp_path, monkeypatch):
    """A unit per file, quarantined lines in each, three segments (line_frequency and dedup decide between
    them): the driver never reads a document (its readers raise), every unit of every segment ran as a Ray
    task, and the bytes, report and counts are the local engine's."""
    from builder.io import readers

    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    files = []
    for part in range(4):
        chunk = lines[part * 60 : part * 60 + 60]
        chunk[7] = "{broken json\n"
        chunk[23] = json.dumps({"id": f"no-text-{part}"}) + "\n"
        path = tmp_path / "in" / f"part-{part}.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(chunk) + "".join(lines[:5]), encoding="utf-8")  # the first five again: copies for dedup
        files.append(str(path))
    overrides = {"executor.batch_size": 25, "executor.unit_mb": 0, "input.paths": files}
    local = build(FLAGSHIP, "local", tmp_path / "local", **overrides)

    def driver_reads(self, file):
        raise AssertionError(f"the driver read {file.name}")

    monkeypatch.setattr(readers.DocumentReader, "_read_file", driver_reads)
    run = Build(load_config(FLAGSHIP, {"executor.type": "ray", "publish.root": str(tmp_path / "ray"), **overrides}))
    on_ray = run.run()
    segments = 1 + sum(s.type in ("line_frequency", "dedup") for s in run.config.stages)
    assert segments == 3 and run.engine.items == 4 * segments  # each unit of each segment: one task
    assert outputs(local) == outputs(on_ray)
    assert counts(local.report) == counts(on_ray.report) and add_up(on_ray.report)
    assert on_ray.report["quarantined"]["input.invalid_json"]["documents"] == 4
    assert on_ray.report["dropped"]["dedup.exact"]["documents"] >= 15
    assert any("removed_lines" in name for name in outputs(on_ray))


def test_an_interrupted_ray_build_resumes_with_the_local_bytes(tmp_path, monkeypatch):
    """Stopped once the driver has the second unit of segment 0: the re-run takes the recorded units and
    runs the rest, and the version is the local engine's, byte for byte."""
    import builder.runner as runner

    files = []
    for part in range(4):
        records = [{"id": f"p{part}-{i}", "text": ARTICLES[(i + part) % len(ARTICLES)] + f"第{i % 5}段。"} for i in range(30)]
        records[3] = "{broken json"
        files.append(write_jsonl(tmp_path / "in" / f"part-{part}.jsonl", records))
    stages = "  - type: normalize\n  - type: language\n  - type: dedup\n"
    config = write_config(tmp_path / "c.yaml", files, stages=stages)
    settings = {"executor.unit_mb": 0, "executor.batch_size": 10}
    local = build(config, "local", tmp_path / "local", **settings)

    def stop_at(name):
        if name == "after:segment-0/unit-1":
            raise KeyboardInterrupt(name)

    monkeypatch.setattr(runner, "fault_point", stop_at)
    with pytest.raises(runner.ResumableInterrupt):
        build(config, "ray", tmp_path / "ray", **settings)
    monkeypatch.undo()
    resumed = Build(load_config(config, {"executor.type": "ray", "publish.root": str(tmp_path / "ray"), **settings}))
    result = resumed.run()
    # The units recorded before the stop: at least the two the driver took; tasks ahead of unit 1 (four are
    # in flight on two actors) may have finished and recorded theirs too, all of them on a fast machine.
    segment, reused, units = result.reused[0]
    assert (segment, units) == (0, 4) and 2 <= reused <= 4 and resumed.engine.items == (units - reused) + units
    assert outputs(local) == outputs(result)
    assert counts(local.report) == counts(result.report) and add_up(result.report)


def test_a_unit_task_that_cannot_see_its_files_says_where_they_must_be(tmp_path):
    """What a worker on a machine without the shared mount reports: the file, the machine, the fix."""
    import pyarrow as pa

    from builder.checkpoint import UnitStore
    from builder.config import load_config as load
    from builder.io.readers import InputFile
    from builder.units import UnitSpec, UnitTask

    missing = tmp_path / "elsewhere" / "part-0.jsonl"
    config = load(write_config(tmp_path / "c.yaml", [write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "1", "text": ARTICLES[0]}])]))
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("_source", pa.string())])
    task = UnitTask(0, [], schema, True, config.input, 10, 1 << 20, UnitStore(tmp_path / "work"), "sha")()
    with pytest.raises(InputError, match="part-0.jsonl.*storage every node mounts"):
        task(UnitSpec(0, "unit-x", [InputFile(missing, "part-0.jsonl", 0)], "in"))
    later = UnitTask(1, [], schema, True, config.input, 10, 1 << 20, UnitStore(tmp_path / "work"), "sha", "dedup", ("exact",),
                     tmp_path / "work" / "decide-0" / "decisions.parquet")()
    with pytest.raises(FileNotFoundError, match="rows-00000.parquet.*storage every node mounts"):
        later(UnitSpec(0, "unit-x", [], "in", [str(tmp_path / "work" / "segment-0" / "unit-x" / "rows-00000.parquet")], (0, 3)))
