"""Train the `quality_model` stage's model on labelled real pages, cross-validate it, write model + metrics.

Reads a folder laid out like `../shared/realweb`:
  labels/dureader.jsonl     + text/dureader_search.jsonl   (page decisions; grouped by question id)
  labels/html_pages.jsonl   + html/page_text.jsonl         (page decisions; grouped by url host / site)
  html/main_content.jsonl   pages of html/page_text.jsonl  (articles and forum threads: keep, unless
                                                             --extra-labels gives their own decision)
  text/crud_rag_news.jsonl  news articles                  (keep; the `<date>，正文：` prefix is cut)
plus any `*.jsonl` of labels in `--extra-labels` (same fields as labels/*.jsonl, ids of the pages above).

Every page goes through the recipe's stages up to and including `quality` (from `--config`, in
process, `quality` with `annotate: true`, nothing dropped), so the model learns on the cleaned
text it will score at run time; the rules' own decision (a language drop or `quality_reason`) is
kept to measure rules and model together. Then: grouped 5-fold cross-validation (no question, site
or near-identical page on both sides), AUC and keep/drop recall per source and category, the
threshold at which rules + model keep `--keep-recall` of the labelled keep pages, cross-source
runs (train on one source, test on the other), and a final model on everything.

    PYTHONPATH=$PWD /work/venv/bin/python benchmarks/train_quality_model.py ../shared/realweb \\
        --out /tmp/quality-model --c 1 [--install]

Needs the `train` extra (scikit-learn); the stage itself needs numpy only. Page text never enters the
repository: only the model (`--install` copies it to builder/stages/models/) and labels made here, as
ids and line numbers (benchmarks/labels/).
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from recipe_in_process import run_stages, stages_until

from builder.config import load_config
from builder.stages.base import Batch
from builder.stages.quality.ngrams import BatchPoints, hashed_ngrams
from builder.stages.quality_model import QualityModelParams
from builder.stages.quality_model.features import dense_features
from builder.stages.quality_model.prose import prose_for_scoring
from builder.stages.quality_model.linear import SHIPPED_MODEL, LinearQualityModel

REPO = Path(__file__).resolve().parents[1]
# The n-gram features sum to one per order and document: small next to standardised dense features.
# Scaling them by 10 before the (L2-regularised) fit weighs them up; grouped CV AUC on realweb without
# news 0.872 (scale 1) -> 0.884 (scale 10), C=1; the factor is folded back into the shipped weights.
NGRAM_SCALE = 10.0
NEWS_PREFIX_RE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?\s*[，,]\s*正文[：:]\s*")


@dataclass
class Page:
    id: str
    source: str  # dureader | html_pages | magichtml | news | extra
    group: str  # pages of one group never sit on both sides of a split
    keep: bool
    category: str
    text: str
    cleaned: str = ""
    rules_reason: str | None = None  # what the rules alone would do: None = kept


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def host_group(url: str | None, fallback: str) -> str:
    host = urlparse(url).hostname if url and url != "None" else None
    if host:
        parts = host.split(".")
        return "host:" + ".".join(parts[-3:] if parts[-2:-1] in (["com"], ["org"], ["net"], ["gov"], ["edu"]) and len(parts) > 2 else parts[-2:])
    return "site:" + fallback


def dureader_group(record: dict) -> str:
    """The search question a page answered: pages of one question share lines and never split across folds."""
    locator = record.get("locator") or {}
    locator = ast.literal_eval(locator) if isinstance(locator, str) else locator
    return f"dureader-q{locator.get('question_id', record['id'])}"


def read_extra_labels(extra: Path | None) -> dict[str, dict]:
    """Labels by id from every `*.jsonl` of `extra` (a later file's label of an id wins)."""
    labels: dict[str, dict] = {}
    for path in sorted(extra.glob("*.jsonl")) if extra else []:
        for record in read_jsonl(path):
            labels[record["id"]] = record
    return labels


def load_pages(folder: Path, extra: Path | None) -> list[Page]:
    pages: list[Page] = []
    extra_labels = read_extra_labels(extra)
    texts = {r["id"]: r for r in read_jsonl(folder / "text" / "dureader_search.jsonl")}
    for label in read_jsonl(folder / "labels" / "dureader.jsonl"):
        record = texts[label["id"]]
        pages.append(Page(label["id"], "dureader", dureader_group(record), label["doc_label"] == "keep", label["category"], record["text"]))
    page_text = {r["id"]: r for r in read_jsonl(folder / "html" / "page_text.jsonl")}
    index = {Path(r["file"]).stem: r for r in read_jsonl(folder / "html" / "index.jsonl")} if (folder / "html" / "index.jsonl").exists() else {}

    def html_group(page_id: str) -> str:
        meta = index.get(page_id, {})
        url = page_text[page_id].get("url") or meta.get("url")
        source_dir = str(meta.get("source", page_id)).split("@")[0].rsplit("/", 1)[0]
        return host_group(url, source_dir)

    labelled = set()
    for label in read_jsonl(folder / "labels" / "html_pages.jsonl"):
        labelled.add(label["id"])
        pages.append(Page(label["id"], "html_pages", html_group(label["id"]), label["doc_label"] == "keep",
                          label["category"], page_text[label["id"]]["text"]))  # fmt: skip
    for record in read_jsonl(folder / "html" / "main_content.jsonl"):
        page_id = Path(record["file"]).stem
        if page_id in labelled or page_id not in page_text:
            continue
        labelled.add(page_id)
        label = extra_labels.get(page_id, {"doc_label": "keep", "category": record.get("kind", "article")})
        pages.append(Page(page_id, "magichtml", html_group(page_id), label["doc_label"] == "keep", label["category"],
                          page_text[page_id]["text"]))  # fmt: skip
    for record in read_jsonl(folder / "text" / "crud_rag_news.jsonl"):
        body = NEWS_PREFIX_RE.sub("", record["text"])
        pages.append(Page(record["id"], "news", "news:" + body[:40], True, "article", body))
    known = {page.id for page in pages}
    for page_id, label in sorted(extra_labels.items()):
        if page_id not in known and page_id in page_text:
            pages.append(Page(page_id, "extra", html_group(page_id), label["doc_label"] == "keep", label["category"],
                              page_text[page_id]["text"]))  # fmt: skip
    return pages


def run_rules(pages: list[Page], config_path: Path, batch_size: int = 200) -> None:
    """The recipe's stages up to `quality` (annotate), in process; fills `cleaned` and `rules_reason`."""
    stages, quality = stages_until(config_path, "quality", annotate=True)
    before = run_stages(stages, [{"id": p.id, "text": p.text} for p in pages])
    for first in range(0, len(pages), batch_size):
        chunk = slice(first, first + batch_size)
        batch = quality(Batch({"id": [p.id for p in pages[chunk]], "text": before.texts[chunk]}))
        for row, page in enumerate(pages[chunk]):
            page.cleaned = batch["text"][row]
            page.rules_reason = before.reasons[first + row] or batch["quality_reason"][row]


def featurise(texts: list[str], bits: int, orders: tuple[int, ...]):
    from scipy import sparse

    points = BatchPoints.from_texts(texts)
    grams = hashed_ngrams(points, orders, bits)
    matrix = sparse.csr_matrix((grams.value, (grams.doc, grams.bucket)), shape=(len(texts), 1 << bits))
    matrix.sum_duplicates()
    return matrix, dense_features(points)


def fit(ngrams, dense, y, c: float) -> LinearQualityModel:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    mean = dense.mean(axis=0)
    scale = np.where(dense.std(axis=0) > 1e-9, dense.std(axis=0), 1.0)
    x = sparse.hstack([ngrams * NGRAM_SCALE, sparse.csr_matrix((dense - mean) / scale)], format="csr")
    classifier = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=1000, random_state=0)
    classifier.fit(x, y)
    weights = classifier.coef_[0]
    n_buckets = ngrams.shape[1]
    return LinearQualityModel(
        bits=int(np.log2(n_buckets)),
        orders=(),
        ngram_weights=(weights[:n_buckets] * NGRAM_SCALE).astype(np.float16).astype(np.float32),  # score as shipped
        dense_weights=weights[n_buckets:].astype(np.float32).astype(np.float64),
        dense_mean=mean.astype(np.float32).astype(np.float64),
        dense_scale=scale.astype(np.float32).astype(np.float64),
        bias=float(np.float32(classifier.intercept_[0])),
    )


