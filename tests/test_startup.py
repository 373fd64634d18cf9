"""Start-up imports only what the command needs: `--help` none of the builder's heavy libraries,
a config only its own stages' modules, and a build the publishing libraries only when it publishes."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

HEAVY = ["matplotlib", "huggingface_hub", "datasets", "pandas", "pyarrow", "numpy", "langdetect", "pypinyin", "ftfy",
         "opencc", "resiliparse", "fastwarc"]


def imported_after(code: str) -> set[str]:
    """Top-level modules a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport json, sys; print(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}} | set(sys.modules))))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_imports_none_of_the_heavy_libraries():
    code = "import sys; from builder.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    loaded = imported_after(code)
    assert "builder.cli" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert not {name for name in loaded if name.startswith(("builder.stages", "builder.config", "builder.runner"))}


def test_the_registry_names_every_stage_without_importing_one():
    loaded = imported_after("from builder.stages import STAGES\nnames = sorted(STAGES)\nassert 'quality' in names and 'dedup' in names")
    assert not {name for name in loaded if name.startswith("builder.stages.") and name != "builder.stages.base"}
    assert not loaded & {"langdetect", "pypinyin", "matplotlib", "huggingface_hub"}


def test_a_config_imports_only_its_own_stages_and_no_publishing_libraries(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("name: t\ninput:\n  paths: [x.jsonl]\nstages:\n  - type: dedup\n", encoding="utf-8")
    loaded = imported_after(f"from builder.config import load_config\nimport builder.runner\nload_config({str(config)!r})")
    assert "builder.stages.dedup" in loaded
    assert not {"builder.stages.language", "builder.stages.quality", "builder.stages.normalize"} & loaded
    assert not loaded & {"langdetect", "matplotlib", "huggingface_hub", "datasets", "resiliparse", "fastwarc"}, \
        sorted(loaded & {"langdetect", "matplotlib", "huggingface_hub", "datasets", "resiliparse", "fastwarc"})


def test_an_unknown_stage_is_still_named_with_a_suggestion(tmp_path):
    from builder.config import ConfigError, load_config

    config = tmp_path / "c.yaml"
    config.write_text("name: t\ninput:\n  paths: [x.jsonl]\nstages:\n  - type: qualty\n", encoding="utf-8")
    try:
        load_config(config)
    except ConfigError as err:
        assert f"{config}:5: stages[0].type: unknown stage type 'qualty'; did you mean 'quality'?" in str(err)
    else:
        raise AssertionError("an unknown stage type was accepted")
