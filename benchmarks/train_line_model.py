"""Train the quality stage's line model on real pages read line by line; cross-validate; write the model.

Reads a folder laid out like `../shared/realweb`:
  text/dureader_search.jsonl + labels/dureader.jsonl   junk lines of every page labelled keep (0-based line numbers)
  html/page_text.jsonl + html/main_content.jsonl      a page line is text when it is part of the true main content
  html/page_text.jsonl + --extra-labels DIR            junk lines of other HTML pages labelled keep, read line by
                                                       line (`*.jsonl` with the fields of labels/dureader.jsonl;
                                                       the repository's are in benchmarks/labels/)
  text/crud_rag_news.jsonl                            unlabelled here; counted with the others for line_frequency
All pages go through the recipe's stages before `quality` in process (line_frequency decided over all of
them, as one build would), then the quality stage's line rules with the line model off: the model learns
from what the rules decided, as it runs. Scored are the lines it will score at run time (up to
MAX_SCORED_CHARS, kept by the rules or removed by a reversible rule); labels are 1 = junk.

Grouped 5-fold cross-validation (a question's answer pages, or a site's pages, never on both sides), then
the grid of thresholds with the figures `benchmarks/eval_realweb.py` reports: junk lines removed and good
lines removed (dureader), main-content characters kept and other characters removed (main_content pages),
for the rules alone and rules + model. A final model on everything is written to --out (and with
--install to builder/stages/models/line_model.npz).

    PYTHONPATH=$PWD /work/venv/bin/python benchmarks/train_line_model.py ../shared/realweb \\
        --extra-labels benchmarks/labels --out /tmp/line-model

Needs the `train` extra (scikit-learn). Page text never enters the repository; labels made here do, as ids
and line numbers (benchmarks/labels/).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval_realweb import fingerprint, main_line_labels
from recipe_in_process import run_stages, stages_until
from train_quality_model import dureader_group, host_group, read_extra_labels, read_jsonl

from builder.stages.quality.line_model import (
    NGRAM_BITS,
    NGRAM_ORDERS,
    SHIPPED_LINE_MODEL,
    LineModel,
    TreeEnsemble,
    candidate_lines,
    line_features,
)
from builder.stages.quality.ngrams import BatchPoints, hashed_ngrams

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Lines:
    """Labelled lines of the pages, with what the rules did and the model's features."""

    features: np.ndarray
    junk: np.ndarray  # bool
    rule: np.ndarray  # the rules' decision ("" keeps), or "line_frequency"
    chars: np.ndarray  # fingerprint characters, for the character figures
    scored: np.ndarray  # bool: a line the model scores at run time (`candidate_lines`)
    text: list[str]  # the line as the rules read it (for its n-grams)
    source: np.ndarray  # dureader | main_content
    group: np.ndarray


