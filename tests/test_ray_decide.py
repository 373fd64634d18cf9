"""`dedup`'s decide as shuffles on a real local Ray against the decide in one process.

Both read the same key files (several files of several row groups: several blocks) and must
give the same decisions, the same `dedup.json` and the same bytes of `signatures.parquet`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builder.stages import GlobalContext, Keys
from builder.stages.dedup import EXACT, LENGTH, MINHASH, Dedup, DedupParams
from test_dedup import chinese_text, map_keys, near_copies, true_jaccard

ray = pytest.importorskip("ray", reason="the Ray engine's tests need `pip install -e '.[ray]'`")
pytestmark = pytest.mark.ray


class _Engine:
    shuffles = 0


@pytest.fixture(scope="module")
def cluster():
    from builder.engines.ray import RayCluster

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    engine = _Engine()
    yield RayCluster(ray, 2, engine)
    ray.shutdown()


def write_keys(table: pa.Table, folder: Path, files: int = 2, rows_per_group: int = 7) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-table.num_rows // files)
    paths = []
    for i in range(files):
        paths.append(folder / f"keys-{i}.parquet")
        pq.write_table(table.slice(i * step, step), paths[-1], row_group_size=rows_per_group)
    return paths


def both(stage: Dedup, paths: list[Path], out: Path, cluster, previous=()) -> tuple[list, list]:
    """Decisions of the local decide and of the Ray one; their artifacts must be the same bytes."""
    keys = Keys(paths, pq.read_schema(paths[0]))
    shuffles = cluster.engine.shuffles
    here = stage.decide(keys, GlobalContext(list(previous), out / "local" / "dedup"))
    on_ray = stage.decide(keys, GlobalContext(list(previous), out / "ray" / "dedup", cluster=cluster))
    assert cluster.engine.shuffles > shuffles  # the decide ran on Ray
    for name in ("dedup.json", "signatures.parquet"):
        assert (out / "local" / "dedup" / name).read_bytes() == (out / "ray" / "dedup" / name).read_bytes(), name
    return here, on_ray


def test_exact_copies_chains_and_copies_of_a_published_version(tmp_path, cluster):
    stage = Dedup(DedupParams())
    a = chinese_text(30, 2000)
    b = chinese_text(31, 240) + a[240:]
    c = b[:1760] + chinese_text(32, 240)
    assert true_jaccard(a, b) > 0.75 and true_jaccard(b, c) > 0.75 and true_jaccard(a, c) < 0.65
    base = chinese_text(10, 2000)
    first = [a, chinese_text(1), b, base, c, "短", base, *near_copies(base)[:3], chinese_text(2), a, "短"]
    ids = [f"v1-{i}" for i in range(len(first))]
    paths = write_keys(map_keys(stage, first, ids, 4), tmp_path / "keys1", files=2, rows_per_group=3)
    here, on_ray = both(stage, paths, tmp_path / "v1.0.0", cluster)
    assert here == on_ray
    reasons = [d and d.reason for d in here]
    assert reasons.count("dedup.exact") == 3 and reasons.count("dedup.near") >= 4  # a again, base again, "短" again; b, copies
    assert here[2].reason == "dedup.near" and here[4] is None  # A~B~C: B goes, C stays (keeper rounds)

    # v1.1.0: copies of kept v1.0.0 documents (exact and near) and new ones; v1.0.0's kept keys take part first.
    second = [chinese_text(3), first[1], near_copies(base)[3], chinese_text(4), c, chinese_text(3)]
    paths = write_keys(map_keys(stage, second, [f"v2-{i}" for i in range(len(second))], 4), tmp_path / "keys2", files=1, rows_per_group=2)
    published = [tmp_path / "v1.0.0" / "local"]
    here, on_ray = both(stage, paths, tmp_path / "v1.1.0", cluster, previous=published)
    assert here == on_ray
    assert [d and d.detail.split(" ")[0] for d in here] == [None, "local:v1-1", "local:v1-3", None, "local:v1-4", "v2-0"]


def random_keys(seed: int, n: int, num_perm: int) -> pa.Table:
    """Random signatures with planted near copies (chains included: a copy of a copy), exact copies and short texts."""
    rng = np.random.default_rng(seed)
    signatures = rng.integers(0, 256, size=(n, num_perm), dtype=np.uint8)
    exact = rng.integers(0, 1 << 63, size=(n, 2), dtype=np.uint64)
    length = rng.integers(0, 60, size=n).astype(np.int32)
    for row in range(1, n):
        roll = rng.random()
        source = int(rng.integers(0, row))
        if roll < 0.35:  # a near copy of an earlier row, at a random similarity
            agree = rng.random(num_perm) < rng.uniform(0.3, 1.0)
            signatures[row] = np.where(agree, signatures[source], signatures[row])
            length[row] = length[source] + int(rng.integers(-3, 4))
        elif roll < 0.45:  # an exact copy
            signatures[row], exact[row], length[row] = signatures[source], exact[source], length[source]
    return pa.table({
        "id": pa.array([f"r{seed}-{i}" for i in range(n)]),
        EXACT: pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(exact.tobytes())]),
        LENGTH: pa.array(np.maximum(length, 0)),
        MINHASH: pa.FixedSizeBinaryArray.from_buffers(pa.binary(num_perm), n, [None, pa.py_buffer(signatures.tobytes())]),
    })


@pytest.mark.parametrize("seed", range(4))
def test_random_signatures_give_the_local_decisions(tmp_path, cluster, seed):
    keep = "longest" if seed % 2 else "first"
    stage = Dedup(DedupParams(num_perm=64, bands=16, rows=4, threshold=0.55, margin=0.0, keep=keep, ngram=5))
    table = random_keys(seed, 400, 64)
    published = tmp_path / "v1.0.0"
    here, on_ray = both(stage, write_keys(table.slice(0, 150), tmp_path / "k1", files=2, rows_per_group=16), published, cluster)
    assert here == on_ray and sum(d is not None for d in here) > 10
    here, on_ray = both(stage, write_keys(table.slice(150), tmp_path / "k2", files=3, rows_per_group=11), tmp_path / "v1.1.0",
                        cluster, previous=[published / "local"])
    assert here == on_ray
    reasons = {d.reason for d in here if d is not None}
    assert reasons == {"dedup.exact", "dedup.near"} and any(d and ":" in d.detail.split(" ")[0] for d in here)


@pytest.mark.parametrize("first, second", [
    ({"exact": False}, {"exact": False}),
    ({"near": False}, {}),  # the published version has no signatures: its documents take part only as exact copies
    ({}, {"cross_version": False, "keep": "longest"}),
])
def test_exact_only_near_only_and_without_cross_version(tmp_path, cluster, first, second):
    shape = {"num_perm": 64, "bands": 16, "rows": 4, "threshold": 0.55, "margin": 0.0}
    table = random_keys(7, 300, 64)
    v1 = Dedup(DedupParams(**shape, **first))
    keys1 = table.slice(0, 120) if v1.params.near else table.slice(0, 120).drop_columns([MINHASH])
    published = tmp_path / "v1.0.0"
    here, on_ray = both(v1, write_keys(keys1, tmp_path / "k1", rows_per_group=9), published, cluster)
    assert here == on_ray and any(here)
    v2 = Dedup(DedupParams(**shape, **second))
    here, on_ray = both(v2, write_keys(table.slice(120), tmp_path / "k2", rows_per_group=13), tmp_path / "v1.1.0", cluster,
                        previous=[published / "local"])
    assert here == on_ray and any(here)


def test_line_frequency_on_ray_gives_the_local_edits_and_counts(tmp_path, cluster):
    from collections import Counter

    from builder.stages import Batch
    from builder.stages.line_frequency import LineFrequency, LineFrequencyParams
    from test_line_frequency import FOOTER, HEADER, SHARE

    quote = "这是一段被许多网站转载的很长的段落，它讲述了城市公园改造的过程以及居民们对新设施的评价和期待，内容完整。"
    texts, urls = [], []
    for i in range(40):
        site = ["a.example.cn", "www.b.example.cn", f"s{i}.example.org", None][i % 4]
        lines = [chinese_text(200 + i, 240)]
        if i % 4 == 0:
            lines = [HEADER, *lines, FOOTER]
        if i % 4 == 1:
            lines.append(SHARE)
        if i % 3 == 0:
            lines.append("关注我们，获取更多精彩资讯")  # on many sites: the corpus rule
        if i % 3 == 1:
            lines.insert(1, quote)  # prose-length: its first holder keeps it
        if i in (8, 12):
            lines = [HEADER, FOOTER, "短文。"]  # nearly all chrome: the copy guard leaves it
        texts.append("\n".join(lines))
        urls.append(site and f"https://{site}/p/{i}")
    texts += texts[4:7]  # exact copies count once
    urls += urls[4:7]
    stage = LineFrequency(LineFrequencyParams())
    batch = stage(Batch({"id": [str(i) for i in range(len(texts))], "text": texts, "url": urls}))
    table = pa.table({"id": batch["id"], **{c: pa.array(batch[c], t) for c, t in stage.key_columns().items()}})
    paths = write_keys(table, tmp_path / "keys", files=2, rows_per_group=6)
    keys = Keys(paths, pq.read_schema(paths[0]))
    here, on_ray = GlobalContext([], tmp_path / "a"), GlobalContext([], tmp_path / "b", cluster=cluster)
    shuffles = cluster.engine.shuffles
    local_edits, ray_edits = stage.decide(keys, here), stage.decide(keys, on_ray)
    assert cluster.engine.shuffles > shuffles
    assert local_edits == ray_edits and here.counters == on_ray.counters
    assert sum(e is not None for e in local_edits) > 20 and here.counters["line_frequency.documents_guarded"] >= 1
    removed = Counter(texts[d].split("\n")[i] for d, e in enumerate(local_edits) if e for i in e.lines)
    assert {HEADER, FOOTER, SHARE, "关注我们，获取更多精彩资讯", quote} <= set(removed)
    assert quote not in [texts[1].split("\n")[i] for i in local_edits[1].lines]  # its first holder keeps it


@pytest.mark.parametrize("seed", range(2))
def test_line_frequency_on_random_records_gives_the_local_edits(tmp_path, cluster, seed):
    """Records as the bench makes them: few keys shared within and across sites, lengths that need not agree
    with the key (so no rule may read one line of a group for all of it), copies of documents."""
    from builder.stages.line_frequency import CHARS, LINES, RECORD, SITE, LineFrequency, LineFrequencyParams, _first_in_document

    rng = np.random.default_rng(seed)
    n_docs = 300
    per_doc = rng.integers(0, 12, size=n_docs)
    doc = np.repeat(np.arange(n_docs), per_doc)
    site = rng.integers(-1, 6, size=n_docs)
    records = np.zeros(doc.size, dtype=RECORD)
    records["hash"] = rng.integers(0, 1 << 63, size=doc.size, dtype=np.uint64)
    shared = rng.random(doc.size)
    records["hash"][shared < 0.3] = rng.integers(0, 8, size=int((shared < 0.3).sum())).astype(np.uint64) + np.maximum(site[doc[shared < 0.3]], 0).astype(np.uint64) * 8
    records["hash"][(shared >= 0.3) & (shared < 0.45)] = np.uint64(1 << 40) + rng.integers(0, 5, size=int(((shared >= 0.3) & (shared < 0.45)).sum())).astype(np.uint64)
    records["index"] = np.arange(doc.size) - np.repeat(np.cumsum(per_doc) - per_doc, per_doc)
    records["chars"] = rng.integers(3, 90, size=doc.size)
    records["key_chars"] = records["chars"]
    records["first"] = _first_in_document(records["hash"], doc)
    offsets = np.concatenate([[0], np.cumsum(per_doc) * RECORD.itemsize]).astype(np.int32)
    lines = pa.Array.from_buffers(pa.binary(), n_docs, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(records.tobytes())])
    chars = np.bincount(doc, weights=records["chars"] + 1, minlength=n_docs).astype(np.int64) * rng.integers(1, 4, size=n_docs)
    table = pa.table({"id": [str(i) for i in range(n_docs)], LINES: lines, CHARS: chars,
                      SITE: [None if s < 0 else f"s{s}.example.cn" for s in site.tolist()]})
    table = pa.concat_tables([table, table.slice(40, 30)])  # copies count once
    paths = write_keys(table, tmp_path / "keys", files=3, rows_per_group=23)
    keys = Keys(paths, pq.read_schema(paths[0]))
    stage = LineFrequency(LineFrequencyParams(min_site_docs=2, min_corpus_docs=3, long_line_chars=60))
    here, on_ray = GlobalContext([], tmp_path / "a"), GlobalContext([], tmp_path / "b", cluster=cluster)
    local_edits, ray_edits = stage.decide(keys, here), stage.decide(keys, on_ray)
    assert local_edits == ray_edits and here.counters == on_ray.counters
    assert sum(e is not None for e in local_edits) > 30


def test_a_worker_killed_during_the_decide_is_retried_and_decides_the_same(tmp_path, cluster):
    import threading
    import time

    psutil = pytest.importorskip("psutil")
    stage = Dedup(DedupParams(num_perm=128, bands=32, rows=4))
    paths = write_keys(random_keys(11, 40_000, 128), tmp_path / "keys", files=2, rows_per_group=4_000)
    keys = Keys(paths, pq.read_schema(paths[0]))
    killed: list[int] = []
    done = threading.Event()

    def kill_one_task_worker() -> None:
        while not done.is_set() and not killed:
            for process in psutil.process_iter(["cmdline"]):
                try:
                    if any(part.startswith(("ray::_route_task", "ray::_reduce_task")) for part in process.info["cmdline"] or []):
                        process.kill()
                        killed.append(process.pid)
                        return
                except psutil.Error:
                    continue
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_task_worker, daemon=True)
    killer.start()
    try:
        on_ray = stage.decide(keys, GlobalContext([], tmp_path / "ray", cluster=cluster))
    finally:
        done.set()
        killer.join()
    assert killed, "the decide ended before a task's worker could be killed"
    assert on_ray == stage.decide(keys, GlobalContext([], tmp_path / "local"))
    assert (tmp_path / "ray" / "dedup.json").read_bytes() == (tmp_path / "local" / "dedup.json").read_bytes()
