"""Local releases: automatic versions, changelog, the dataset card and its charts, verify."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard

from builder.cli import main
from builder.config import ConfigError, load_config
from builder.runner import Build
from conftest import ARTICLES, write_config, write_jsonl

NORMALIZE = "  - type: normalize\n"
WITH_LANGUAGE_AND_DEDUP = "  - type: normalize\n  - type: language\n  - type: dedup\n"
PII_DOC = ("Please contact our office at john.doe@example.com or call 13812345678 during working hours; "
           "the form must be returned before the end of the month with a copy of your passport.")


def build(config_path: Path, **overrides):
    return Build(load_config(config_path, overrides)).run()


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """The real command line, in this process (a subprocess would spend seconds importing)."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def manifest_of(version_dir: Path) -> dict:
    return json.loads((version_dir / "MANIFEST.json").read_text())


def test_auto_version_bumps_minor_for_new_rows_patch_for_card_only_major_when_breaking(tmp_path, corpus):
    extra = write_jsonl(tmp_path / "in2" / "more.jsonl", [{"id": "new-1", "text": "新版本加入的一篇短文，内容与旧版本完全不同。"}])
    config = write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE, version="auto")
    both = [str(corpus), str(extra)]
    first = build(config)
    second = build(config, **{"input.paths": both})
    third = build(config, **{"input.paths": both, "description": "Same rows, better words."})
    fourth = build(config, **{"input.paths": both, "breaking": True})
    assert [r.version_dir.name for r in (first, second, third, fourth)] == ["v1.0.0", "v1.1.0", "v1.1.1", "v2.0.0"]
    assert [manifest_of(r.version_dir)["auto_version"]["bump"] for r in (first, second, third, fourth)] == ["first", "minor", "patch", "major"]
    assert manifest_of(third.version_dir)["changes"]["same_rows"] is True
    assert manifest_of(second.version_dir)["changes"]["inputs"]["added"] == [extra.name]  # named from its input root, not the machine's layout

    changelog = (first.version_dir.parent / "CHANGELOG.md").read_text()
    headings = [line for line in changelog.splitlines() if line.startswith("## v")]
    assert headings == ["## v2.0.0", "## v1.1.1", "## v1.1.0", "## v1.0.0"]
    assert "- `description`: `` → `Same rows, better words.`" in changelog
    assert "- `breaking`: `False` → `True`" in changelog
    assert f"| kept documents | {len(ARTICLES) + 1:,} | {len(ARTICLES) + 2:,} | +1 |" in changelog
    # The root card is the newest version's card, and every version is a configuration.
    root = DatasetCard.load(first.version_dir.parent / "README.md")
    configs = root.data.configs
    assert [c["config_name"] for c in configs] == ["v2.0.0", "v1.1.1", "v1.1.0", "v1.0.0"]
    assert [c.get("default", False) for c in configs] == [True, False, False, False]
    assert "# test-set · v2.0.0" in root.text


def test_explicit_version_that_exists_is_refused_and_auto_is_suggested(tmp_path, corpus, capsys):
    config = write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE)
    build(config)
    code, _, err = cli(capsys, "--config", str(config), "-q")
    assert code == 2 and "version: auto" in err


