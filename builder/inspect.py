"""`python -m builder inspect DIR`: what happened to documents, from the files a run left.

Works on a published version (`OUT/NAME/vX.Y.Z`: kept rows in `data/`, removed ones in
`OUT/NAME/runs/vX.Y.Z/rejected/`) and on a `--sample` run (`OUT/NAME/samples/...`: both inside).
Near duplicates are shown side by side with the document they copy; a kept document shows the
lines `quality` removed from it, when the run recorded them (`removed_lines/`).
"""
from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from builder.publish import PublishError

EXCERPT_CHARS = 240
KEPT = "kept"


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def one_line(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    if text is None:
        return "(no text)"
    flat = " ⏎ ".join(part.strip() for part in text.splitlines() if part.strip())
    return flat[:limit] + ("…" if len(flat) > limit else "")


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` terminal columns; Han characters take two."""
    lines, line, used = [], "", 0
    for char in text:
        w = _width(char)
        if used + w > width:
            lines.append(line)
            line, used = "", 0
        line += char
        used += w
    return lines + ([line] if line else [])


def side_by_side(left: tuple[str, str], right: tuple[str, str], total: int) -> str:
    width = max(20, (total - 3) // 2)
    columns = [[title[:width]] + wrap(text, width) for title, text in (left, right)]
    rows = []
    for i in range(max(map(len, columns))):
        a = columns[0][i] if i < len(columns[0]) else ""
        b = columns[1][i] if i < len(columns[1]) else ""
        rows.append(a + " " * (width - sum(map(_width, a))) + " │ " + b)
    return "\n".join(rows)


class RunFolder:
    """The files of one run: kept rows, removed rows, report, and where earlier versions are."""

    def __init__(self, path: Path):
        self.path = path
        if not (path / "report.json").is_file():
            raise PublishError(f"{path}: no report.json here; give a version folder (OUT/NAME/vX.Y.Z) or a sample folder "
                               "(OUT/NAME/samples/sample-N-seed-S)")
        self.report = json.loads((path / "report.json").read_text(encoding="utf-8"))
        self.is_sample = "sample" in self.report
        self.dataset_dir = path.parent.parent if self.is_sample else path.parent
        rejected = path / "rejected" if self.is_sample else self.dataset_dir / "runs" / path.name / "rejected"
        self.kept = self._dataset(path / "data")
        self.rejected = self._dataset(rejected)
        self.removed_lines = self._dataset(path / "removed_lines" if self.is_sample else self.dataset_dir / "runs" / path.name / "removed_lines")

    @staticmethod
    def _dataset(folder: Path) -> ds.Dataset | None:
        files = sorted(str(p) for p in folder.glob("*.parquet")) if folder.is_dir() else []
        return ds.dataset(files, format="parquet") if files else None

    @staticmethod
    def _rows(dataset: ds.Dataset | None, expression=None, limit: int | None = None) -> list[dict]:
        if dataset is None:
            return []
        names = [n for n in dataset.schema.names if not n.startswith("_")] + (["_source"] if "_source" in dataset.schema.names else [])
        if limit is not None:
            return dataset.head(limit, columns=names, filter=expression).to_pylist()
        return dataset.to_table(columns=names, filter=expression).to_pylist()

    def find(self, doc_id: str) -> dict | None:
        """A document by id: kept here, removed here, or kept in an earlier version (`v1.0.0:id`)."""
        version, _, bare = doc_id.partition(":")
        if bare and version.startswith("v") and (self.dataset_dir / version / "data").is_dir():
            rows = self._rows(self._dataset(self.dataset_dir / version / "data"), pc.field("id") == bare, 1)
            return {**rows[0], "status": f"kept in {version}"} if rows else None
        rows = self._rows(self.kept, pc.field("id") == doc_id, 1)
        if rows:
            return {**rows[0], "status": KEPT}
        rows = self._rows(self.rejected, pc.field("id") == doc_id, 1)
        return rows[0] if rows else None

    def lines_removed_from(self, doc_id: str) -> list[dict]:
        return self._rows(self.removed_lines, pc.field("id") == doc_id)


def _removed_lines_text(folder: RunFolder, doc_id: str) -> list[str]:
    rows = folder.lines_removed_from(doc_id)
    if folder.removed_lines is None:
        return ["  lines removed by quality: not recorded for this run"]
    if not rows:
        return ["  lines removed by quality: none"]
    out = [f"  lines removed by quality ({len(rows)}):"]
    out += [f"    - [{row['rule']}] {one_line(row['line'], 120)}" for row in rows]
    return out


def _document(folder: RunFolder, row: dict, terminal: int) -> list[str]:
    status = row.get("status", KEPT)
    head = f"• {row['id']}  [{status}{' ' + row['reason'] if row.get('reason') else ''}]"
    lines = [head]
    if row.get("detail"):
        lines.append(f"  detail: {row['detail']}")
    if row.get("source"):
        lines.append(f"  source: {row['source']}")
    if row.get("reason", "").startswith("dedup.") and row.get("detail"):
        other_id = row["detail"].split(" (Jaccard ~")[0]
        other = folder.find(other_id)
        if other is not None:
            similarity = row["detail"].split(" (Jaccard ~")[1].rstrip(")") if " (Jaccard ~" in row["detail"] else "identical after folding"
            lines.append(f"  similarity: {similarity}")
            lines.append(side_by_side((f"removed: {row['id']}", one_line(row["text"], 600)),
                                      (f"{other['status']}: {other['id']}", one_line(other["text"], 600)), terminal - 2))
            return lines
    lines.append(f"  text: {one_line(row.get('text'))}")
    if status == KEPT:
        lines += _removed_lines_text(folder, row["id"])
    return lines


def _funnel(report: dict) -> list[str]:
    total = report["input"]["documents"]
    lines = [f"{total:,} documents in, {report['kept']['documents']:,} kept"]
    for bucket in ("dropped", "quarantined"):
        for reason, row in report[bucket].items():
            lines.append(f"  {bucket:<12}{reason:<28}{row['documents']:>9,}")
    return lines


def inspect_run(path: Path, reason: str | None = None, doc_id: str | None = None, n: int = 5) -> str:
    """The text `inspect` prints."""
    folder = RunFolder(path)
    terminal = shutil.get_terminal_size((100, 24)).columns
    out = [f"{path}" + (" (a --sample run, not a version)" if folder.is_sample else ""), *_funnel(folder.report), ""]
    if doc_id is not None:
        row = folder.find(doc_id)
        if row is None:
            raise PublishError(f"no document with id {doc_id!r} in {path} (kept or removed)")
        return "\n".join(out + _document(folder, row, terminal))
    reasons = [reason] if reason else [KEPT, *folder.report["dropped"], *folder.report["quarantined"]]
    known = {KEPT, *folder.report["dropped"], *folder.report["quarantined"]}
    if reason and reason not in known:
        raise PublishError(f"no document was removed as {reason!r} in {path}; reasons here: {', '.join(sorted(known))}")
    for name in reasons:
        if name == KEPT:
            rows = [{**r, "status": KEPT} for r in RunFolder._rows(folder.kept, None, n)]
        else:
            rows = RunFolder._rows(folder.rejected, pc.field("reason") == name, n)
        count = folder.report["kept"]["documents"] if name == KEPT else (folder.report["dropped"].get(name) or folder.report["quarantined"][name])["documents"]
        out.append(f"== {name}: {count:,} document(s), showing {len(rows)}")
        for row in rows:
            out += _document(folder, row, terminal)
        out.append("")
    return "\n".join(out).rstrip() + "\n"
