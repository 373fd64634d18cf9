"""How well the builder cleans real web pages (issue #15): the figure every cleaning decision is judged by.

    python benchmarks/eval_realweb.py [FOLDER] [--config configs/zh.yaml] [--workers N] [--with-dedup]
                                      [--limit N] [--show N] [--json PATH]

FOLDER is laid out like `../shared/realweb` (the default): `text/dureader_search.jsonl` with
`labels/dureader.jsonl`, `text/crud_rag_news.jsonl` (real articles, all should be kept),
`html/page_text.jsonl` with `labels/html_pages.jsonl` (page labels) and `html/main_content.jsonl`
(the true main content of some pages). A missing file skips its part, and the report says so.

The real builder runs the config's stages (dedup left out unless `--with-dedup`: the labels judge
quality, not duplication) over the three text files; its published shards give the kept text and
`runs/<version>/rejected` the dropped documents with their reason. Which original lines survive is
decided here, not read from the builder: each original line's fingerprint (Han characters, ASCII
letters and digits after NFKC and lower-casing; punctuation, spaces and `<TYPE>` placeholders
ignored) is aligned in order against the kept text's fingerprint; a line is kept when at least half
of its fingerprint survives. "Characters" below are fingerprint characters, counted, never bytes.
"""
from __future__ import annotations

import argparse
import bisect
import json
import re
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = REPO.parent / "shared" / "realweb"
DEFAULT_CONFIG = REPO / "configs" / "zh.yaml"

# The three inputs, by the name the report uses; labels beside them (None: no labels, all should be kept).
SOURCES = {
    "dureader": ("text/dureader_search.jsonl", "labels/dureader.jsonl"),
    "news": ("text/crud_rag_news.jsonl", None),
    "html_pages": ("html/page_text.jsonl", "labels/html_pages.jsonl"),
}
MAIN_CONTENT = "html/main_content.jsonl"
# Sources whose kept pages' lines were all read (DuReader's). html_pages labels are page-level in
# ../shared/realweb (empty junk_lines); a folder whose html_pages labels mark junk lines is measured too.
LINE_LABELLED = {"dureader"}

TARGETS = {
    "drop_recall": (">=", 0.90),
    "keep_recall": (">=", 0.95),
    "junk_lines_removed": (">=", 0.85),
    "good_lines_removed": ("<=", 0.02),
    "main_content_kept": (">=", 0.95),
    "non_main_removed": (">=", 0.80),
    "news_dropped": ("<=", 0),
}
KEPT_LINE_SHARE = 0.5   # a line survives when at least half of its fingerprint does
MIN_ANCHOR = 6          # shorter pieces match only near the cursor, or as a whole original line
NEAR = 48               # "near": within this many fingerprint characters after the cursor

# Han ideographs (unified, extensions A-G, compatibility), ASCII letters and digits.
_FINGERPRINT_CHAR = re.compile(
    "[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f]")
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")


class EvalError(Exception):
    """Bad input folder or config: the message names the file, line and field."""


# ---------------------------------------------------------------------------------------------------
# Line accounting: which share of each original line's fingerprint survives in the kept text.
# ---------------------------------------------------------------------------------------------------

def fingerprint(text: str) -> str:
    """Han characters, ASCII letters and digits, after NFKC and lower-casing; placeholders left out."""
    text = unicodedata.normalize("NFKC", _PLACEHOLDER.sub(" ", text)).lower()
    return "".join(_FINGERPRINT_CHAR.findall(text))


def _output_pieces(kept_text: str) -> list[str]:
    """Fingerprints of the kept text, cut at line breaks and placeholders (what a redaction replaced)."""
    pieces = []
    for line in kept_text.split("\n"):
        for part in _PLACEHOLDER.split(line):
            piece = fingerprint(part)
            if piece:
                pieces.append(piece)
    return pieces


@dataclass
class Alignment:
    lines: list[tuple[int, int]]  # (surviving, total) fingerprint characters of each original line
    untraced: int                 # kept fingerprint characters matched to no original line (should be ~0)


def kept_per_line(original_lines: list[str], kept_text: str | None) -> list[tuple[int, int]]:
    """(surviving, total) fingerprint characters for each original line."""
    return align(original_lines, kept_text).lines