def scores_from(model: LinearQualityModel, ngrams, dense) -> np.ndarray:
    z = ngrams @ model.ngram_weights.astype(np.float64)
    z = z + ((dense - model.dense_mean) / model.dense_scale) @ model.dense_weights + model.bias
    return 1 / (1 + np.exp(-np.clip(z, -50, 50)))


def cross_validated(ngrams, dense, y, groups, c: float, folds: int = 5, seed: int = 0) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold

    out = np.zeros(len(y))
    for train, test in StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(ngrams, y, groups):
        model = fit(ngrams[train], dense[train], y[train], c)
        out[test] = scores_from(model, ngrams[test], dense[test])
    return out


def auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def choose_threshold(y: np.ndarray, scores: np.ndarray, rules_drop: np.ndarray, keep_recall: float) -> float:
    """The highest threshold at which the model still keeps `keep_recall` of the labelled keep pages the rules keep.

    Keep recall comes first: the model may cost only what the rules leave of the keep budget. Measured
    on the pages the rules keep, so that the threshold does not move when the rules change.
    """
    keep = (y == 1) & ~rules_drop
    best = 0.0
    for t in np.round(np.arange(0.0, 1.0001, 0.01), 2):
        if (scores[keep] >= t).mean() >= keep_recall:
            best = float(t)
    return best


