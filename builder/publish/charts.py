"""The card's charts as PNG files in the version folder (matplotlib, no display needed).

Labels are ASCII (reason names, script codes), so no CJK font is needed on the machine that
builds. Figures are drawn on their own Agg canvas, never through pyplot's global state, and
saved without the software version in the metadata so the same numbers give the same bytes.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from builder.publish.stats import LENGTH_EDGES

if TYPE_CHECKING:  # matplotlib is imported where a chart is drawn: importing this module costs nothing
    from matplotlib.figure import Figure

CHARTS_DIR = "charts"
KEPT, REMOVED = "#3b7dd8", "#d8613b"


def _save(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=100, metadata={"Software": None})


def _canvas(figure: Figure) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    figure.tight_layout()
    return figure


def compact(value: float, _position=None) -> str:
    """1,500,000 -> 1.5M, 20,000 -> 20k: tick labels that stay short enough not to run into each other."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _bar_labels(axis, bars, values: list[int], short: bool = False) -> None:
    """Exact counts; with `short`, counts from 10,000 up are compact (12.3k) to fit narrow bars."""
    labels = [(compact(v) if short and v >= 10_000 else f"{v:,}") if v else "" for v in values]
    axis.bar_label(bars, labels=labels, padding=3, fontsize=8)


def _ticks(axis, which: str, bins: int = 4) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = getattr(axis, f"{which}axis")
    target.set_major_locator(MaxNLocator(nbins=bins, integer=True, min_n_ticks=2))
    target.set_major_formatter(FuncFormatter(compact))


def funnel_figure(report: dict) -> Figure:
    """Documents and characters removed per reason, largest first, next to what was kept."""
    from matplotlib.figure import Figure

    rows = [(f"dropped: {r}", v) for r, v in report["dropped"].items()] + [(f"quarantined: {r}", v) for r, v in report["quarantined"].items()]
    rows.sort(key=lambda item: item[1]["documents"])
    rows.append(("kept", report["kept"]))
    labels = [label for label, _ in rows]
    colors = [REMOVED] * (len(rows) - 1) + [KEPT]
    figure = Figure(figsize=(10, 1.2 + 0.42 * len(rows)))
    for index, unit in enumerate(("documents", "characters")):
        axis = figure.add_subplot(1, 2, index + 1)
        values = [v[unit] for _, v in rows]
        bars = axis.barh(range(len(rows)), values, color=colors)
        _bar_labels(axis, bars, values)
        axis.set_yticks(range(len(rows)), labels if index == 0 else [""] * len(rows), fontsize=9)
        axis.set_title(f"{unit} (of {report['input'][unit]:,} in)", fontsize=10)
        axis.set_xlim(0, max(values + [1]) * 1.3)
        _ticks(axis, "x")
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle("Where the input went", fontsize=11)
    return _canvas(figure)


def lengths_figure(stats: dict) -> Figure:
    """Document length in characters on a log axis, each bin as wide as its own edges: kept and
    removed documents share a bin, kept in its left half, removed in its right."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    kept, removed = stats["lengths"]["kept"], stats["lengths"]["removed"]
    edges = [float(e) for e in LENGTH_EDGES] + [LENGTH_EDGES[-1] * 2.0]  # the open last bin drawn one octave wide
    edges[0] = 1.0  # a log axis has no 0: the first bin is 1-49 characters
    lows, highs = edges[:-1], edges[1:]
    middles = [(lo * hi) ** 0.5 for lo, hi in zip(lows, highs)]
    figure = Figure(figsize=(10, 3.8))
    axis = figure.add_subplot(1, 1, 1)
    axis.set_xscale("log")
    bars = axis.bar(lows, kept, [m - lo for lo, m in zip(lows, middles)], align="edge", label="kept", color=KEPT)
    _bar_labels(axis, bars, kept, short=True)
    bars = axis.bar(middles, removed, [hi - m for m, hi in zip(middles, highs)], align="edge", label="removed", color=REMOVED)
    _bar_labels(axis, bars, removed, short=True)
    used = [i for i, (k, r) in enumerate(zip(kept, removed)) if k or r] or [0]
    axis.set_xlim(lows[used[0]], highs[used[-1]])
    ticks = [e for e in edges if lows[used[0]] <= e <= highs[used[-1]]]
    axis.set_xticks(ticks, [compact(t) if t < edges[-1] else "" for t in ticks], fontsize=8)
    axis.xaxis.set_minor_locator(NullLocator())
    axis.set_xlabel("document length in characters (log scale: each bar spans its bin, from tick to tick)")
    axis.set_ylabel("documents")
    axis.set_ylim(0, max(kept + removed + [1]) * 1.2)  # room for the bar labels under the title
    _ticks(axis, "y")
    axis.set_title("Document lengths", fontsize=11, pad=10)
    axis.legend(frameon=False, loc="upper right")
    axis.spines[["top", "right"]].set_visible(False)
    return _canvas(figure)


def scripts_figure(stats: dict) -> Figure:
    """Kept documents and characters per script (Hans: Simplified, Hant: Traditional)."""
    from matplotlib.figure import Figure

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
        axis.set_xlim(0, max(values + [1]) * 1.3)
        _ticks(axis, "x")
        axis.spines[["top", "right"]].set_visible(False)
    return _canvas(figure)


def write_charts(version_dir: Path, report: dict, stats: dict) -> dict[str, str]:
    """Draw every chart; returns {chart: path relative to the version folder}."""
    folder = version_dir / CHARTS_DIR
    folder.mkdir(exist_ok=True)
    written = {}
    for name, draw, data in (("funnel", funnel_figure, report), ("lengths", lengths_figure, stats), ("scripts", scripts_figure, stats)):
        if name == "scripts" and not stats["scripts"]:
            continue  # no `script` column: nothing to draw
        _save(draw(data), folder / f"{name}.png")
        written[name] = f"{CHARTS_DIR}/{name}.png"
    return written