def collect(folder: Path, config_path: Path, extra: Path | None = None) -> Lines:
    dureader = read_jsonl(folder / "text" / "dureader_search.jsonl")
    labels = {r["id"]: r for r in read_jsonl(folder / "labels" / "dureader.jsonl")}
    html_lines = {i: r for i, r in read_extra_labels(extra).items() if r["doc_label"] == "keep" and "junk_lines" in r}
    page_text = read_jsonl(folder / "html" / "page_text.jsonl")
    main = {Path(r["file"]).stem: r["main_content"] for r in read_jsonl(folder / "html" / "main_content.jsonl")}
    news_path = folder / "text" / "crud_rag_news.jsonl"
    news = read_jsonl(news_path) if news_path.exists() else []
    docs = dureader + page_text + news
    stages, quality = stages_until(config_path, "quality", annotate=True, line_model=None)
    before = run_stages(stages, docs)
    globally_removed = before.removed_lines
    texts, lines = quality.judge_lines(before.texts, Counter())
    features = line_features(lines)
    candidates = np.zeros(lines.n_lines, dtype=bool)
    candidates[candidate_lines(lines, quality.clean_lines.params.rules)] = True
    rows: dict[str, list] = {name: [] for name in ("features", "junk", "rule", "chars", "scored", "text", "source", "group")}
    skipped = 0
    for doc, record in enumerate(docs):
        original = record["text"].split("\n")
        if doc < len(dureader):
            label = labels.get(record["id"])
            if not label or label["doc_label"] != "keep":
                continue
            junk_lines = set(label["junk_lines"])
            junk = [k in junk_lines for k in range(len(original))]
            source, group = "dureader", dureader_group(record)
        elif record["id"] in main:
            junk = [not is_main for is_main in main_line_labels(original, main[record["id"]])]
            source, group = "main_content", host_group(record.get("url"), record["id"])
        elif record["id"] in html_lines:
            junk_lines = set(html_lines[record["id"]]["junk_lines"])
            junk = [k in junk_lines for k in range(len(original))]
            source, group = "html_lines", host_group(record.get("url"), record["id"])
        else:
            continue
        first, last = int(lines.first_line[doc]), int(lines.first_line[doc + 1])
        if last - first != len(original):  # a stage split or joined lines: labels no longer line up
            skipped += 1
            continue
        for k, line in enumerate(original):
            chars = len(fingerprint(line))
            if not chars:
                continue
            rule = "line_frequency" if k in globally_removed[doc] else str(lines.rule[first + k])
            rows["features"].append(features[first + k])
            rows["junk"].append(junk[k])
            rows["rule"].append(rule)
            rows["chars"].append(chars)
            rows["scored"].append(bool(candidates[first + k]) and k not in globally_removed[doc])
            rows["text"].append(lines.joined[lines.line_start[first + k] : lines.line_end[first + k]])
            rows["source"].append(source)
            rows["group"].append(group)
    print(f"{len(rows['junk'])} labelled lines; {skipped} pages skipped (lines split or joined by a stage)")
    return Lines(
        features=np.array(rows["features"]), junk=np.array(rows["junk"]), rule=np.array(rows["rule"]),
        chars=np.array(rows["chars"]), scored=np.array(rows["scored"]), text=rows["text"], source=np.array(rows["source"]), group=np.array(rows["group"]),
    )  # fmt: skip


def fit(features: np.ndarray, junk: np.ndarray, trees: int, leaves: int, depth: int, learning_rate: float):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=trees, learning_rate=learning_rate, max_leaf_nodes=leaves, max_depth=depth, min_samples_leaf=20,
        l2_regularization=1.0, early_stopping=False, random_state=0,
    ).fit(features, junk)  # fmt: skip


def ngram_matrix(texts: list[str]):
    from scipy import sparse

    grams = hashed_ngrams(BatchPoints.from_texts(texts), NGRAM_ORDERS, NGRAM_BITS)
    matrix = sparse.csr_matrix((grams.value, (grams.doc, grams.bucket)), shape=(len(texts), 1 << NGRAM_BITS))
    matrix.sum_duplicates()
    return matrix


def fit_ngrams(matrix, junk: np.ndarray) -> np.ndarray:
    """Weights of a logistic regression over the hashed n-grams alone, rounded as shipped (float16).
    The n-gram values sum to one per order and line: scaled up x10 before the L2-regularised fit."""
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=1.0, solver="liblinear", max_iter=1000, random_state=0).fit(matrix * 10.0, junk)
    return (classifier.coef_[0] * 10.0).astype(np.float16).astype(np.float32)


def with_ngram_scores(features: np.ndarray, matrix, weights: np.ndarray) -> np.ndarray:
    out = features.copy()
    out[:, -1] = matrix @ weights.astype(np.float64)
    return out