def recall_table(pages: list[Page], y, scores, rules_drop, t: float) -> dict:
    model_drop = scores < t
    both = rules_drop | model_drop
    rows = {}
    keys = sorted({(p.source, p.keep, p.category) for p in pages})
    by: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pages):
        by[f"{'keep' if p.keep else 'drop'}/{p.category}"].append(i)
        by[f"{'keep' if p.keep else 'drop'}/@{p.source}"].append(i)
    del keys
    for name, idx in sorted(by.items()):
        idx = np.array(idx)
        dropped = both[idx]
        rows[name] = {
            "n": len(idx),
            "rules": round(float(rules_drop[idx].mean()), 3),
            "model": round(float(model_drop[idx].mean()), 3),
            "rules+model": round(float(dropped.mean()), 3),
        }
    return rows


def summary(pages, y, scores, rules_drop, t) -> dict:
    keep, drop = y == 1, y == 0
    model_drop = scores < t
    both = rules_drop | model_drop
    return {
        "threshold": t,
        "auc": round(auc(y, scores), 4),
        "auc_by_source": {s: round(auc(y[m], scores[m]), 4) for s in sorted({p.source for p in pages})
                          if (m := np.array([p.source == s for p in pages])).any() and 0 < y[m].sum() < m.sum()},  # fmt: skip
        # The news pages are all keep and easy: AUC without them says more about the hard cases.
        "auc_without_news": round(auc(y[(nn := np.array([p.source != "news" for p in pages]))], scores[nn]), 4),
        "keep_recall": {"rules": round(float(1 - rules_drop[keep].mean()), 4),
                        "model": round(float(1 - model_drop[keep].mean()), 4),
                        "rules+model": round(float(1 - both[keep].mean()), 4)},  # fmt: skip
        "drop_recall": {"rules": round(float(rules_drop[drop].mean()), 4),
                        "model": round(float(model_drop[drop].mean()), 4),
                        "rules+model": round(float(both[drop].mean()), 4)},  # fmt: skip
        "drops_model_adds": int((drop & model_drop & ~rules_drop).sum()),
        "keeps_model_loses": int((keep & model_drop & ~rules_drop).sum()),
        "labelled": {"keep": int(keep.sum()), "drop": int(drop.sum())},
    }


