"""The card's charts as PNG files in the version folder (matplotlib, no display needed).

Labels are ASCII (reason names, script codes), so no CJK font is needed on the machine that
builds. Figures are drawn on their own Agg canvas, never through pyplot's global state, and
saved without the software version in the metadata so the same numbers give the same bytes.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

CHARTS_DIR = "charts"
KEPT, REMOVED = "#3b7dd8", "#d8613b"


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})


def _bar_labels(axis, bars, values: list[int]) -> None:
    axis.bar_label(bars, labels=[f"{v:,}" if v else "" for v in values], padding=3, fontsize=8)


def _thousands(axis, which: str) -> None:
    getattr(axis, f"{which}axis").set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def funnel(report: dict, path: Path) -> None:
    """Documents and characters removed per reason, largest first, next to what was kept."""
    rows = [(f"dropped: {r}", v) for r, v in report["dropped"].items()] + [(f"quarantined: {r}", v) for r, v in report["quarantined"].items()]
    rows.sort(key=lambda item: item[1]["documents"])
    rows.append(("kept", report["kept"]))
    labels = [label for label, _ in rows]
    colors = [REMOVED] * (len(rows) - 1) + [KEPT]
    figure = Figure(figsize=(10, 1.2 + 0.42 * len(rows)))
    for index, (unit, title) in enumerate((("documents", "documents"), ("characters", "characters"))):
        axis = figure.add_subplot(1, 2, index + 1)
        values = [v[unit] for _, v in rows]
        bars = axis.barh(range(len(rows)), values, color=colors)
        _bar_labels(axis, bars, values)
        axis.set_yticks(range(len(rows)), labels if index == 0 else [""] * len(rows), fontsize=9)
        axis.set_title(f"{title} (of {report['input'][unit]:,} in)", fontsize=10)
        axis.set_xlim(0, max(values + [1]) * 1.25)
        _thousands(axis, "x")
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle("Where the input went", fontsize=11)
    _save(figure, path)


def lengths(stats: dict, path: Path) -> None:
    """Document length in characters: kept and removed documents side by side per bin, empty end bins left out."""
    bins, kept, removed = stats["lengths"]["bins"], stats["lengths"]["kept"], stats["lengths"]["removed"]
    used = [i for i, (k, r) in enumerate(zip(kept, removed)) if k or r] or [0]
    window = slice(used[0], used[-1] + 1)
    bins, kept, removed = bins[window], kept[window], removed[window]
    figure = Figure(figsize=(10, 3.6))
    axis = figure.add_subplot(1, 1, 1)
    positions = range(len(bins))
    width = 0.4
    bars = axis.bar([p - width / 2 for p in positions], kept, width, label="kept", color=KEPT)
    _bar_labels(axis, bars, kept)
    bars = axis.bar([p + width / 2 for p in positions], removed, width, label="removed", color=REMOVED)
    _bar_labels(axis, bars, removed)
    axis.set_xticks(list(positions), bins, rotation=30, ha="right", fontsize=8)
    axis.set_xlabel("document length (characters)")
    axis.set_ylabel("documents")
    _thousands(axis, "y")
    axis.set_title("Document lengths", fontsize=11)
    axis.legend(frameon=False)
    axis.spines[["top", "right"]].set_visible(False)
    _save(figure, path)


def scripts(stats: dict, path: Path) -> None:
    """Kept documents and characters per script (Hans: Simplified, Hant: Traditional)."""
    entries = list(stats["scripts"].items())
    figure = Figure(figsize=(10, 1.4 + 0.45 * max(len(entries), 1)))
    for index, unit in enumerate(("documents", "characters")):
        axis = figure.add_subplot(1, 2, index + 1)
        values = [v[unit] for _, v in entries]
        bars = axis.barh(range(len(entries)), values, color=KEPT)
        _bar_labels(axis, bars, values)
        axis.set_yticks(range(len(entries)), [label for label, _ in entries] if index == 0 else [""] * len(entries))
        axis.invert_yaxis()
        axis.set_title(f"kept {unit} per script", fontsize=10)
        axis.set_xlim(0, max(values + [1]) * 1.25)
        _thousands(axis, "x")
        axis.spines[["top", "right"]].set_visible(False)
    _save(figure, path)


def write_charts(version_dir: Path, report: dict, stats: dict) -> dict[str, str]:
    """Draw every chart; returns {chart: path relative to the version folder}."""
    folder = version_dir / CHARTS_DIR
    folder.mkdir(exist_ok=True)
    written = {}
    for name, draw, data in (("funnel", funnel, report), ("lengths", lengths, stats), ("scripts", scripts, stats)):
        if name == "scripts" and not stats["scripts"]:
            continue  # no `script` column: nothing to draw
        draw(data, folder / f"{name}.png")
        written[name] = f"{CHARTS_DIR}/{name}.png"
    return written
