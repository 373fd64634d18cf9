"""Dataset cards from DATASET_CARD.md: one per version, and the root card that ties versions together.

A card is rendered from the files of its version folder alone (MANIFEST.json, report.json,
card.json, dedup/dedup.json, charts/), so the same function serves the local folder and the Hub,
only the "how to load" target differs. The YAML header is what `datasets` reads: a version card
maps `default` to its own shards; the root card has one configuration per version with the
newest as default, so `load_dataset(root)` gives the newest and `load_dataset(root, "vX.Y.Z")`
(or, on the Hub, `revision="vX.Y.Z"`) a pinned one.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow.parquet as pq
import yaml

from builder.publish.changelog import commit_label, render_entry
from builder.publish.charts import CHARTS_DIR
from builder.publish.manifest import read_manifest

if TYPE_CHECKING:  # huggingface_hub is imported where a card is rendered
    from huggingface_hub import DatasetCard, DatasetCardData

TEMPLATE = Path(__file__).with_name("DATASET_CARD.md")
CARD_DATA_FILE = "card.json"
SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
SCRIPT_NAMES = {"Hans": "Simplified", "Hant": "Traditional", "mixed": "both", "none": "no Han"}


@dataclass(frozen=True)
class LoadTarget:
    """Where readers of the card load from: a local dataset folder, or a Hub repository id."""

    kind: Literal["local", "hub"]
    root: str

    @property
    def shown(self) -> str:
        """What the card tells readers to load: never the build machine's absolute path.

        A local folder is shown relative to the working directory when it is inside it (`out/zh-web`),
        else by its own name: the card travels with the folder, the machine's path does not.
        """
        if self.kind == "hub":
            return self.root
        path = Path(self.root)
        if not path.is_absolute():
            return path.as_posix()
        try:
            return path.resolve().relative_to(Path(os.getcwd()).resolve()).as_posix()
        except ValueError:
            return path.name


@dataclass(frozen=True)
class VersionEntry:
    """One published version as the root card and the changelog list it."""

    version: str  # without the `v`
    manifest: dict
    commit: str | None = None

    @property
    def documents(self) -> int:
        return self.manifest["split"]["num_examples"]

    @property
    def commit_label(self) -> str:
        return commit_label(self.commit)

    @property
    def config_sha256(self) -> str:
        return self.manifest["config_sha256"]


def size_category(rows: int) -> str:
    return next((label for limit, label in SIZE_CATEGORIES if rows < limit), "n>1B")


def split_info(shards: list[Path]) -> dict:
    """The `train` split as `datasets` records it: rows and uncompressed bytes."""
    rows = nbytes = 0
    for shard in shards:
        meta = pq.read_metadata(shard)
        rows += meta.num_rows
        nbytes += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return {"name": "train", "num_bytes": nbytes, "num_examples": rows}


def _card_data(manifest: dict, configs: list[dict], dataset_info, pretty_name: str) -> DatasetCardData:
    from huggingface_hub import DatasetCardData

    return DatasetCardData(
        language=["zh"],
        language_details=["zh-Hans", "zh-Hant"],
        license=manifest["config"].get("license", "other"),
        pretty_name=pretty_name,
        size_categories=[size_category(manifest["split"]["num_examples"])],
        task_categories=["text-generation"],
        task_ids=["language-modeling"],
        multilinguality="monolingual",
        language_creators=["found"],
        annotations_creators=["no-annotation"],
        source_datasets=["original"],
        tags=["chinese", "web-text", "deduplicated"],
        configs=configs,
        dataset_info=dataset_info,
    )


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def pii_note(config: dict) -> str:
    """What the published text holds in place of personal data, from the resolved config."""
    from builder.stages.quality import QualityParams

    quality = next((s for s in config.get("stages", []) if s["type"] == "quality"), None)
    if quality is None or not quality.get("pii") or quality.get("annotate"):
        return "personal data is **not** redacted in the published text (no `quality` stage redacting `pii` ran)"
    placeholder = quality.get("pii_placeholder", QualityParams.model_fields["pii_placeholder"].default)
    shown = ", ".join(f"`{placeholder.format(type=t.upper())}`" for t in quality["pii"])
    return f"in the published text, personal data is replaced by a typed placeholder: {shown} (`quality.pii_placeholder`)"


def excerpt_placeholder(config: dict) -> str:
    """Excerpts of removed documents are redacted with the placeholder the data uses."""
    from builder.stages.quality import QualityParams

    quality = next((s for s in config.get("stages", []) if s["type"] == "quality"), None)
    return (quality or {}).get("pii_placeholder", QualityParams.model_fields["pii_placeholder"].default)


def _render(version_dir: Path, load: LoadTarget, prefix: str, card_data: DatasetCardData, versions: list[VersionEntry] | None,
            corpus: list[str] | None = None) -> DatasetCard:
    manifest = read_manifest(version_dir)
    report = json.loads((version_dir / "report.json").read_text(encoding="utf-8"))
    stats = json.loads((version_dir / CARD_DATA_FILE).read_text(encoding="utf-8"))
    dedup_summary = version_dir / "dedup" / "dedup.json"
    dedup = json.loads(dedup_summary.read_text(encoding="utf-8")) if dedup_summary.is_file() else None
    charts = {p.stem: f"{CHARTS_DIR}/{p.name}" for p in sorted((version_dir / CHARTS_DIR).glob("*.png"))}
    first_shard = version_dir / manifest["shards"][0]["path"]
    columns = [(field.name, str(field.type)) for field in pq.read_schema(first_shard)]
    stages = [
        (s["type"], yaml.safe_dump({k: v for k, v in s.items() if k != "type"}, allow_unicode=True, sort_keys=False).strip())
        for s in manifest["config"]["stages"]
    ]
    builder = manifest["builder"]
    built_by = f"by zh-corpus-builder {builder['version']}" + (f" at commit `{builder['git_commit'][:12]}`" if builder["git_commit"] else "")
    version = manifest["version"]
    commit = next((e.commit for e in versions or [] if e.version == version), None)
    from huggingface_hub import DatasetCard  # here, not at the top: only a build's publishing needs it

    # What `DatasetCard.from_template(card_data, template_path=TEMPLATE, **kwargs)` does, with the template
    # compiled once a process: a build renders it twice (version and root card), 0.075 s a compile.
    kwargs = card_data.to_dict().copy()
    kwargs.update(
        name=manifest["name"],
        version=version,
        description=manifest["config"].get("description", "").strip(),
        report=report,
        manifest=manifest,
        stages=stages,
        columns=columns,
        scripts=stats["scripts"],
        script_names=SCRIPT_NAMES,
        lengths=stats["lengths"],
        examples=stats["examples"],
        redaction=stats["redaction"],
        dedup=dedup,
        charts=charts,
        prefix=prefix,
        load=load,
        versions=versions,
        corpus=corpus,
        changes=render_entry(f"v{version}", manifest, commit, heading="###"),
        built_by=built_by,
        share=_share,
        pii_note=pii_note(manifest["config"]),
    )
    return DatasetCard(_template().render(card_data=card_data.to_yaml(), **kwargs))


@functools.lru_cache(maxsize=1)
def _template():
    import jinja2

    return jinja2.Template(TEMPLATE.read_text(encoding="utf-8"))


ALL_CONFIG = "all"  # root configuration: the union of increments back to the last full version


def render_version_card(version_dir: Path, load: LoadTarget) -> DatasetCard:
    manifest = read_manifest(version_dir)
    data = _card_data(
        manifest,
        [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
        {"splits": [manifest["split"]]},
        f"{manifest['name']} v{manifest['version']}",
    )
    return _render(version_dir, load, "", data, None)


def render_root_card(newest_dir: Path, versions: list[VersionEntry], load: LoadTarget) -> DatasetCard:
    """The newest version's card at the dataset root, with a configuration and a table row per version."""
    newest = f"v{versions[-1].version}"
    configs = [
        {"config_name": f"v{e.version}", "data_files": [{"split": "train", "path": f"v{e.version}/data/*.parquet"}],
         **({"default": True} if f"v{e.version}" == newest else {})}
        for e in reversed(versions)
    ]
    dataset_info = [{"config_name": f"v{e.version}", "splits": [e.manifest["split"]]} for e in reversed(versions)]
    chain = corpus_chain(versions)
    if len(chain) > 1:
        configs.append({"config_name": ALL_CONFIG, "data_files": [
            {"split": "train", "path": [f"v{e.version}/data/*.parquet" for e in reversed(chain)]}]})
        dataset_info.append({"config_name": ALL_CONFIG, "splits": [{
            "name": "train",
            "num_bytes": sum(e.manifest["split"]["num_bytes"] for e in chain),
            "num_examples": sum(e.manifest["split"]["num_examples"] for e in chain),
        }]})
    data = _card_data(versions[-1].manifest, configs, dataset_info, versions[-1].manifest["name"])
    return _render(newest_dir, load, f"{newest}/", data, versions, corpus=[f"v{e.version}" for e in reversed(chain)] if len(chain) > 1 else None)


def _is_increment(manifest: dict) -> bool:
    """Whether this version holds only documents new against the versions published before it."""
    cross_version = any(s["type"] == "dedup" and s.get("cross_version") for s in manifest["config"]["stages"])
    return cross_version and bool(manifest.get("previous_versions"))


def corpus_chain(versions: list[VersionEntry]) -> list[VersionEntry]:
    """Newest first, the versions whose union is the whole corpus: back to the last full snapshot.

    With cross-version dedup a new version holds only new documents, so `load_dataset(root)` (the
    newest) is an increment; the `all` configuration unions the increments and their base.
    """
    chain = []
    for entry in reversed(versions):
        chain.append(entry)
        if not _is_increment(entry.manifest):
            break
    return chain
