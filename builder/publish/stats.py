"""What a card shows beyond the report: length and script distributions, redacted examples.

Collected once when a version is built, into `card.json` beside the shards, because the removed
examples come from the run's rejected rows, which are never published: the card of a version can
then be rendered again anywhere (e.g. for the Hub) from the version folder alone.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.text.pii import PII_TYPES, PiiFinder, redact

# Document length bins in characters (code points); the last is open-ended.
LENGTH_EDGES = [0, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000]
EXCERPT_CHARS = 120
KEPT_EXAMPLES = 3
REMOVED_EXAMPLES_PER_REASON = 2
_REDACT_WINDOW = 400  # redact more than is shown, so a number cut at the excerpt's end is still found
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def length_label(index: int) -> str:
    low = LENGTH_EDGES[index]
    if index + 1 == len(LENGTH_EDGES):
        return f"{low:,}+"
    return f"{low:,}-{LENGTH_EDGES[index + 1] - 1:,}"


def _histogram(lengths: np.ndarray) -> list[int]:
    bins = np.searchsorted(LENGTH_EDGES, lengths, side="right") - 1
    return np.bincount(bins, minlength=len(LENGTH_EDGES)).tolist()


class Excerpts:
    """Short, redacted, one-line excerpts: personal data replaced by the data's placeholder (see builder.text.pii)."""

    def __init__(self, placeholder: str = "<{type}>"):
        from builder.stages.quality.tables import fold  # here: importing the quality stage is for builds that publish

        self.fold = fold
        self.finder = PiiFinder(PII_TYPES)
        self.placeholder = placeholder

    def __call__(self, text: str | None) -> str:
        if not text:
            return "(empty)"
        window = text[:_REDACT_WINDOW]
        redacted = redact(window, list(self.finder.finditer(self.fold(window))), self.placeholder)
        line = _LINE_BREAKS.sub(" ⏎ ", redacted).strip()
        cut = line[:EXCERPT_CHARS] + ("…" if len(line) > EXCERPT_CHARS or len(text) > _REDACT_WINDOW else "")
        return _MARKDOWN_SPECIAL.sub(r"\\\1", cut)


def collect(shards: list[Path], rejected: list[Path], placeholder: str = "<{type}>") -> dict:
    """One streaming pass over the kept shards and the rejected rows.

    Holds one int32 length per kept document (4 bytes each) for the quantiles.
    """
    excerpt = Excerpts(placeholder)
    total = sum(pq.read_metadata(s).num_rows for s in shards)
    wanted = sorted({0, total // 2, total - 1}) if total else []
    kept_lengths: list[np.ndarray] = []
    scripts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    kept_examples: list[str] = []
    offset = 0
    for shard in shards:
        parquet = pq.ParquetFile(shard)
        columns = [c for c in ("text", "script") if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(columns=columns, batch_size=8192):
            lengths = pc.utf8_length(batch.column("text")).to_numpy(zero_copy_only=False).astype(np.int32)
            kept_lengths.append(lengths)
            if "script" in columns:
                labels = batch.column("script").to_pylist()
                for label, length in zip(labels, lengths.tolist()):
                    entry = scripts[label or "none"]
                    entry[0] += 1
                    entry[1] += length
            for row in (w - offset for w in wanted if offset <= w < offset + batch.num_rows):
                if len(kept_examples) < KEPT_EXAMPLES:
                    kept_examples.append(excerpt(batch.column("text")[row].as_py()))
            offset += batch.num_rows
    lengths = np.concatenate(kept_lengths) if kept_lengths else np.empty(0, dtype=np.int32)

    removed_lengths: list[np.ndarray] = []
    removed_examples: dict[str, list[str]] = defaultdict(list)
    for path in rejected:
        for batch in pq.ParquetFile(path).iter_batches(columns=["reason", "text"], batch_size=8192):
            texts = batch.column("text")
            removed_lengths.append(pc.fill_null(pc.utf8_length(texts), 0).to_numpy(zero_copy_only=False).astype(np.int32))
            for row, reason in enumerate(batch.column("reason").to_pylist()):
                if len(removed_examples[reason]) < REMOVED_EXAMPLES_PER_REASON:
                    removed_examples[reason].append(excerpt(texts[row].as_py()))
    removed = np.concatenate(removed_lengths) if removed_lengths else np.empty(0, dtype=np.int32)

    quantiles = {}
    if len(lengths):
        for name, q in (("min", 0), ("p10", 10), ("median", 50), ("p90", 90), ("max", 100)):
            quantiles[name] = int(np.percentile(lengths, q, method="lower"))
        quantiles["mean"] = round(float(lengths.mean()), 1)
    return {
        "lengths": {
            "bins": [length_label(i) for i in range(len(LENGTH_EDGES))],
            "kept": _histogram(lengths),
            "removed": _histogram(removed),
            "kept_quantiles": quantiles,
        },
        "scripts": {label: {"documents": d, "characters": c} for label, (d, c) in sorted(scripts.items(), key=lambda kv: -kv[1][0])},
        "examples": {"kept": kept_examples, "removed": dict(sorted(removed_examples.items()))},
        "redaction": f"first {EXCERPT_CHARS} characters of a document, with personal data ({', '.join(PII_TYPES)}) "
        f"replaced by `{placeholder.format(type='TYPE')}` (patterns of builder.text.pii), also in removed documents",
    }