def align(original_lines: list[str], kept_text: str | None) -> Alignment:
    """Which fingerprint characters of each original line survive in the kept text.

    The kept text is, up to folding, a subsequence of the original: whole lines removed, some
    characters removed or replaced by placeholders, a line perhaps split in several. Each piece of
    the kept text is matched in order at or after a cursor in the original fingerprint, greedily by
    its longest prefix found there (str.find: linear, no quadratic diff). A short piece (a 2-character
    subheading) could match anywhere, so it is taken only near the cursor or where it is a whole
    original line: repeated lines then match their first copy after the cursor, as the builder keeps it.
    """
    fps = [fingerprint(line) for line in original_lines]
    totals = [len(f) for f in fps]
    if not kept_text:
        return Alignment([(0, t) for t in totals], 0)
    whole = "".join(fps)
    starts, offset = [], 0
    for f in fps:
        starts.append(offset)
        offset += len(f)
    by_line_text: dict[str, list[int]] = defaultdict(list)
    for index, f in enumerate(fps):
        if f:
            by_line_text[f].append(starts[index])
    kept = bytearray(len(whole))
    cursor = untraced = 0
    for piece in _output_pieces(kept_text):
        while piece:
            found, length = _longest_prefix(whole, piece, cursor)
            if length and length < MIN_ANCHOR and found - cursor > NEAR:
                found = -1
                if length == len(piece):  # a short whole piece: accept it as a whole original line only
                    candidates = by_line_text.get(piece, [])
                    at = bisect.bisect_left(candidates, cursor)
                    if at < len(candidates):
                        found = candidates[at]
            if found < 0:
                piece = piece[1:]  # a character the original does not have here (a repair, a fold): skip it
                untraced += 1
                continue
            kept[found:found + length] = b"\x01" * length
            cursor = found + length
            piece = piece[length:]
    return Alignment([(kept[starts[i]:starts[i] + totals[i]].count(1), totals[i]) for i in range(len(fps))], untraced)


def _longest_prefix(haystack: str, piece: str, start: int) -> tuple[int, int]:
    """(position, length) of the longest prefix of `piece` found in `haystack` at or after `start`."""
    if haystack.find(piece, start) >= 0:
        return haystack.find(piece, start), len(piece)
    low, high = 0, len(piece) - 1  # prefix of `low` chars is found (trivially for 0), of `high + 1` not
    while low < high:
        middle = (low + high + 1) // 2
        if haystack.find(piece[:middle], start) >= 0:
            low = middle
        else:
            high = middle - 1
    return (haystack.find(piece[:low], start), low) if low else (-1, 0)


def line_is_kept(surviving: int, total: int) -> bool:
    return total > 0 and surviving >= KEPT_LINE_SHARE * total


# ---------------------------------------------------------------------------------------------------
# Reading the folder
# ---------------------------------------------------------------------------------------------------

