"""What changed since the previous version: config, inputs, counts. Stored in each manifest.

Each manifest carries its own entry (computed when the version is built, against the newest
version published before it), so `CHANGELOG.md` and every card are rendered from manifests
alone, locally and on the Hub alike.
"""
from __future__ import annotations

from typing import Any

# The commit a release is being made in: its sha is not known while its files are written.
THIS_COMMIT = "this commit"
# Keys whose change says nothing about the data: where it was written, and the version itself.
_IGNORED_CONFIG_KEYS = {"version", "publish.root", "publish.target", "publish.repo_id", "publish.private",
                        "executor.unit_mb"}  # how work is split for resume: never the rows


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def _flatten_config(config: dict) -> dict[str, Any]:
    """Stages keyed by type, not position: a stage's parameters keep their name when others are added."""
    flat = _flatten({k: v for k, v in config.items() if k != "stages"})
    stages = config.get("stages", [])
    flat["stages"] = [s["type"] for s in stages]
    for stage in stages:
        flat.update(_flatten({k: v for k, v in stage.items() if k != "type"}, f"stages.{stage['type']}"))
    # The executor decides where rows are made, never which: its keys are not part of the recipe.
    return {k: v for k, v in flat.items() if k not in _IGNORED_CONFIG_KEYS and not k.startswith("executor.")}


def same_config(before: dict, after: dict) -> bool:
    """Whether two resolved configs build the same rows (where they publish, and the version, aside)."""
    return _flatten_config(before) == _flatten_config(after)


def _counts(report: dict) -> dict[str, int]:
    counts = {
        "input documents": report["input"]["documents"],
        "input characters": report["input"]["characters"],
        "kept documents": report["kept"]["documents"],
        "kept characters": report["kept"]["characters"],
    }
    for bucket in ("dropped", "quarantined"):
        for reason, row in report[bucket].items():
            counts[f"{bucket} `{reason}`"] = row["documents"]
    return counts


def describe_changes(previous_manifest: dict | None, previous_report: dict | None, manifest: dict, report: dict) -> dict:
    """The changelog entry of `manifest`'s version against the previous one (None for the first)."""
    if previous_manifest is None or previous_report is None:
        return {"previous": None}
    before, after = _flatten_config(previous_manifest["config"]), _flatten_config(manifest["config"])
    config = [
        {"key": key, "before": before.get(key), "after": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
    old_inputs = {i["path"]: i["sha256"] for i in previous_manifest["inputs"]}
    new_inputs = {i["path"]: i["sha256"] for i in manifest["inputs"]}
    inputs = {
        "added": sorted(set(new_inputs) - set(old_inputs)),
        "removed": sorted(set(old_inputs) - set(new_inputs)),
        "changed": sorted(p for p in set(old_inputs) & set(new_inputs) if old_inputs[p] != new_inputs[p]),
    }
    old_counts, new_counts = _counts(previous_report), _counts(report)
    counts = [
        {"what": what, "before": old_counts.get(what, 0), "after": new_counts.get(what, 0)}
        for what in list(new_counts) + [w for w in old_counts if w not in new_counts]
    ]
    same_rows = [s["sha256"] for s in previous_manifest["shards"]] == [s["sha256"] for s in manifest["shards"]]
    entry = {"previous": f"v{previous_manifest['version']}", "config": config, "inputs": inputs, "counts": counts, "same_rows": same_rows}
    if previous_manifest.get("limit") != manifest.get("limit"):  # `--limit`: the same files, not the same documents
        entry["limit"] = {"before": previous_manifest.get("limit"), "after": manifest.get("limit")}
    return entry


def _value(value: Any) -> str:
    text = "—" if value is None else str(value)
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}…`"


def _limit_phrase(who: str, limit: int | None) -> str:
    return f"{who} read only the first {limit:,} documents (`--limit`)" if limit else f"{who} read all documents"


def commit_label(commit: str | None) -> str:
    if commit is None:
        return ""
    return commit if commit == THIS_COMMIT else f"commit `{commit[:12]}`"


def render_entry(version: str, manifest: dict, commit: str | None, heading: str = "###") -> str:
    """One version's changes in Markdown, readable raw in a terminal as well as rendered."""
    changes = manifest.get("changes") or {"previous": None}
    where = f" · {commit_label(commit)}" if commit else ""
    lines = [f"{heading} {version}{where}", ""]
    auto = manifest.get("auto_version")
    if auto:
        lines += [f"Version chosen automatically: a {auto['bump']} release after {auto['previous'] or 'nothing'} ({auto['reason']}).", ""]
    if changes["previous"] is None:
        lines.append(f"First release: {manifest['split']['num_examples']:,} documents.")
        if manifest.get("limit"):
            lines.append(f"Only the first {manifest['limit']:,} input documents were read (`--limit`).")
        return "\n".join(lines) + "\n"
    lines.append(f"Compared with {changes['previous']}" + (" — the same rows, byte for byte." if changes["same_rows"] else ":"))
    lines.append("")
    if changes["config"]:
        lines += ["Config:", ""] + [f"- `{c['key']}`: {_value(c['before'])} → {_value(c['after'])}" for c in changes["config"]] + [""]
    else:
        lines += ["Config: unchanged.", ""]
    inputs = changes["inputs"]
    limit = changes.get("limit")
    if any(inputs.values()) or limit:
        lines += ["Inputs:", ""]
        lines += [f"- {kind}: `{path}`" for kind in ("added", "removed", "changed") for path in inputs[kind]]
        if limit:
            lines.append(f"- {_limit_phrase(changes['previous'], limit['before'])}; {_limit_phrase('this version', limit['after'])}")
        lines.append("")
    else:
        lines += ["Inputs: unchanged (same files, same sha256).", ""]
    lines += ["| count | before | after | change |", "|---|---:|---:|---:|"]
    for row in changes["counts"]:
        delta = row["after"] - row["before"]
        lines.append(f"| {row['what']} | {row['before']:,} | {row['after']:,} | {delta:+,} |")
    return "\n".join(lines) + "\n"


def render_changelog(name: str, entries: list[tuple[str, dict, str | None]]) -> str:
    """`CHANGELOG.md`: every version, newest first; `entries` are (version, manifest, commit or None)."""
    parts = [f"# Changelog of {name}", "", "Newest first. Counts are documents unless they say characters.", ""]
    for version, manifest, commit in reversed(entries):
        parts.append(render_entry(version, manifest, commit, heading="##"))
    return "\n".join(parts)
