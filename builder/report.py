"""The one-screen summary printed at the end of a run."""
from __future__ import annotations

from pathlib import Path


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def format_summary(config, result) -> str:
    report = result.report
    total_docs = report["input"]["documents"]
    if result.dry_run:
        lines = [f"dry run: config {config.name} v{config.version} is valid; nothing was written",
                 f"input: {report['input']['files']} file(s), {total_docs:,} documents, {report['input']['characters']:,} characters"]
        for reason, count in report["quarantined"].items():
            lines.append(f"  would quarantine {count:,} as {reason}")
        for name in report["empty_files"]:
            lines.append(f"  empty input file: {name}")
        return "\n".join(lines)
    total_chars = report["input"]["characters"]
    sample = report.get("sample")
    version_dir: Path = result.version_dir
    name = f"sample of {total_docs:,} of {sample['of']:,} documents (seed {sample['seed']})" if sample else version_dir.name
    lines = [f"{config.name} {name}: {total_docs:,} documents in, {report['kept']['documents']:,} kept "
             f"({_share(report['kept']['documents'], total_docs).strip()}) in {report['seconds']:.1f}s with {report['workers']} worker(s)",
             "",
             f"  {'outcome':<34}{'documents':>11}{'':>8}{'characters':>14}{'':>8}"]
    rows = [("kept", report["kept"])] + [(f"dropped  {r}", v) for r, v in report["dropped"].items()] + [
        (f"quarantined  {r}", v) for r, v in report["quarantined"].items()]
    for label, value in rows:
        lines.append(f"  {label:<34}{value['documents']:>11,}{_share(value['documents'], total_docs):>8}"
                     f"{value['characters']:>14,}{_share(value['characters'], total_chars):>8}")
    lines += ["", f"  {'stage':<12}{'docs in':>10}{'docs out':>10}{'seconds':>10}{'MB/s':>8}"]
    for stage in report["stages"]:
        mb = stage["characters_in"] * 3 / 1e6  # Chinese text is ~3 UTF-8 bytes a character: a rough rate
        rate = f"{mb / stage['seconds']:.1f}" if stage["seconds"] else "-"
        lines.append(f"  {stage['type']:<12}{stage['documents_in']:>10,}{stage['documents_out']:>10,}{stage['seconds']:>10.2f}{rate:>8}")
    for name in report.get("empty_files", []):
        lines.append(f"  note: input file {name} held no documents")
    if sample:
        first = next(iter(report["dropped"]), None)
        lines += ["", f"nothing was published; the sample run is in {result.sample_dir}",
                  f"look inside:  python -m builder inspect {result.sample_dir}" + (f" --reason {first}" if first else "")]
        return "\n".join(lines)
    resumed = _resumed(getattr(result, "reused", []))
    lines += [""] + ([resumed] if resumed else []) + [f"published: {version_dir}",
              f"load it:   python -c \"from datasets import load_dataset; print(load_dataset('{version_dir.parent.as_posix()}', '{version_dir.name}'))\""]
    return "\n".join(lines)


def _resumed(reused: list[tuple]) -> str:
    """`resumed: 3/4 units of segment 0 reused, the dedup decision reused, 0/4 units of segment 1 reused`; empty if nothing was."""
    if not any(count for _, count, _ in reused):
        return ""
    parts = []
    for what, count, total in reused:
        if isinstance(what, str):  # a global stage's decision
            parts.append(f"the {what} {'reused' if count else 'made again'}")
        else:
            parts.append(f"{count}/{total} units of segment {what} reused")
    return "resumed: " + ", ".join(parts)