def test_card_has_valid_metadata_sections_charts_and_redacted_examples(tmp_path, corpus):
    pii = write_jsonl(tmp_path / "in" / "english.jsonl", [{"id": "en-1", "text": PII_DOC}])
    result = build(write_config(tmp_path / "c.yaml", [corpus, pii], stages=WITH_LANGUAGE_AND_DEDUP))
    card_path = result.version_dir / "README.md"
    card = DatasetCard.load(card_path)
    data = card.data.to_dict()
    assert data["language"] == ["zh"] and data["language_details"] == ["zh-Hans", "zh-Hant"]
    assert data["license"] == "other" and data["task_categories"] == ["text-generation"]
    assert data["size_categories"] == ["n<1K"]
    assert data["configs"] == [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}]
    assert data["dataset_info"]["splits"][0]["num_examples"] == len(ARTICLES)
    headings = [line for line in card.text.splitlines() if line.startswith("## ")]
    assert headings == ["## How to load", "## Where the input went", "## Lengths and scripts", "## Deduplication", "## Examples",
                        "## Processing pipeline", "## Sources and reproducibility", "## Known limitations", "## Changelog"]
    # Every stage's resolved parameters, defaults included.
    for stage in ("normalize", "language", "dedup"):
        assert f"### `{stage}`" in card.text
    assert "num_perm:" in card.text and "keep:\n- zh" in card.text
    # The funnel table adds up, and names the reasons.
    assert "| dropped | `language.not_kept` | 1 |" in card.text and "| dropped | `dedup.exact` | 1 |" in card.text
    # Charts are real PNGs at the paths the card links to.
    images = [line.split("](", 1)[1].rstrip(")") for line in card.text.splitlines() if line.startswith("![")]
    assert images == ["charts/funnel.png", "charts/lengths.png", "charts/scripts.png"]
    for image in images:
        assert (result.version_dir / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Removed text is shown, redacted.
    assert "Please contact our office at \\<EMAIL\\> or call \\<MOBILE\\>" in card.text
    assert "john.doe" not in card.text and "13812345678" not in card.text
    assert ARTICLES[0][:20] in card.text  # a kept excerpt
    root = (result.version_dir.parent / "README.md").read_text()
    assert "](v1.0.0/charts/funnel.png)" in root


def test_verify_rehash_finds_a_changed_shard(tmp_path, corpus, capsys):
    result = build(write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE))
    code, out, err = cli(capsys, "verify", str(result.version_dir))
    assert code == 0, err
    assert "v1.0.0 files: matches the manifest" in out
    shard = next((result.version_dir / "data").glob("*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"\0")
    code, out, _ = cli(capsys, "verify", str(result.version_dir))
    assert code == 3
    assert f"shard data/{shard.name}: sha256 differs from the manifest" in out


def test_verify_rebuild_reproduces_a_version_built_against_an_earlier_one(tmp_path, corpus, capsys):
    newer = write_jsonl(tmp_path / "in2" / "more.jsonl", [{"id": "new-1", "text": ARTICLES[2]}, {"id": "new-2", "text": "另一篇全新的文章，与之前的内容毫无关系。"}])
    config = write_config(tmp_path / "c.yaml", [corpus], stages=WITH_LANGUAGE_AND_DEDUP)
    build(config)
    second = build(config, **{"version": "1.1.0", "input.paths": [str(corpus), str(newer)]})
    assert manifest_of(second.version_dir)["previous_versions"][0]["version"] == "v1.0.0"
    code, out, err = cli(capsys, "verify", str(second.version_dir), "--rebuild")
    assert code == 0, out + err
    assert "v1.1.0 rebuild: matches the manifest" in out

    newer.write_text(newer.read_text(encoding="utf-8").replace("全新", "崭新"), encoding="utf-8")
    code, _, err = cli(capsys, "verify", str(second.version_dir), "--rebuild")
    assert code == 2
    assert f"its inputs are not the ones it was built from: {newer.name} (sha256 differs)" in err


def test_publish_without_a_token_says_how_to_get_one(tmp_path, corpus, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)  # and conftest's HF_HOME is fresh: no saved token either
    result = build(write_config(tmp_path / "c.yaml", [corpus], stages=NORMALIZE))
    code, _, err = cli(capsys, "publish", str(result.version_dir), "--to", "hub", "--repo-id", "org/x")
    assert code == 2
    assert "no Hugging Face token: set HF_TOKEN or run `hf auth login`" in err


@pytest.mark.parametrize("key, value, message", [
    ("target", "hub", "publish.target hub needs publish.repo_id"),
    ("max_shard_mb", 501, "less than or equal to 500"),
    ("row_group_mb", 101, "less than or equal to 100"),
])
def test_publish_config_limits(tmp_path, corpus, key, value, message):
    config = write_config(tmp_path / "c.yaml", [corpus])
    config.write_text(config.read_text().replace("publish:\n", f"publish:\n  {key}: {value}\n"))
    with pytest.raises(ConfigError, match=message):
        load_config(config)
