"""Dataset cards: one per version (from DATASET_CARD.md) and a root card that ties versions together.

The YAML header is what `datasets` reads: `configs` maps each version to its Parquet files
(the latest is the default), `dataset_info` records row counts, so `load_dataset(root)`,
`load_dataset(root, "vX.Y.Z")` and `load_dataset(root/vX.Y.Z)` all resolve correctly.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from huggingface_hub import DatasetCard, DatasetCardData

TEMPLATE = Path(__file__).with_name("DATASET_CARD.md")
SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def size_category(rows: int) -> str:
    return next((label for limit, label in SIZE_CATEGORIES if rows < limit), "n>1B")


def _card_data(configs: list[dict], dataset_info, rows: int, config, pretty_name: str) -> DatasetCardData:
    return DatasetCardData(
        language=["zh"],
        language_bcp47=["zh-Hans", "zh-Hant"],
        license=config.license,
        pretty_name=pretty_name,
        size_categories=[size_category(rows)],
        task_categories=["text-generation"],
        multilinguality="monolingual",
        configs=configs,
        dataset_info=dataset_info,
    )


def split_info(version_dir: Path) -> dict:
    """The `train` split as `datasets` records it: rows and uncompressed Arrow bytes."""
    rows = nbytes = 0
    for shard in sorted((version_dir / "data").glob("*.parquet")):
        meta = pq.read_metadata(shard)
        rows += meta.num_rows
        nbytes += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return {"name": "train", "num_bytes": nbytes, "num_examples": rows}


def _column_counts(version_dir: Path, column: str) -> dict[str, int]:
    counts: Counter = Counter()
    for shard in sorted((version_dir / "data").glob("*.parquet")):
        if column in pq.read_schema(shard).names:
            counts.update(pq.read_table(shard, columns=[column])[column].to_pylist())
    return {str(k): v for k, v in counts.most_common()}


def write_version_card(version_dir: Path, config, report: dict, manifest: dict) -> None:
    rows = report["kept"]["documents"]
    data = _card_data(
        [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
        {"splits": [split_info(version_dir)]},
        rows, config, f"{config.name} v{config.version}",
    )
    stages = manifest["config"]["stages"]
    card = DatasetCard.from_template(
        data,
        template_path=str(TEMPLATE),
        name=config.name,
        version=config.version,
        description=config.description.strip(),
        report=report,
        manifest=manifest,
        stages=[(s["type"], yaml.safe_dump({k: v for k, v in s.items() if k != "type"}, allow_unicode=True, sort_keys=False).strip()) for s in stages],
        scripts=_column_counts(version_dir, "script"),
        load_root=version_dir.parent.as_posix(),
    )
    card.save(version_dir / "README.md")


def write_root_card(dataset_dir: Path, versions: list[Path]) -> None:
    """Rewrite the root card listing every published version; the newest is the default config."""
    entries = []
    for version_dir in versions:
        manifest = json.loads((version_dir / "MANIFEST.json").read_text(encoding="utf-8"))
        entries.append((version_dir.name, split_info(version_dir), manifest))
    newest = entries[-1][0]
    configs = [
        {"config_name": name, "data_files": [{"split": "train", "path": f"{name}/data/*.parquet"}], **({"default": True} if name == newest else {})}
        for name, _, _ in reversed(entries)
    ]
    dataset_info = [{"config_name": name, "splits": [split]} for name, split, _ in reversed(entries)]
    config = _RootConfig(entries[-1][2])
    data = _card_data(configs, dataset_info, entries[-1][1]["num_examples"], config, config.name)
    lines = [
        f"# {config.name}",
        "",
        f"Versioned Chinese web-text dataset. The default configuration is the newest version, **{newest}**; "
        "every version stays loadable by name.",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("{dataset_dir.as_posix()}", split="train")             # newest ({newest})',
        f'ds = load_dataset("{dataset_dir.as_posix()}", "{newest}", split="train")   # pinned',
        "```",
        "",
        "| version | documents | config sha256 | card |",
        "|---|---:|---|---|",
    ]
    for name, split, manifest in reversed(entries):
        lines.append(f"| {name} | {split['num_examples']:,} | `{manifest['config_sha256'][:12]}` | [{name}/README.md]({name}/README.md) |")
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")
    tmp = dataset_dir / ".README.md.tmp"
    card.save(tmp)
    os.replace(tmp, dataset_dir / "README.md")


class _RootConfig:
    """The few config fields the root card needs, read back from the newest manifest."""

    def __init__(self, manifest: dict):
        self.name = manifest["name"]
        self.license = manifest["config"].get("license", "other")