def stacked_features(features: np.ndarray, matrix, junk: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """The features with each line's n-gram score from weights fitted without its group (out of fold)."""
    from sklearn.model_selection import StratifiedGroupKFold

    out = features.copy()
    for train, test in StratifiedGroupKFold(n_splits=4, shuffle=True, random_state=seed).split(features, junk, groups):
        out[test, -1] = matrix[test] @ fit_ngrams(matrix[train], junk[train]).astype(np.float64)
    return out


def export(classifier) -> TreeEnsemble:
    """sklearn's fitted trees as flat arrays, numbered breadth first so that a node's children are
    adjacent (right = left + 1); leaves point to themselves with an infinite threshold."""
    feature, threshold, left, value, roots = [], [], [], [], []
    depth = 0
    for (predictor,) in classifier._predictors:
        nodes = predictor.nodes
        base = len(feature)
        roots.append(base)
        order, number = [0], {0: 0}
        for node in order:  # grows while walked: breadth first, children numbered in pairs
            if not nodes[node]["is_leaf"]:
                for child in (int(nodes[node]["left"]), int(nodes[node]["right"])):
                    number[child] = len(order)
                    order.append(child)
        for node in order:
            record = nodes[node]
            if record["is_leaf"]:
                feature.append(0), threshold.append(np.inf), left.append(base + number[node]), value.append(float(record["value"]))
            else:
                feature.append(int(record["feature_idx"])), threshold.append(float(record["num_threshold"]))
                left.append(base + number[int(record["left"])]), value.append(0.0)
            depth = max(depth, int(record["depth"]))
    return TreeEnsemble(
        feature=np.array(feature, dtype=np.int64), threshold=np.array(threshold), left=np.array(left, dtype=np.int64),
        value=np.array(value), roots=np.array(roots, dtype=np.int64), depth=depth,
        baseline=float(np.ravel(classifier._baseline_prediction)[0]),
    )  # fmt: skip


def figures(lines: Lines, removed: np.ndarray) -> dict:
    """Junk and good lines removed per source whose lines were read (DuReader, and HTML pages from
    --extra-labels), main-content characters kept and other characters removed (annotated pages)."""
    share = lambda part, whole: round(float(part.sum() / max(whole.sum(), 1)), 4)  # noqa: E731
    out = {}
    for source, name in (("dureader", "dureader"), ("html_lines", "html")):
        d = lines.source == source
        if d.any():
            out[f"{name}_junk_removed"] = share(removed & d & lines.junk, d & lines.junk)
            out[f"{name}_good_removed"] = share(removed & d & ~lines.junk, d & ~lines.junk)
    m = lines.source == "main_content"
    out["main_chars_kept"] = share(lines.chars * (~removed & m & ~lines.junk), lines.chars * (m & ~lines.junk))
    out["other_chars_removed"] = share(lines.chars * (removed & m & lines.junk), lines.chars * (m & lines.junk))
    return out


def decisions(lines: Lines, junk_probability: np.ndarray, remove_above: float, restore_below: float) -> np.ndarray:
    removed = lines.rule != ""
    scored = lines.scored
    removed = removed | (scored & (lines.rule == "") & (junk_probability > remove_above))
    return removed & ~(scored & (lines.rule != "") & (junk_probability < restore_below))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="labelled folder laid out like ../shared/realweb")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "zh.yaml")
    parser.add_argument("--out", type=Path, required=True, help="folder for line_model.npz and metrics.json")
    parser.add_argument("--extra-labels", type=Path, help="folder of label files (*.jsonl) with junk lines of HTML pages")
    parser.add_argument("--trees", type=int, default=80)
    parser.add_argument("--leaves", type=int, default=15)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--learning-rate", type=float, default=0.2)
    parser.add_argument("--remove-above", type=float, default=0.9)
    parser.add_argument("--restore-below", type=float, default=0.3)
    parser.add_argument("--install", action="store_true", help=f"copy the model to {SHIPPED_LINE_MODEL}")
    args = parser.parse_args()
    if not (args.folder / "labels").is_dir():
        sys.exit(f"{args.folder}: no labels/ folder (expected the layout of ../shared/realweb)")
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    lines = collect(args.folder, args.config, args.extra_labels)
    scored = np.flatnonzero(lines.scored)
    x, y, groups = lines.features[scored], lines.junk[scored], lines.group[scored]
    grams = ngram_matrix([lines.text[i] for i in scored])
    print(f"{len(scored)} lines scored at run time ({int(y.sum())} junk); stages: {time.perf_counter() - started:.0f} s")
    oof = np.zeros(len(scored))
    for fold, (train, test) in enumerate(StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0).split(x, y, groups)):
        # Nested: the trees learn from n-gram scores of lines the n-gram weights never saw, as at run time.
        x_train = stacked_features(x[train], grams[train], y[train], groups[train], seed=fold + 1)
        x_test = with_ngram_scores(x[test], grams[test], fit_ngrams(grams[train], y[train]))
        oof[test] = fit(x_train, y[train], args.trees, args.leaves, args.depth, args.learning_rate).predict_proba(x_test)[:, 1]
    probability = np.zeros(len(lines.junk))
    probability[scored] = oof
    sources = [s for s in ("dureader", "main_content", "html_lines") if (lines.source[scored] == s).any()]
    auc = {s: round(float(roc_auc_score(y[lines.source[scored] == s], oof[lines.source[scored] == s])), 4) for s in sources}
    print(f"grouped 5-fold AUC on scored lines: {round(float(roc_auc_score(y, oof)), 4)} {auc}")
    grid = {"rules": figures(lines, lines.rule != "")}
    print(f"{'remove_above':>12} {'restore_below':>13}  " + "  ".join(f"{name[:9]:>9}" for name in grid["rules"]))
    print(f"{'rules only':>27}  " + "  ".join(f"{v:9.1%}" for v in grid["rules"].values()))
    for remove_above in (0.8, 0.85, 0.9, 0.95):
        for restore_below in (0.0, 0.1, 0.2, 0.3):
            f = figures(lines, decisions(lines, probability, remove_above, restore_below))
            grid[f"{remove_above}/{restore_below}"] = f
            print(f"{remove_above:>12} {restore_below:>13}  " + "  ".join(f"{v:9.1%}" for v in f.values()))
    chosen = grid[f"{args.remove_above}/{args.restore_below}"] if f"{args.remove_above}/{args.restore_below}" in grid else figures(
        lines, decisions(lines, probability, args.remove_above, args.restore_below))  # fmt: skip
    meta = {
        "trained_on": {s: int((lines.source[scored] == s).sum()) for s in sources},
        "junk_lines": int(y.sum()), "cv_auc": auc, "remove_above": args.remove_above, "restore_below": args.restore_below,
        "cv_figures": {"rules": grid["rules"], "rules+model": chosen},
        "trees": args.trees, "leaves": args.leaves, "depth": args.depth, "learning_rate": args.learning_rate,
        "config": str(args.config.resolve().relative_to(REPO)) if args.config.resolve().is_relative_to(REPO) else args.config.name,
    }  # fmt: skip
    x_all = stacked_features(x, grams, y, groups, seed=0)
    classifier = fit(x_all, y, args.trees, args.leaves, args.depth, args.learning_rate)
    model = LineModel(export(classifier), fit_ngrams(grams, y), meta)
    if not np.allclose(model.trees.logits(x_all), classifier.decision_function(x_all), atol=1e-6):
        sys.exit("the exported trees do not reproduce scikit-learn's scores: check export() against this scikit-learn")
    path = args.out / "line_model.npz"
    model.save(path)
    (args.out / "metrics.json").write_text(json.dumps({"grid": grid, **meta}, indent=1) + "\n", encoding="utf-8")
    print(f"model {path} ({path.stat().st_size / 1e3:.0f} kB, {len(model.trees.roots)} trees, depth {model.trees.depth}); "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    if args.install:
        shutil.copyfile(path, SHIPPED_LINE_MODEL)
        print(f"installed as {SHIPPED_LINE_MODEL}")


if __name__ == "__main__":
    main()
