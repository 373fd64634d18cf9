"""Hostile input, strict versions, one build per dataset folder, bounded params, portable ids,
short texts in dedup: each a way a long unattended run broke (issue #14), built for real."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.config import ConfigError, load_config
from builder.engines.local import available_cpus
from builder.io.readers import DocumentReader, InputError, Quarantined, expand_inputs
from builder.publish.versions import newest, published_versions
from builder.runner import Build
from builder.text.minhash import minhash_signatures, to_codepoints
from conftest import ARTICLES, REPO, run_cli, write_config, write_jsonl


def build(config_path: Path, **overrides):
    return Build(load_config(config_path, overrides)).run()


def rejected(result) -> list[dict]:
    runs = result.version_dir.parent / "runs" / result.version_dir.name / "rejected"
    return [row for path in sorted(runs.glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


# -- hostile lines: quarantined one by one, never the whole build --------------------------

HOSTILE_LINES = [
    '{"id": "\\ud800", "text": "一篇正文，编号是坏的代理项。"}',
    '{"id": "ok-url", "url": "https://example.com/\\udfff", "text": "另一篇正文，网址里有坏的代理项。"}',
    "[" * 100_000,
    '{"id": "big-int", "n": ' + "1" * 5000 + ', "text": "数字太长的一行。"}',
    '{"id": {"nested": "\\ud83d"}, "text": "编号是一个对象，里面有半个表情。"}',
]


def test_hostile_lines_are_quarantined_and_the_rest_is_built(tmp_path):
    good = [{"id": f"good-{i}", "text": text} for i, text in enumerate(ARTICLES)]
    source = write_jsonl(tmp_path / "in" / "hostile.jsonl", good[:3] + HOSTILE_LINES + good[3:])
    result = build(write_config(tmp_path / "c.yaml", [source]))
    report = json.loads((result.version_dir / "report.json").read_text())
    assert report["kept"]["documents"] == len(ARTICLES) + 1  # an object id is written as its (escaped) repr
    assert report["input"]["documents"] == len(ARTICLES) + len(HOSTILE_LINES)
    assert report["quarantined"]["input.invalid_text"]["documents"] == 2
    assert report["quarantined"]["input.invalid_json"]["documents"] == 2
    rows = {row["source"]: row for row in rejected(result)}
    assert rows["hostile.jsonl:4"]["detail"] == "hostile.jsonl:4: field 'id' holds lone surrogates (not valid Unicode)"
    assert rows["hostile.jsonl:5"]["detail"].endswith("field 'url' holds lone surrogates (not valid Unicode)")
    assert "nested too deeply" in rows["hostile.jsonl:6"]["detail"]
    assert "4300 digits" in rows["hostile.jsonl:7"]["detail"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
line = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.tuples(st.fixed_dictionaries({"text": json_values}, optional={"id": json_values, "url": json_values}), st.booleans())
    .map(lambda d: json.dumps(d[0], ensure_ascii=d[1]).encode("utf-8", "surrogatepass")),
)


@given(st.lists(line, max_size=12))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_jsonl_reader_never_raises_and_accounts_for_every_line(tmp_path, lines):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(l.replace(b"\n", b" ") for l in lines) + b"\n")
    config = load_config(write_config(tmp_path / "c.yaml", [path]))
    reader = DocumentReader(config.input, expand_inputs(config.input), 4)
    seen = 0
    for batch in reader.batches():
        seen += len(batch.columns["text"]) + len(batch.quarantined)
        for value in batch.columns["id"] + batch.columns["text"] + [u for u in batch.columns["url"] if u is not None]:
            value.encode("utf-8")  # whatever reached a batch can be written
        assert all(isinstance(q, Quarantined) and q.reason.startswith("input.") for q in batch.quarantined)
    assert seen == sum(1 for l in lines if l.replace(b"\n", b" ").strip())


# -- versions: parsed strictly, compared as versions ------------------------------------------

@pytest.mark.parametrize("version", ["01.0.0", "1.00.0", "1.0.0\n", "1.0.0 ", "１.0.0", "1.0", "v1.0.0"])
def test_a_version_that_is_not_strict_semver_is_a_config_error(tmp_path, corpus, version):
    with pytest.raises(ConfigError, match="version must look like 1.2.3"):
        load_config(write_config(tmp_path / "c.yaml", [corpus]), {"version": version})


def test_versions_sort_as_numbers_and_odd_folders_are_not_versions(tmp_path):
    assert newest(["1.9.0", "v1.10.0", "1.2.0"]) == "1.10.0"
    assert newest(["01.0.0", "1.0.0\n"]) is None
    for name in ("v1.9.0", "v1.10.0", "v01.0.0"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "MANIFEST.json").write_text("{}")
    assert [p.name for p in published_versions(tmp_path)] == ["v1.9.0", "v1.10.0"]


# -- one build per dataset folder -------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from pathlib import Path
from builder.publish.local import LocalRelease
with LocalRelease(Path(sys.argv[1]), "test-set", "9.9.9")._locked():
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_build_into_a_folder_being_built_fails_and_a_dead_holder_frees_it(tmp_path, corpus):
    out = tmp_path / "out"
    (out / "test-set").mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = run_cli("--config", str(write_config(tmp_path / "c.yaml", [corpus], version="1.1.0", root=out)))
        assert second.returncode == 2, second.stderr
        assert f"is being built by pid {holder.pid} on" in second.stderr and "Traceback" not in second.stderr
        assert not (out / "test-set" / "v1.1.0").exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding the lock: the kernel releases it
        holder.wait()
    again = run_cli("--config", str(write_config(tmp_path / "c.yaml", [corpus], version="1.1.0", root=out)))
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (out / "test-set").iterdir()) == ["CHANGELOG.md", "README.md", "runs", "v1.1.0"]


# -- params that cannot mean anything are refused, workers capped ---------------------------------

@pytest.mark.parametrize("params, key", [
    ("max_spam_line_share: -1", "max_spam_line_share"),
    ("min_cjk_share: 1.5", "min_cjk_share"),
    ("min_chars: -5", "min_chars"),
    ("max_top_ngram_frac: {-4: 0.2}", "max_top_ngram_frac"),
    ("max_dup_ngram_frac: {10: -0.7}", "max_dup_ngram_frac"),
])
def test_quality_thresholds_out_of_range_name_the_line(tmp_path, corpus, params, key):
    config = write_config(tmp_path / "c.yaml", [corpus], stages=f"  - type: quality\n    {params}\n")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert f"c.yaml:{7 + 1}" in str(error.value) and key in str(error.value)


def test_more_workers_than_cpus_runs_on_the_cpus(tmp_path, corpus, caplog):
    cpus = available_cpus()
    result = build(write_config(tmp_path / "c.yaml", [corpus], workers=cpus + 1))
    assert json.loads((result.version_dir / "report.json").read_text())["workers"] == cpus
    assert f"this machine has {cpus} CPUs" in caplog.text


# -- ids and the manifest do not carry the machine's layout -------------------------------------

def test_ids_of_inputs_outside_the_working_directory_are_relative_to_their_input_root(tmp_path):
    data = tmp_path / "home" / "alice" / "proj"
    single = write_jsonl(data / "x.jsonl", [{"text": ARTICLES[0]}])
    write_jsonl(data / "crawl" / "part" / "y.jsonl", [{"text": ARTICLES[1]}])
    result = build(write_config(tmp_path / "c.yaml", [single, data / "crawl"]))
    ids = pq.read_table(next((result.version_dir / "data").glob("*.parquet"))).column("id").to_pylist()
    assert ids == ["x.jsonl:1", "crawl/part/y.jsonl:1"]
    manifest = json.loads((result.version_dir / "MANIFEST.json").read_text(encoding="utf-8"))
    assert [i["path"] for i in manifest["inputs"]] == ["x.jsonl", "crawl/part/y.jsonl"]
    # (the config records the paths as they were given, for `verify --rebuild`; the cards name the output folder)
    for name in ("report.json", "card.json"):
        assert str(tmp_path) not in (result.version_dir / name).read_text(encoding="utf-8")


def test_two_inputs_that_would_share_a_name_are_an_error(tmp_path):
    first = write_jsonl(tmp_path / "a" / "x.jsonl", [{"text": ARTICLES[0]}])
    second = write_jsonl(tmp_path / "b" / "x.jsonl", [{"text": ARTICLES[1]}])
    with pytest.raises(InputError, match="would both be named 'x.jsonl'"):
        expand_inputs(load_config(write_config(tmp_path / "c.yaml", [first, second])).input)


# -- dedup of short texts does work in proportion to their shingles ------------------------------

def test_densifying_short_texts_does_not_scan_every_slot():
    rng = random.Random(7)
    texts = ["".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(10)) for _ in range(2000)]
    codepoints, lengths = to_codepoints(texts)
    tracemalloc.start()
    try:
        minhash_signatures(codepoints, lengths, 5, 512)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The signatures' own working set (2,000 x 512 uint64 minima) is 8 MB; scanning each empty
    # slot's whole probing order took ~100 MB here, rank lookups take ~40 MB.
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MB"


# -- every stage over hostile text: never an error, every document accounted for -------------------

hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),  # anything encodable: controls, combining marks, private use, emoji
        st.sampled_from("。，！？、：；（）《》“”「」　\u200b\ufeff\u3000\r\n\t锟斤拷銆傛槸ＡＢ１２"),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    ),
    max_size=300,
)


@given(st.lists(hostile_text, min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_every_stage_takes_any_text_without_an_error_and_counts_add_up(texts):
    from builder.stages import STAGES

    runner = _all_stages_runner()
    columns = {"id": [f"d{i}" for i in range(len(texts))], "text": list(texts), "url": [None] * len(texts),
               "_source": [f"fuzz:{i}" for i in range(len(texts))]}
    result = runner(columns)
    errors = [(r, d) for r, d in zip(result.rejected["reason"], result.rejected["detail"]) if r.startswith("error.")]
    assert errors == []
    assert len(result.columns["text"]) + len(result.rejected["id"]) == len(texts)
    assert set(STAGES) >= set(result.stage_stats)


_RUNNER = []
RECIPE_ORDER = ["normalize", "language", "quality", "dedup"]


def _all_stages_runner():
    """Every registered stage in recipe order, built once (quality and language load tables)."""
    from builder.pipeline import SegmentRunner
    from builder.stages import STAGES

    if not _RUNNER:
        names = sorted(STAGES, key=lambda n: (RECIPE_ORDER.index(n) if n in RECIPE_ORDER else len(RECIPE_ORDER), n))
        _RUNNER.append(SegmentRunner([STAGES[name](STAGES[name].Params()) for name in names]))
    return _RUNNER[0]
