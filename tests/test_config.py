"""Config validation: wrong keys are named with their line and the key that was meant."""
from __future__ import annotations

import pytest

from builder.config import ConfigError, load_config
from conftest import REPO, run_cli

VALID = """name: demo
input:
  paths: [a.jsonl]
stages:
  - type: normalize
  - type: dedup
executor:
  workers: 2
"""


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path, text) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


def test_flagship_config_is_valid_and_fills_defaults():
    config = load_config(REPO / "configs" / "zh.yaml")
    assert [s.type for s in config.stages] == ["normalize", "language", "line_frequency", "quality", "quality_model", "dedup"]
    resolved = config.resolved()
    assert resolved["stages"][1]["keep"] == ["zh"]
    assert resolved["publish"]["root"] == "out"


def test_misspelled_key_names_line_and_suggests(tmp_path):
    message = error_of(tmp_path, VALID.replace("  workers: 2", "  workrs: 2"))
    assert "c.yaml:8" in message and "executor.workrs" in message and "did you mean 'workers'" in message


def test_unknown_stage_type_suggests(tmp_path):
    message = error_of(tmp_path, VALID.replace("type: dedup", "type: dedupe"))
    assert "c.yaml:6" in message and "stages[1].type" in message and "did you mean 'dedup'" in message


def test_unknown_stage_parameter_suggests(tmp_path):
    text = VALID.replace("  - type: dedup", "  - type: dedup\n    exactt: true")
    message = error_of(tmp_path, text)
    assert "c.yaml:7" in message and "stages[1].exactt" in message and "did you mean 'exact'" in message


def test_wrong_types_and_missing_keys(tmp_path):
    assert "workers" in error_of(tmp_path, VALID.replace("workers: 2", "workers: many"))
    assert "missing required key 'name'" in error_of(tmp_path, VALID.replace("name: demo\n", ""))
    assert "version must look like 1.2.3" in error_of(tmp_path, VALID + "version: one\n")
    assert "c.yaml:3" in error_of(tmp_path, VALID.replace("input:\n  paths: [a.jsonl]", "input:\n  paths: []"))


def test_invalid_yaml_names_the_line(tmp_path):
    message = error_of(tmp_path, "name: demo\ninput:\n  paths: [a.jsonl\n")
    assert "c.yaml:4" in message and "started at line 3" in message


def test_cli_reports_config_errors_without_traceback(tmp_path):
    result = run_cli("--config", str(write(tmp_path, VALID.replace("workers", "wrokers"))))
    assert result.returncode == 2
    assert "did you mean 'workers'" in result.stderr and "Traceback" not in result.stderr
    verbose = run_cli("--config", str(write(tmp_path, VALID.replace("workers", "wrokers"))), "-v")
    assert "Traceback" in verbose.stderr
