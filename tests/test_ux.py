"""Issue #12: no empty releases, honest progress, quiet -v, readable charts and cards, messages, verify."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard

from builder.cli import main
from builder.config import ConfigError, load_config
from builder.publish import charts
from builder.runner import Build
from conftest import ARTICLES, run_cli, write_config, write_jsonl

NORMALIZE = "  - type: normalize\n"
NORMALIZE_DEDUP = "  - type: normalize\n  - type: dedup\n"
WITH_LANGUAGE = "  - type: normalize\n  - type: language\n"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def versions_in(root: Path) -> list[str]:
    dataset = root / "test-set"
    return sorted(p.name for p in dataset.iterdir() if p.name.startswith("v")) if dataset.is_dir() else []


# -- 1. empty releases -------------------------------------------------------------------------

def test_rerun_under_cross_version_dedup_publishes_nothing(tmp_path, corpus, capsys):
    config = write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE_DEDUP, version="auto")
    assert cli(capsys, "--config", str(config), "-q")[0] == 0
    code, _, err = cli(capsys, "--config", str(config), "--dry-run")
    assert code == 2, err
    assert "nothing new to release" in err and "v1.0.0" in err
    code, _, err = cli(capsys, "--config", str(config), "-q")
    assert code == 2, err
    assert f"all {len(ARTICLES) + 1} documents are copies of v1.0.0: nothing new to release" in err
    assert versions_in(tmp_path / "out") == ["v1.0.0"]
    assert not [p for p in (tmp_path / "out" / "test-set").iterdir() if p.name.startswith(".staging")]


def test_wrong_text_field_quarantines_everything_and_publishes_nothing(tmp_path, corpus, capsys):
    config = write_config(tmp_path / "c.yaml", [corpus], extra="  text_field: body\n")
    total = len(ARTICLES) + 1
    for dry in (["--dry-run"], ["-q"]):
        code, out, err = cli(capsys, "--config", str(config), *dry)
        assert code == 2, out + err
        assert f"input.missing_field for {total} of {total}" in err and "input.text_field" in err
    assert versions_in(tmp_path / "out") == []


def test_quarantined_share_above_the_maximum_is_not_published(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in" / "x.jsonl", [{"id": "a", "text": ARTICLES[0]}, "{broken", "{broken too"])
    config = write_config(tmp_path / "c.yaml", [source])
    code, _, err = cli(capsys, "--config", str(config), "-q")
    assert code == 2 and "input.invalid_json for 2 of 3" in err and "input.max_quarantined_share" in err
    config.write_text(config.read_text().replace("  format: jsonl\n", "  format: jsonl\n  max_quarantined_share: 0.9\n"))
    code, out, err = cli(capsys, "--config", str(config), "-q")
    assert code == 0, err
    assert versions_in(tmp_path / "out") == ["v1.0.0"]


def test_dry_run_says_the_version_exists(tmp_path, corpus, capsys):
    config = write_config(tmp_path / "c.yaml", [corpus])
    assert cli(capsys, "--config", str(config), "-q")[0] == 0
    code, _, err = cli(capsys, "--config", str(config), "--dry-run")
    assert code == 2 and "already exists" in err


# -- 2. progress: its numbers ------------------------------------------------------------------

def test_progress_counts_bytes_of_known_size_and_the_true_pass_rate(tmp_path, corpus):
    english = write_jsonl(tmp_path / "in" / "english.jsonl", [{"id": "en", "text": "An English page about the weather, long enough to be judged."}])
    config = load_config(write_config(tmp_path / "c.yaml", [corpus, english], stages=WITH_LANGUAGE))
    build = Build(config)
    build.run()
    first = build.progress_log[0]
    assert first.total_bytes == corpus.stat().st_size + english.stat().st_size
    assert first.done_bytes == first.total_bytes
    assert (first.documents_in, first.documents_out) == (len(ARTICLES) + 2, len(ARTICLES) + 1)
    assert first.pass_rate == pytest.approx((len(ARTICLES) + 1) / (len(ARTICLES) + 2))


# -- 3. -v shows the builder's steps, not matplotlib's -----------------------------------------

def test_verbose_shows_builder_steps_not_font_lookups(tmp_path, corpus):
    result = run_cli("--config", str(write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE_DEDUP)), "-v")
    assert result.returncode == 0, result.stderr
    assert "findfont" not in result.stderr and "matplotlib" not in result.stderr
    assert "builder: reading 1 input file" in result.stderr and "builder: dedup: deciding" in result.stderr


# -- 4. charts ---------------------------------------------------------------------------------

def _overlaps(boxes) -> bool:
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_funnel_character_ticks_do_not_overlap():
    report = {"input": {"documents": 3_273, "characters": 9_876_543}, "kept": {"documents": 2_900, "characters": 8_765_432},
              "dropped": {"quality.spam": {"documents": 300, "characters": 987_654}, "dedup.exact": {"documents": 73, "characters": 123_457}},
              "quarantined": {}}
    figure = charts.funnel_figure(report)
    renderer = figure.canvas.get_renderer()
    for axis in figure.axes:
        labels = [t for t in axis.get_xticklabels() if t.get_text() and t.get_visible()]
        assert _overlaps([t.get_window_extent(renderer) for t in labels]) is False, [t.get_text() for t in labels]


def test_length_bars_are_as_wide_as_their_bins_and_labels_stay_below_the_title():
    from builder.publish.stats import LENGTH_EDGES, length_label

    kept = [5, 40, 400, 900, 1200, 800, 300, 60, 10, 2, 1]
    stats = {"lengths": {"bins": [length_label(i) for i in range(len(LENGTH_EDGES))], "kept": kept, "removed": [1] * len(kept)}}
    figure = charts.lengths_figure(stats)
    axis = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    kept_bars = axis.containers[0]
    # On the log axis each bin spans its own edges: 1,000-1,999 is as wide as 10,000-19,999, twice 200-499's log width / log2.5.
    spans = [(bar.get_x(), bar.get_x() + bar.get_width()) for bar in kept_bars]
    assert spans[4][0] >= 500 and spans[4][1] <= 1_000 and spans[8][0] >= 10_000 and spans[8][1] <= 20_000
    title = axis.title.get_window_extent(renderer)
    for text in axis.texts:
        assert not text.get_window_extent(renderer).overlaps(title), text.get_text()


# -- 5. card -----------------------------------------------------------------------------------

def test_card_names_the_data_placeholder_and_no_build_machine_path(tmp_path, corpus):
    pii = write_jsonl(tmp_path / "in" / "pii.jsonl", [{"id": "p", "text": ARTICLES[1] + "联系邮箱：john.doe@example.com，电话13812345678。"}])
    config = write_config(tmp_path / "c.yaml", [corpus, pii], stages="  - type: normalize\n  - type: quality\n")
    result = Build(load_config(config)).run()
    card = (result.version_dir / "README.md").read_text()
    assert "`[TYPE]`" not in card and "`<EMAIL>`" in card
    assert str(tmp_path) not in card.split("## Sources")[0]
    assert 'load_dataset("test-set", "v1.0.0", split="train")' in card


def test_limited_build_says_so_at_the_top_and_in_the_next_changelog(tmp_path, corpus):
    config = write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE)
    first = Build(load_config(config), limit=3).run()
    card = DatasetCard.load(first.version_dir / "README.md").text
    assert "first 3 input documents" in card.split("## How to load")[0]
    second = Build(load_config(config, {"version": "1.1.0"})).run()
    changelog = (second.version_dir.parent / "CHANGELOG.md").read_text()
    v110 = changelog.split("## v1.1.0")[1].split("## v1.0.0")[0]
    assert "Inputs: unchanged" not in v110 and "v1.0.0 read only the first 3 documents" in v110


# -- 6. messages -------------------------------------------------------------------------------

def test_version_as_yaml_number_says_quote_it(tmp_path, corpus):
    config = write_config(tmp_path / "c.yaml", [corpus], version="1.0")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert "c.yaml:2" in str(info.value) and 'quote it' in str(info.value) and "X.Y.Z" in str(info.value)


def test_no_pydantic_prefix_and_every_error_reported(tmp_path, corpus):
    config = write_config(tmp_path / "c.yaml", [corpus], version="one", stages="  - type: dedup\n    threshold: 2\n    ngramm: 5\n")
    config.write_text(config.read_text().replace("  workers: 1\n", "  workers: 0\n"))
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert "Value error" not in message
    for key in ("version", "stages[0].threshold", "stages[0].ngramm", "executor.workers"):
        assert key in message, message


def test_command_line_value_is_blamed_on_the_flag(tmp_path, corpus, capsys):
    config = write_config(tmp_path / "c.yaml", [corpus])
    code, _, err = cli(capsys, "--config", str(config), "--version", "1.1")
    assert code == 2 and err.startswith("error: --version 1.1:") and "c.yaml" not in err


def test_input_path_typo_names_the_config_line(tmp_path, corpus, capsys):
    config = write_config(tmp_path / "c.yaml", [str(corpus) + "x"])
    code, _, err = cli(capsys, "--config", str(config))
    assert code == 2 and f"{config}:4: input.paths[0]" in err and "no such file" in err


# -- 7. verify hashes everything a reader sees ---------------------------------------------------

@pytest.mark.parametrize("name", ["report.json", "README.md", "card.json", "charts/funnel.png"])
def test_verify_notices_a_changed_report_card_or_chart(tmp_path, corpus, capsys, name):
    result = Build(load_config(write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE))).run()
    assert cli(capsys, "verify", str(result.version_dir))[0] == 0
    path = result.version_dir / name
    path.write_bytes(path.read_bytes() + b" ")
    code, out, _ = cli(capsys, "verify", str(result.version_dir))
    assert code == 3 and name in out


# -- the new commands, through the real CLI ----------------------------------------------------

NAV = "首页 | 新闻 | 财经 | 科技 | 体育 | 娱乐"
QUALITY_DEDUP = "  - type: normalize\n  - type: quality\n  - type: dedup\n"


def _near_copy(text: str) -> str:
    return text[:30] + "另" + text[31:]


@pytest.fixture
def audited(tmp_path) -> Path:
    records = [{"id": f"doc-{i}", "text": text} for i, text in enumerate(ARTICLES)]
    records.append({"id": "near-0", "text": _near_copy(ARTICLES[0])})
    records.append({"id": "with-nav", "text": NAV + "\n" + ARTICLES[4] + "\n" + ARTICLES[5]})
    source = write_jsonl(tmp_path / "in" / "audited.jsonl", records)
    return write_config(tmp_path / "c.yaml", [source], stages=QUALITY_DEDUP)


def test_sample_runs_the_stages_into_a_scratch_folder_and_never_publishes(tmp_path, capsys):
    from conftest import REPO

    config = str(REPO / "configs" / "zh.yaml")
    out = tmp_path / "out"
    code, stdout, err = cli(capsys, "--config", config, "--output", str(out), "--sample", "40", "--workers", "1")
    assert code == 0, err
    assert "sample of 40 of 291 documents (seed 0)" in stdout and "nothing was published" in stdout
    assert [p.name for p in (out / "zh-web").iterdir() if not p.name.startswith(".")] == ["samples"]
    folder = out / "zh-web" / "samples" / "sample-40-seed-0"
    report = json.loads((folder / "report.json").read_text())
    kept = sum(1 for _ in folder.glob("data/*.parquet"))
    assert report["sample"] == {"documents": 40, "of": 291, "seed": 0} and kept
    accounted = report["kept"]["documents"] + sum(v["documents"] for b in ("dropped", "quarantined") for v in report[b].values())
    assert accounted == 40
    first = (folder / "report.json").read_text()
    assert cli(capsys, "--config", config, "--output", str(out), "--sample", "40", "--workers", "2", "-q")[0] == 0
    again = json.loads((folder / "report.json").read_text())
    assert {k: again[k] for k in ("kept", "dropped", "quarantined")} == {k: report[k] for k in ("kept", "dropped", "quarantined")}
    assert cli(capsys, "--config", config, "--output", str(out), "--sample", "40", "--seed", "1", "-q")[0] == 0
    assert (out / "zh-web" / "samples" / "sample-40-seed-1" / "report.json").read_text() != first


def test_inspect_shows_near_pairs_side_by_side_and_the_lines_quality_removed(tmp_path, audited, capsys):
    assert cli(capsys, "--config", str(audited), "-q")[0] == 0
    version = tmp_path / "out" / "test-set" / "v1.0.0"
    code, out, err = cli(capsys, "inspect", str(version), "--reason", "dedup.near")
    assert code == 0, err
    assert "near-0  [dropped dedup.near]" in out and "doc-0 (Jaccard ~" in out
    assert "removed: near-0" in out and "kept: doc-0" in out and "│" in out
    code, out, _ = cli(capsys, "inspect", str(version), "--id", "with-nav")
    assert code == 0 and "[kept]" in out and "lines removed by quality (1):" in out and NAV in out
    code, out, _ = cli(capsys, "inspect", str(version), "--n", "1")
    assert "== kept: 7 document(s), showing 1" in out and "== dedup.near: 1 document(s), showing 1" in out
    code, _, err = cli(capsys, "inspect", str(version), "--reason", "quality.spamm")
    assert code == 2 and "reasons here:" in err


def test_stages_lists_every_parameter_and_the_schema_validates_the_flagship(tmp_path, capsys):
    import jsonschema
    import yaml

    from builder.stages import STAGES
    from conftest import REPO

    code, out, _ = cli(capsys, "stages")
    assert code == 0
    for name, stage in STAGES.items():
        assert f"\n{name}" in out
        for key in stage.Params.model_fields:
            assert f"  {key} " in out, key
    schema_path = tmp_path / "schema.json"
    assert cli(capsys, "stages", "--schema", str(schema_path))[0] == 0
    schema = json.loads(schema_path.read_text())
    jsonschema.validate(yaml.safe_load((REPO / "configs" / "zh.yaml").read_text()), schema)
    broken = yaml.safe_load((REPO / "configs" / "zh.yaml").read_text())
    broken["stages"][3]["thresold"] = 0.8
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_init_writes_the_flagship_recipe_and_never_over_a_file(tmp_path, capsys):
    from conftest import REPO

    code, out, _ = cli(capsys, "init", str(tmp_path / "new"))
    written = tmp_path / "new" / "zh.yaml"
    assert code == 0 and f"--config {written} --sample 2000" in out
    assert written.read_bytes() == (REPO / "configs" / "zh.yaml").read_bytes()
    assert load_config(written).name == "zh-web"
    code, _, err = cli(capsys, "init", str(tmp_path / "new"))
    assert code == 2 and "already exists" in err


def test_workers_flag_log_file_and_tool_version(tmp_path, corpus, capsys):
    from importlib import metadata

    config = write_config(tmp_path / "c.yaml", [corpus])
    code, _, err = cli(capsys, "--config", str(config), "--workers", "0")
    assert code == 2 and err.startswith("error: --workers 0:")
    log_file = tmp_path / "run.log"
    code, _, err = cli(capsys, "--config", str(config), "--workers", "2", "-q", "--log-file", str(log_file))
    assert code == 0, err
    assert json.loads((tmp_path / "out" / "test-set" / "v1.0.0" / "report.json").read_text())["workers"] == 2
    assert "builder: reading 1 input file" in log_file.read_text() and "reading" not in err
    assert cli(capsys, "version")[1].strip() == f"zh-corpus-builder {metadata.version('zh-corpus-builder')}"
    with pytest.raises(SystemExit) as exit_info:
        main(["-V"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"zh-corpus-builder {metadata.version('zh-corpus-builder')}"
