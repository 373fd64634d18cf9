"""Main-content extraction measured on ../shared/realweb/html/main_content.jsonl (54 annotated pages).

    python benchmarks/eval_extract.py                 # every candidate extractor, then the flagship recipe
    python benchmarks/eval_extract.py --no-recipe     # extractors only
    python benchmarks/eval_extract.py --no-candidates # the recipe only

Characters are compared as a fingerprint: letters, digits and Han only (whitespace and punctuation
do not count), as character 5-gram multisets, so a character counts once for each place it is kept.
- recall: true main-content characters kept;
- precision: extracted characters that are main content;
- non-main removed: of the page's visible text that is not main content (`page_text.jsonl`), the
  share that did not come out;
- R kept (recipe only): recall over the pages the recipe kept, which tells line cleaning from page drops.
The recipe rows run `configs/zh.yaml` (normalize → language → quality → dedup, with line cleaning)
on the pages as `format: html` with `extract: main` and `full`; a dropped page counts as nothing kept.
Pages/s and MB/s (of HTML) are per CPU second of this process (one core, whatever else runs),
extraction only (pages are decoded before the clock starts).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
REALWEB = REPO.parent / "shared" / "realweb" / "html"
NGRAM = 5
TARGETS = {"recall": 0.95, "non_main_removed": 0.90}


def fingerprint_grams(text: str) -> Counter:
    chars = "".join(c for c in text if c.isalnum())
    return Counter(chars[i : i + NGRAM] for i in range(max(len(chars) - NGRAM + 1, 0)))


def load_pages(folder: Path) -> list[dict]:
    truth = [json.loads(line) for line in open(folder / "main_content.jsonl", encoding="utf-8")]
    visible = {json.loads(line)["id"]: json.loads(line)["text"] for line in open(folder / "page_text.jsonl", encoding="utf-8")}
    pages = []
    for row in truth:
        main = fingerprint_grams(row["main_content"])
        pages.append({
            "file": row["file"], "kind": row["kind"], "bytes": (folder / row["file"]).read_bytes(),
            "main": main, "non_main": fingerprint_grams(visible[Path(row["file"]).stem]) - main,
        })
    return pages


class Score:
    def __init__(self):
        self.kept = self.main = self.extracted = self.non_main = self.non_main_kept = 0

    def add(self, page: dict, text: str) -> None:
        got = fingerprint_grams(text)
        self.kept += sum((page["main"] & got).values())
        self.main += sum(page["main"].values())
        self.extracted += sum(got.values())
        self.non_main += sum(page["non_main"].values())
        self.non_main_kept += sum((page["non_main"] & got).values())

    def row(self) -> dict:
        return {
            "recall": self.kept / self.main if self.main else 0.0,
            "precision": self.kept / self.extracted if self.extracted else 0.0,
            "non_main_removed": 1 - self.non_main_kept / self.non_main if self.non_main else 1.0,
        }


def candidates() -> dict:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    from builder.io.html import extract_page

    found = {
        "builder main (resiliparse main_content + hidden)": lambda html: extract_page(html, "main").text,
        "builder full (resiliparse, every block)": lambda html: extract_page(html, "full").text,
        "resiliparse main_content=True (defaults)": lambda html: extract_plain_text(HTMLTree.parse(html), main_content=True),
    }
    try:
        import trafilatura
    except ImportError:
        print("trafilatura is not installed: `pip install trafilatura lxml_html_clean` to compare it", file=sys.stderr)
    else:
        found["trafilatura (defaults)"] = lambda html: trafilatura.extract(html) or ""
        found["trafilatura favor_recall"] = lambda html: trafilatura.extract(html, favor_recall=True) or ""
        found["trafilatura favor_precision"] = lambda html: trafilatura.extract(html, favor_precision=True) or ""
    return found


def evaluate_candidates(pages: list[dict]) -> None:
    from builder.io.html import decode_page

    decoded = [(page, decode_page(page["bytes"]).text) for page in pages]
    total_mb = sum(len(p["bytes"]) for p in pages) / 1e6
    print(f"{'extractor':52s} {'recall':>7s} {'precis.':>7s} {'non-main':>8s} {'forum R':>7s} {'pages/s':>8s} {'MB/s':>6s}")
    for name, extract in candidates().items():
        extract(decoded[0][1])  # warm up (imports, caches)
        score, forum = Score(), Score()
        started = time.process_time()
        for page, html in decoded:
            text = extract(html)
            score.add(page, text)
            if page["kind"] == "forum":
                forum.add(page, text)
        seconds = time.process_time() - started
        row = score.row()
        print(f"{name:52s} {row['recall']:7.3f} {row['precision']:7.3f} {row['non_main_removed']:8.3f} {forum.row()['recall']:7.3f}"
              f" {len(pages) / seconds:8.1f} {total_mb / seconds:6.1f}")


def evaluate_recipe(pages: list[dict], folder: Path, config_path: Path) -> None:
    from builder.config import load_config
    from builder.runner import Build

    print(f"\nthrough {config_path.relative_to(REPO)} (line cleaning after extraction); targets: {TARGETS}")
    print(f"{'extract':8s} {'recall':>7s} {'precis.':>7s} {'non-main':>8s} {'R kept':>7s} {'pages kept':>10s}  dropped")
    for mode in ("main", "full"):
        with tempfile.TemporaryDirectory(prefix="eval-extract-") as out:
            overrides = {"input.paths": [str(folder / p["file"]) for p in pages], "input.format": "html", "input.extract": mode,
                         "publish.root": out, "executor.workers": 1}
            result = Build(load_config(config_path, overrides)).run()
            kept = {Path(r["id"]).name: r["text"] for r in pq.read_table(result.version_dir / "data", columns=["id", "text"]).to_pylist()}
            dropped = {reason: row["documents"] for reason, row in result.report["dropped"].items()}
        score, on_kept = Score(), Score()  # on_kept: recall over the pages the recipe kept, to tell line cleaning from page drops
        for page in pages:
            score.add(page, kept.get(page["file"], ""))
            if page["file"] in kept:
                on_kept.add(page, kept[page["file"]])
        row = score.row()
        print(f"{mode:8s} {row['recall']:7.3f} {row['precision']:7.3f} {row['non_main_removed']:8.3f} {on_kept.row()['recall']:7.3f}"
              f" {len(kept):5d}/{len(pages):<4d}  {dropped}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=REALWEB, help="holds main_content.jsonl, page_text.jsonl and the pages")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "zh.yaml")
    parser.add_argument("--no-candidates", action="store_true")
    parser.add_argument("--no-recipe", action="store_true")
    args = parser.parse_args()
    if not (args.folder / "main_content.jsonl").is_file():
        print(f"{args.folder}/main_content.jsonl not found", file=sys.stderr)
        return 2
    pages = load_pages(args.folder)
    print(f"{len(pages)} annotated pages, {sum(len(p['bytes']) for p in pages) / 1e6:.1f} MB of HTML")
    if not args.no_candidates:
        evaluate_candidates(pages)
    if not args.no_recipe:
        evaluate_recipe(pages, args.folder, args.config.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