def read_jsonl(path: Path, required: tuple[str, ...], limit: int | None = None) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            if limit is not None and len(records) >= limit:
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise EvalError(f"{path}:{line_no}: invalid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise EvalError(f"{path}:{line_no}: expected a JSON object")
            for name in required:
                if name not in record:
                    raise EvalError(f"{path}:{line_no}: missing field {name!r}")
            records.append(record)
    return records


@dataclass
class Folder:
    documents: dict[str, list[dict]] = field(default_factory=dict)   # source -> records (id, text, url)
    labels: dict[str, dict[str, dict]] = field(default_factory=dict)  # source -> id -> label
    main_content: dict[str, str] = field(default_factory=dict)        # page id -> true main content
    skipped: list[str] = field(default_factory=list)


def read_folder(folder: Path, limit: int | None = None) -> Folder:
    if not folder.is_dir():
        raise EvalError(f"{folder}: no such folder (expected the layout of ../shared/realweb)")
    result = Folder()
    owner: dict[str, str] = {}
    for source, (text_name, label_name) in SOURCES.items():
        path = folder / text_name
        if not path.exists():
            result.skipped.append(f"{source}: {text_name} not found")
            continue
        records = read_jsonl(path, ("id", "text"), limit)
        for line_no, record in enumerate(records, 1):
            if not isinstance(record["text"], str):
                raise EvalError(f"{path}:{line_no}: field 'text' is not a string")
            doc_id = str(record["id"])
            if doc_id in owner:
                raise EvalError(f"{path}:{line_no}: field 'id' {doc_id!r} already used in {owner[doc_id]}: ids must be unique across the folder")
            owner[doc_id] = text_name
        result.documents[source] = [{"id": str(r["id"]), "text": r["text"], "url": r.get("url")} for r in records]
        if label_name is None:
            continue
        label_path = folder / label_name
        if not label_path.exists():
            result.skipped.append(f"{source}: {label_name} not found, documents run but not scored")
            continue
        present = {r["id"] for r in result.documents[source]}
        labels = {}
        for line_no, label in enumerate(read_jsonl(label_path, ("id", "doc_label")), 1):
            if label["doc_label"] not in ("keep", "drop"):
                raise EvalError(f"{label_path}:{line_no}: field 'doc_label' must be keep or drop, got {label['doc_label']!r}")
            if str(label["id"]) in present:
                labels[str(label["id"])] = label
        result.labels[source] = labels
    main_path = folder / MAIN_CONTENT
    if not main_path.exists():
        result.skipped.append(f"main_content: {MAIN_CONTENT} not found")
    elif "html_pages" not in result.documents:
        result.skipped.append("main_content: no page_text to run it from")
    else:
        present = {r["id"] for r in result.documents["html_pages"]}
        for record in read_jsonl(main_path, ("file", "main_content")):
            page = Path(record["file"]).stem
            if page in present:
                result.main_content[page] = record["main_content"]
    return result


# ---------------------------------------------------------------------------------------------------
# Running the builder
# ---------------------------------------------------------------------------------------------------

@dataclass
class BuildOutput:
    kept: dict[str, str]                      # id -> kept text
    dropped: dict[str, tuple[str, str]]       # id -> (reason, detail), quarantined included
    report: dict
    stages: list[str]
    seconds: float


def run_builder(folder: Folder, config_path: Path, workers: int, with_dedup: bool, scratch: Path) -> BuildOutput:
    """Write the inputs and a config derived from `config_path`, build with the real builder, read what it published."""
    import pyarrow.parquet as pq
    import yaml

    from builder.config import ConfigError, load_config
    from builder.io.readers import InputError
    from builder.publish import PublishError
    from builder.runner import Build

    try:
        load_config(config_path)  # the user's config, checked as it is: errors name its own lines
    except ConfigError as err:
        raise EvalError(str(err)) from None
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    stages = [s for s in data.get("stages") or [] if with_dedup or s.get("type") != "dedup"]
    inputs = []
    for source, records in folder.documents.items():
        path = scratch / "input" / f"{source}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        inputs.append(str(path))
    data.update({
        "version": "1.0.0",
        "input": {**{k: v for k, v in (data.get("input") or {}).items() if k == "max_doc_chars"},
                  "paths": inputs, "format": "jsonl", "text_field": "text", "id_field": "id", "url_field": "url"},
        "stages": stages,
        "publish": {"target": "local", "root": str(scratch / "out")},
        "executor": {**(data.get("executor") or {}), "workers": workers},
    })
    derived = scratch / "config.yaml"
    derived.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    started = time.perf_counter()
    try:
        result = Build(load_config(derived)).run()
    except (ConfigError, InputError, PublishError) as err:
        raise EvalError(f"building with {config_path}: {err}") from None
    seconds = time.perf_counter() - started
    version_dir = result.version_dir
    kept: dict[str, str] = {}
    for shard in sorted((version_dir / "data").glob("*.parquet")):
        table = pq.read_table(shard, columns=["id", "text"]).to_pydict()
        kept.update(zip(table["id"], table["text"]))
    dropped: dict[str, tuple[str, str]] = {}
    for shard in sorted((version_dir.parent / "runs" / version_dir.name / "rejected").glob("*.parquet")):
        table = pq.read_table(shard, columns=["id", "reason", "detail"]).to_pydict()
        for doc_id, reason, detail in zip(table["id"], table["reason"], table["detail"]):
            dropped[doc_id] = (reason, detail or "")
    return BuildOutput(kept, dropped, result.report, [s["type"] for s in stages], seconds)


# ---------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------

def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _page_level(labels: dict[str, dict], output: BuildOutput) -> dict:
    counts = Counter()
    per_category: dict[str, Counter] = defaultdict(Counter)
    for doc_id, label in labels.items():
        dropped = doc_id in output.dropped
        truth = label["doc_label"]
        counts[(truth, dropped)] += 1
        cat = per_category[f"{truth}/{label.get('category') or '-'}"]
        cat["documents"] += 1
        cat["dropped"] += dropped
    tp, fn = counts[("drop", True)], counts[("drop", False)]
    fp, tn = counts[("keep", True)], counts[("keep", False)]
    return {
        "labelled": len(labels), "labelled_drop": tp + fn, "labelled_keep": fp + tn,
        "dropped_and_labelled_drop": tp, "kept_but_labelled_drop": fn, "dropped_but_labelled_keep": fp,
        "drop_recall": _share(tp, tp + fn), "drop_precision": _share(tp, tp + fp), "keep_recall": _share(tn, tn + fp),
        "per_category": {k: dict(v) for k, v in sorted(per_category.items())},
    }


def _line_level(documents: list[dict], labels: dict[str, dict], output: BuildOutput, aligned: dict[str, Alignment],
                chars: Counter) -> dict:
    counts = Counter()
    per_category: dict[str, Counter] = defaultdict(Counter)
    for record in documents:
        label = labels.get(record["id"])
        if label is None or label["doc_label"] != "keep" or record["id"] not in output.kept or "junk_lines" not in label:
            continue  # a label without junk_lines decided the page only
        junk = set(label["junk_lines"])
        cat = per_category[label.get("category") or "-"]
        for index, (surviving, total) in enumerate(aligned[record["id"]].lines):
            if not total:
                continue
            kind = "junk" if index in junk else "good"
            removed = not line_is_kept(surviving, total)
            for bucket in (counts, cat):
                bucket[f"{kind}_lines"] += 1
                bucket[f"{kind}_removed"] += removed
            chars[f"kept_{kind}_line_chars"] += surviving
    def figures(c: Counter) -> dict:
        return {**{k: c[k] for k in ("junk_lines", "junk_removed", "good_lines", "good_removed")},
                "junk_lines_removed": _share(c["junk_removed"], c["junk_lines"]),
                "good_lines_removed": _share(c["good_removed"], c["good_lines"])}
    return {**figures(counts), "per_category": {k: figures(v) for k, v in sorted(per_category.items())}}


def main_line_labels(page_lines: list[str], main_content: str) -> list[bool]:
    """A page line is main content when its fingerprint is found in the main content's.

    A short line (under MIN_ANCHOR characters: "首页", "分享") would be found inside almost any
    text, so it counts only when it equals a whole main-content line.
    """
    main_lines = {fingerprint(line) for line in main_content.split("\n")}
    whole = "".join(fingerprint(line) for line in main_content.split("\n"))
    labels = []
    for line in page_lines:
        f = fingerprint(line)
        labels.append(bool(f) and (f in main_lines if len(f) < MIN_ANCHOR else f in whole))
    return labels


def _main_content(folder: Folder, output: BuildOutput, aligned: dict[str, Alignment]) -> dict:
    counts = Counter()
    per_page = {}
    records = {r["id"]: r for r in folder.documents.get("html_pages", [])}
    for page, truth in sorted(folder.main_content.items()):
        lines = records[page]["text"].split("\n")
        is_main = main_line_labels(lines, truth)
        page_counts = Counter()
        for main, (surviving, total) in zip(is_main, aligned[page].lines):
            kind = "main" if main else "non_main"
            page_counts[f"{kind}_chars"] += total
            page_counts[f"{kind}_chars_kept"] += surviving
        page_counts["dropped"] = page in output.dropped
        counts.update(page_counts)
        per_page[page] = {**dict(page_counts), "main_kept": _share(page_counts["main_chars_kept"], page_counts["main_chars"]),
                          "reason": output.dropped.get(page, ("", ""))[0]}
    return {
        "pages": len(folder.main_content), "pages_dropped": counts["dropped"],
        "main_chars": counts["main_chars"], "main_chars_kept": counts["main_chars_kept"],
        "non_main_chars": counts["non_main_chars"], "non_main_chars_removed": counts["non_main_chars"] - counts["non_main_chars_kept"],
        "main_content_kept": _share(counts["main_chars_kept"], counts["main_chars"]),
        "non_main_removed": _share(counts["non_main_chars"] - counts["non_main_chars_kept"], counts["non_main_chars"]),
        "per_page": per_page,
    }


def score(folder: Folder, output: BuildOutput) -> dict:
    figures: dict = {"skipped": folder.skipped, "stages": output.stages, "builder": _funnel(output.report)}
    junk_chars = Counter()  # the share of kept characters that is labelled junk
    misses = {"kept_but_labelled_drop": [], "dropped_but_labelled_keep": []}
    aligned = {r["id"]: align(r["text"].split("\n"), output.kept.get(r["id"])) for rs in folder.documents.values() for r in rs}
    kept_ids = [i for i in aligned if i in output.kept]
    untraced = sum(aligned[i].untraced for i in kept_ids)
    traced = sum(s for i in kept_ids for s, _ in aligned[i].lines)
    figures["alignment"] = {"kept_chars_traced": traced, "kept_chars_untraced": untraced,
                            "untraced_share": _share(untraced, traced + untraced)}
    for source, labels in folder.labels.items():
        documents = folder.documents[source]
        by_id = {r["id"]: r for r in documents}
        page = _page_level(labels, output)
        figures[source] = {"documents": len(documents), "page": page}
        if source in LINE_LABELLED or any(label.get("junk_lines") for label in labels.values()):
            figures[source]["lines"] = _line_level(documents, labels, output, aligned, junk_chars)
        for doc_id, label in labels.items():
            if doc_id in folder.main_content:
                continue
            kept = sum(s for s, _ in aligned[doc_id].lines)
            junk_chars["kept_labelled_chars"] += kept
            if label["doc_label"] == "drop":
                junk_chars["kept_drop_doc_chars"] += kept
                if doc_id in output.kept:
                    misses["kept_but_labelled_drop"].append((kept, doc_id, label.get("category") or "-", label.get("note") or ""))
            elif doc_id in output.dropped:
                reason, detail = output.dropped[doc_id]
                misses["dropped_but_labelled_keep"].append((len(fingerprint(by_id[doc_id]["text"])), doc_id, reason, detail))
    if "news" in folder.documents:
        reasons = Counter(output.dropped[r["id"]][0] for r in folder.documents["news"] if r["id"] in output.dropped)
        total = len(folder.documents["news"])
        figures["news"] = {"documents": total, "kept": total - sum(reasons.values()), "dropped": sum(reasons.values()),
                           "share_kept": _share(total - sum(reasons.values()), total), "dropped_by_reason": dict(sorted(reasons.items())),
                           "dropped_ids": sorted(r["id"] for r in folder.documents["news"] if r["id"] in output.dropped)}
        kept_news = [aligned[r["id"]].lines for r in folder.documents["news"] if r["id"] in output.kept]
        news_chars = sum(t for lines in kept_news for _, t in lines)
        figures["news"]["kept_articles_chars_removed"] = _share(news_chars - sum(s for lines in kept_news for s, _ in lines), news_chars)
    if folder.main_content:
        main = _main_content(folder, output, aligned)
        figures["main_content"] = main
        junk_chars["kept_labelled_chars"] += main["main_chars_kept"] + main["non_main_chars"] - main["non_main_chars_removed"]
        junk_chars["kept_non_main_chars"] += main["non_main_chars"] - main["non_main_chars_removed"]
    junk = junk_chars["kept_drop_doc_chars"] + junk_chars["kept_junk_line_chars"] + junk_chars["kept_non_main_chars"]
    figures["kept_junk"] = {**{k: junk_chars[k] for k in ("kept_drop_doc_chars", "kept_junk_line_chars", "kept_non_main_chars", "kept_labelled_chars")},
                            "junk_chars": junk, "junk_share_of_kept": _share(junk, junk_chars["kept_labelled_chars"])}
    figures["misses"] = {kind: [list(m[1:]) for m in sorted(items, key=lambda m: (-m[0], m[1]))] for kind, items in misses.items()}
    return figures


def _funnel(report: dict) -> dict:
    return {"input": report["input"]["documents"], "kept": report["kept"]["documents"],
            "dropped": {r: v["documents"] for r, v in report["dropped"].items()},
            "quarantined": {r: v["documents"] for r, v in report["quarantined"].items()}}


# ---------------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "    -" if value is None else f"{100 * value:5.1f}%"


def _target(key: str, value) -> str:
    if key not in TARGETS or value is None:
        return ""
    op, goal = TARGETS[key]
    met = value >= goal if op == ">=" else value <= goal
    shown = f"{100 * goal:.0f}%" if isinstance(goal, float) else str(goal)
    return f"target {op} {shown}  {'ok' if met else 'MISSED'}"


def format_report(figures: dict, show: int, seconds: float) -> str:
    out = []
    funnel = figures["builder"]
    dropped = ", ".join(f"{r} {n}" for r, n in sorted(funnel["dropped"].items(), key=lambda x: (-x[1], x[0])))
    quarantined = ", ".join(f"{r} {n}" for r, n in funnel["quarantined"].items())
    out.append(f"builder ({' → '.join(figures['stages']) or 'no stages'}, {seconds:.1f}s): {funnel['input']:,} in, {funnel['kept']:,} kept")
    out.append(f"  dropped: {dropped or 'none'}" + (f"; quarantined: {quarantined}" if quarantined else ""))
    for note in figures["skipped"]:
        out.append(f"  skipped {note}")

    def row(label: str, count: str, value, key: str = "") -> None:
        out.append(f"  {label:<34}{count:>12}  {_pct(value)}  {_target(key, value)}".rstrip())

    for source in ("dureader", "html_pages"):
        if source not in figures:
            continue
        page = figures[source]["page"]
        out.append(f"\n{source}: {figures[source]['documents']} documents, {page['labelled']} labelled "
                   f"({page['labelled_drop']} drop, {page['labelled_keep']} keep)")
        tp, fn, fp = page["dropped_and_labelled_drop"], page["kept_but_labelled_drop"], page["dropped_but_labelled_keep"]
        row("page drop recall", f"{tp}/{tp + fn}", page["drop_recall"], "drop_recall")
        row("page drop precision", f"{tp}/{tp + fp}", page["drop_precision"])
        row("page keep recall", f"{page['labelled_keep'] - fp}/{page['labelled_keep']}", page["keep_recall"], "keep_recall")
        lines = figures[source].get("lines")
        if lines:
            row("junk lines removed", f"{lines['junk_removed']}/{lines['junk_lines']}", lines["junk_lines_removed"], "junk_lines_removed")
            row("good lines removed", f"{lines['good_removed']}/{lines['good_lines']}", lines["good_lines_removed"], "good_lines_removed")
        out.append(f"  {'category':<24}{'docs':>6}{'dropped':>9}{'junk lines rm':>16}{'good lines rm':>16}")
        for category, c in page["per_category"].items():
            line_figs = (lines or {}).get("per_category", {}).get(category.split("/", 1)[1]) if category.startswith("keep/") else None
            junk = f"{line_figs['junk_removed']}/{line_figs['junk_lines']}" if line_figs else ""
            good = f"{line_figs['good_removed']}/{line_figs['good_lines']}" if line_figs else ""
            out.append(f"  {category:<24}{c['documents']:>6}{c['dropped']:>9}{junk:>16}{good:>16}".rstrip())
    if "news" in figures:
        news = figures["news"]
        out.append(f"\nnews: {news['documents']} real articles (all should be kept)")
        row("articles kept", f"{news['kept']}/{news['documents']}", news["share_kept"])
        row("characters removed from kept ones", "", news["kept_articles_chars_removed"])
        out.append(f"  {'articles dropped':<34}{news['dropped']:>12}         {_target('news_dropped', news['dropped'])}".rstrip())
        for reason, count in news["dropped_by_reason"].items():
            out.append(f"    {reason:<32}{count:>12}")
    if "main_content" in figures:
        main = figures["main_content"]
        out.append(f"\nmain_content: {main['pages']} pages run from page_text, characters counted by fingerprint")
        row("main-content characters kept", f"{main['main_chars_kept']}/{main['main_chars']}", main["main_content_kept"], "main_content_kept")
        row("non-main characters removed", f"{main['non_main_chars_removed']}/{main['non_main_chars']}", main["non_main_removed"], "non_main_removed")
        out.append(f"  {'pages dropped whole':<34}{main['pages_dropped']:>12}")
    junk = figures["kept_junk"]
    out.append(f"\nkept characters of labelled documents that are labelled junk: {junk['junk_chars']:,}/{junk['kept_labelled_chars']:,} "
               f"{_pct(junk['junk_share_of_kept']).strip()} (drop-labelled docs {junk['kept_drop_doc_chars']:,}, "
               f"junk lines {junk['kept_junk_line_chars']:,}, non-main {junk['kept_non_main_chars']:,})")
    align_figs = figures["alignment"]
    out.append(f"line accounting: {_pct(align_figs['untraced_share']).strip()} of kept characters traced to no original line "
               f"({align_figs['kept_chars_untraced']:,} of {align_figs['kept_chars_traced'] + align_figs['kept_chars_untraced']:,})")
    if show:
        out.append("")
        kept_wrong = figures["misses"]["kept_but_labelled_drop"]
        out.append(f"kept but labelled drop ({len(kept_wrong)}; most kept characters first):")
        for doc_id, category, note in kept_wrong[:show]:
            out.append(f"  {doc_id:<18}{category:<20}{note[:70]}")
        dropped_wrong = figures["misses"]["dropped_but_labelled_keep"]
        by_reason = Counter(reason for _, reason, _ in dropped_wrong)
        out.append(f"dropped but labelled keep ({len(dropped_wrong)}: "
                   f"{', '.join(f'{r} {n}' for r, n in sorted(by_reason.items(), key=lambda x: (-x[1], x[0])))}; longest first):")
        for doc_id, reason, detail in dropped_wrong[:show]:
            out.append(f"  {doc_id:<18}{reason:<24}{detail[:70]}")
        if "news" in figures and figures["news"]["dropped_ids"]:
            out.append(f"news articles dropped: {', '.join(figures['news']['dropped_ids'][:show])}")
        if "main_content" in figures:
            worst = sorted(((p["main_kept"] if p["main_kept"] is not None else 1.0, page, p["reason"])
                            for page, p in figures["main_content"]["per_page"].items()))[:show]
            out.append("main-content pages keeping least main content: " + ", ".join(
                f"{page} {_pct(kept).strip()}{' (' + reason + ')' if reason else ''}" for kept, page, reason in worst))
    return "\n".join(out)


def evaluate(folder: Path, config: Path = DEFAULT_CONFIG, workers: int = 1, with_dedup: bool = False,
             limit: int | None = None) -> tuple[dict, float]:
    """Build the folder's documents with the config and score them: (figures, build seconds)."""
    data = read_folder(folder, limit)
    if not data.documents:
        raise EvalError(f"{folder}: none of {', '.join(t for t, _ in SOURCES.values())} found")
    with tempfile.TemporaryDirectory(prefix="eval-realweb-") as scratch:
        output = run_builder(data, config, workers, with_dedup, Path(scratch))
    return score(data, output), output.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER, help="laid out like ../shared/realweb")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="recipe whose stages and params are run (default configs/zh.yaml)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--with-dedup", action="store_true", help="keep the config's dedup stages (left out by default)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N documents of each source")
    parser.add_argument("--show", type=int, default=0, metavar="N", help="list N ids per kind of miss")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure as JSON")
    args = parser.parse_args(argv)
    if args.workers < 1 or (args.limit is not None and args.limit < 1) or args.show < 0:
        parser.error("--workers and --limit must be positive, --show not negative")
    try:
        figures, seconds = evaluate(args.folder, args.config, args.workers, args.with_dedup, args.limit)
    except EvalError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_report(figures, args.show, seconds))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