def print_summary(title: str, s: dict) -> None:
    print(f"\n== {title}")
    print(f"AUC {s['auc']} (without news {s['auc_without_news']})  by source {s['auc_by_source']}")
    print(f"threshold {s['threshold']}: keep recall {s['keep_recall']}")
    print(f"  drop recall {s['drop_recall']}")
    print(f"  labelled-drop pages the model drops that rules keep: {s['drops_model_adds']}; "
          f"labelled-keep pages it drops that rules keep: {s['keeps_model_loses']}  (of {s['labelled']})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="labelled folder laid out like ../shared/realweb")
    parser.add_argument("--extra-labels", type=Path, help="folder of more label files (*.jsonl)")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "zh.yaml")
    parser.add_argument("--out", type=Path, required=True, help="folder for the model and metrics.json")
    parser.add_argument("--bits", type=int, default=18)
    parser.add_argument("--orders", default="1,2,3")
    parser.add_argument("--c", type=float, nargs="+", default=[1.0], help="regularisation C values to compare")
    parser.add_argument("--keep-recall", type=float, default=0.97,
                        help="share of the labelled keep pages that the rules keep which the model must keep too")
    parser.add_argument("--cache", type=Path, help="JSON file (outside the repo) keeping the stages' output between runs")
    parser.add_argument("--install", action="store_true", help=f"copy the model to {SHIPPED_MODEL}")
    args = parser.parse_args()
    if not (args.folder / "labels").is_dir():
        sys.exit(f"{args.folder}: no labels/ folder (expected the layout of ../shared/realweb)")
    orders = tuple(int(n) for n in args.orders.split(","))
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    pages = load_pages(args.folder, args.extra_labels)
    print(f"{len(pages)} labelled pages: " + ", ".join(f"{s} {n}" for s, n in Counter(p.source for p in pages).items()))
    cached = json.loads(args.cache.read_text(encoding="utf-8")) if args.cache and args.cache.exists() else {}
    if all(p.id in cached for p in pages):
        for p in pages:
            p.cleaned, p.rules_reason = cached[p.id]
    else:
        run_rules(pages, args.config)
        if args.cache:
            args.cache.write_text(json.dumps({p.id: [p.cleaned, p.rules_reason] for p in pages}, ensure_ascii=False))
    print(f"stages up to quality: {time.perf_counter() - started:.0f} s")
    y = np.array([int(p.keep) for p in pages])
    groups = np.array([p.group for p in pages])
    rules_drop = np.array([p.rules_reason is not None for p in pages])
    # What the stage scores: a page that is largely program code is scored on its prose.
    stage_params = [s.params for s in load_config(args.config).stages if s.type == "quality_model"] or [QualityModelParams()]
    ngrams, dense = featurise(prose_for_scoring([p.cleaned for p in pages], stage_params[0].code_share), args.bits, orders)

    results: dict = {"bits": args.bits, "orders": list(orders), "config": str(args.config), "cv": {}}
    best_c, best_auc, best_scores = None, -1.0, None
    for c in args.c:
        scores = cross_validated(ngrams, dense, y, groups, c)
        value = auc(y, scores)
        print(f"C={c}: grouped 5-fold AUC {value:.4f}")
        results["cv"][str(c)] = round(value, 4)
        if value > best_auc:
            best_c, best_auc, best_scores = c, value, scores
    t = choose_threshold(y, best_scores, rules_drop, args.keep_recall)
    cv = summary(pages, y, best_scores, rules_drop, t)
    print_summary(f"grouped 5-fold CV, C={best_c}", cv)
    table = recall_table(pages, y, best_scores, rules_drop, t)
    print(f"{'share dropped':<28}{'n':>5}{'rules':>8}{'model':>8}{'both':>8}")
    for name, row in table.items():
        print(f"  {name:<26}{row['n']:>5}{row['rules']:>8.3f}{row['model']:>8.3f}{row['rules+model']:>8.3f}")
    results.update(best_c=best_c, cross_validated=cv, by_category=table)

    # Across sources: train on one kind of page, test on the other.
    sources = np.array([p.source for p in pages])
    html = np.isin(sources, ["html_pages", "magichtml"])
    results["cross_source"] = {}
    for name, train, test in (("dureader->html", sources == "dureader", html), ("html->dureader", html, sources == "dureader")):
        model = fit(ngrams[train], dense[train], y[train], best_c)
        s = scores_from(model, ngrams[test], dense[test])
        both = rules_drop[test] | (s < t)
        yt = y[test]
        results["cross_source"][name] = {
            "auc": round(auc(yt, s), 4),
            "keep_recall": round(float(1 - both[yt == 1].mean()), 4),
            "drop_recall": round(float(both[yt == 0].mean()), 4),
        }
        print(f"{name}: {results['cross_source'][name]} (rules + model at {t})")

    final = fit(ngrams, dense, y, best_c)
    final.orders = orders
    final.meta = {
        "threshold": t,
        "trained_on": {s: int((sources == s).sum()) for s in sorted(set(sources))},
        "labelled": cv["labelled"],
        "cv_auc": cv["auc"],
        "c": best_c,
    }
    model_path = args.out / "quality_model.npz"
    final.save(model_path)
    (args.out / "metrics.json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (args.out / "oof_scores.jsonl").write_text(
        "".join(json.dumps({"id": p.id, "source": p.source, "keep": p.keep, "category": p.category, "score": round(float(s), 4),
                            "rules_reason": p.rules_reason}, ensure_ascii=False) + "\n" for p, s in zip(pages, best_scores)),
        encoding="utf-8",
    )  # fmt: skip
    print(f"\nmodel {model_path} ({model_path.stat().st_size / 1e6:.1f} MB), metrics {args.out / 'metrics.json'}; "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    if args.install:
        shutil.copyfile(model_path, SHIPPED_MODEL)
        print(f"installed as {SHIPPED_MODEL}")


if __name__ == "__main__":
    main()
