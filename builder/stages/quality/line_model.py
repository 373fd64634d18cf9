"""A learned second opinion on each line, from its shape and its neighbours'.

The line rules see one line at a time (plus the `context` rule's look at short runs). Boilerplate
a reader recognises is often only recognisable in context: a teaser headline among other
headlines, a disclaimer under an answer, a `相关专家解答` between a removed byline and a list.
jusText and boilerpipe judge a block by its own text density and that of its neighbours; this
does the same with a small gradient-boosted tree ensemble trained on real pages read line by
line (`benchmarks/train_line_model.py`, card in `models/QUALITY_MODEL.md`).

Features (`LINE_FEATURES`), all from the arrays `BatchLines` already holds, so a batch costs a
few vector operations per line plus one gather per tree level:
- the line itself: length, Han / digit shares, sentence and clause marks, separators, spaces, and
  how much of its Han text is function words (的、了、是、在… are dense in prose, absent from
  menus, headlines and tags);
- the two non-blank lines above and below: the same few signals and whether a rule removed them;
- where it stands: position among the page's lines, its share of the page, the share of the
  page the rules removed, the run of list-like lines it belongs to;
- the page around it, wider: the share of removed lines within 3 and 8 lines, how far up and down the
  nearest text line is (a kept line of TEXT_LINE_MIN_CHARS+ characters ending a sentence), how much text
  the page has, the share of text lines within 8 lines;
- its topic against the page's (cohesion): the share of its Han bigrams that stand in other kept
  lines, and in other text lines, of the page. A teaser, an ad or a sidebar link is
  about another subject than the article around it; a paragraph shares the article's words;
- its words: a linear score over hashed character 1-3-grams of the line (`下载`, `客户端`, `沙发`,
  `相关推荐` are chrome vocabulary on any site), learned with the trees and fed to them as one more
  feature (stacking), computed only for the lines the model scores.

The model scores the lines the rules keep (removing those it is sure are junk, rule
`line_model`) and the lines the softer rules removed (putting back those it is sure are text).
Scores depend on a line's own document only, so a batch gives each document the same result
as the document alone.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from builder.stages.quality.tables import DIGIT, HAN, SPACE, char_set_table
from builder.stages.models import read_model_arrays
from builder.stages.quality.ngrams import BatchPoints, ngram_scores

# Function words: frequent in running prose, rare in navigation, headlines, tags and field lists.
FUNCTION_WORDS = "的了是在我你他她们有和就不也都这那个吗呢吧啊会要很说对到还把被让给着过而与及其之于以为可"
NEIGHBOUR_OFFSETS = (-2, -1, 1, 2)
OWN_FEATURES = (
    "log_chars", "han_share", "digit_share", "has_sentence_mark", "log_clause_marks", "has_ellipsis",
    "ends_sentence", "log_separators", "log_spaces", "function_word_share", "log_function_words",
)  # fmt: skip
NEIGHBOUR_FEATURES = (
    "exists", "removed", "log_chars", "ends_sentence", "has_sentence_mark", "function_word_share", "log_clause_marks",
)  # fmt: skip
POSITION_FEATURES = (
    "relative_position", "is_first", "is_last", "log_lines", "log_doc_chars", "doc_char_share",
    "doc_removed_share", "log_lines_above", "log_lines_below", "log_list_run",
)  # fmt: skip
# A list item: a line of this few characters without a sentence or clause mark. Teaser lists, menus and
# tag clouds are long runs of them; an article's headings stand alone.
LIST_ITEM_MAX_CHARS = 40
TEXT_LINE_MIN_CHARS = 40
NEAR_WINDOWS = (3, 8)  # lines each side
NO_TEXT_DISTANCE = 1000  # lines to the nearest text line when the page has none that way
PAGE_FEATURES = (
    "removed_share_within_3", "removed_share_within_8", "log_lines_up_to_text", "log_lines_down_to_text",
    "log_page_text_chars", "text_share_within_8",
)  # fmt: skip
COHESION_FEATURES = ("bigrams_in_kept_lines", "bigrams_in_text_lines", "log_han_bigrams")
DOCUMENTS_PER_SORT = 1 << 22  # a bigram key holds the page's number in the batch in 22 bits
NGRAM_FEATURE = "ngram_score"
LINE_FEATURES = (
    OWN_FEATURES
    + tuple(f"{'prev' if k < 0 else 'next'}{abs(k)}_{name}" for k in NEIGHBOUR_OFFSETS for name in NEIGHBOUR_FEATURES)
    + POSITION_FEATURES
    + PAGE_FEATURES
    + COHESION_FEATURES
    + (NGRAM_FEATURE,)
)
NGRAM_ORDERS = (1, 2, 3)
NGRAM_BITS = 18
LINE_MODEL_RULE = "line_model"  # the removal rule of a line the model scores as junk
FORMAT = "zh-corpus-builder/line-model/2"
SHIPPED_LINE_MODEL = Path(__file__).resolve().parents[1] / "models" / "line_model.npz"
# Longer lines are left to the rules: on the labelled pages, lines of 300+ characters are 9% junk
# and the model found almost none of it.
MAX_SCORED_CHARS = 300
# Rules whose removals the model may overturn: shape and context judgements. Spam, repeats,
# keyword salad and lines repeated across pages are certain and stay removed.
REVERSIBLE_RULES = ("context", "nav", "breadcrumb", "metadata", "product", "symbols", "prompt", "pagination")


class LineModelFileError(ValueError):
    """A line model file that is missing or not a line model; the message names the file."""


def line_features(lines) -> np.ndarray:
    """One row of LINE_FEATURES per line of a `BatchLines` (float64); blank lines get zeros, and so does
    the n-gram score, which `LineModel.logits` fills in for the lines it scores."""
    n = lines.n_lines
    chars = lines.visible.astype(np.float64)
    safe_chars = np.maximum(chars, 1)
    han = lines.han.astype(np.float64)
    function_words = np.bincount(
        lines.line_of_char[char_set_table(FUNCTION_WORDS).take(lines.points)], minlength=n
    ).astype(np.float64)
    function_share = function_words / np.maximum(han, 1)
    has_mark = (lines.sentence_marks > 0).astype(np.float64)
    log_clauses = np.log1p(lines.clause_marks.astype(np.float64))
    ends = lines.ends_sentence.astype(np.float64)
    removed = (lines.rule != "").astype(np.float64)
    own = [
        np.log1p(chars), han / safe_chars, lines.counts[:, DIGIT] / safe_chars, has_mark, log_clauses,
        (lines.ellipses > 0).astype(np.float64), ends, np.log1p(lines.separators.astype(np.float64)),
        np.log1p(lines.counts[:, SPACE].astype(np.float64)), function_share, np.log1p(function_words),
    ]  # fmt: skip
    nonblank = np.flatnonzero(chars > 0)
    if not len(nonblank):
        return np.zeros((n, len(LINE_FEATURES)))
    doc = lines.doc_of_line[nonblank]
    n_docs = len(lines.first_line) - 1
    per_line = np.stack([np.ones(n), removed, np.log1p(chars), ends, has_mark, function_share, log_clauses], axis=1)
    neighbours = []
    for offset in NEIGHBOUR_OFFSETS:
        at = np.arange(len(nonblank)) + offset
        inside = (at >= 0) & (at < len(nonblank))
        at = np.clip(at, 0, len(nonblank) - 1)
        inside &= doc[at] == doc
        values = np.zeros((n, len(NEIGHBOUR_FEATURES)))
        values[nonblank] = per_line[nonblank[at]] * inside[:, None]
        neighbours.append(values)
    lines_in_doc = np.bincount(doc, minlength=n_docs)
    first_of_doc = np.concatenate(([0], np.cumsum(lines_in_doc)))[:-1]
    position = np.zeros(n)
    total = np.zeros(n)
    position[nonblank] = np.arange(len(nonblank)) - first_of_doc[doc]
    total[nonblank] = lines_in_doc[doc]
    doc_of_line = lines.doc_of_line
    doc_chars = np.bincount(doc_of_line, weights=chars, minlength=n_docs)[doc_of_line]
    doc_removed = np.bincount(doc_of_line, weights=chars * removed, minlength=n_docs)[doc_of_line]
    safe_doc_chars = np.maximum(doc_chars, 1)
    below = np.maximum(total - 1 - position, 0)
    item = (chars[nonblank] <= LIST_ITEM_MAX_CHARS) & (lines.sentence_marks[nonblank] == 0) & (lines.clause_marks[nonblank] == 0)
    list_run = np.zeros(n)
    list_run[nonblank] = _run_lengths(item, doc)
    placed = [
        position / np.maximum(total - 1, 1), (position == 0) & (total > 0), (below == 0) & (total > 0),
        np.log1p(total), np.log1p(doc_chars), chars / safe_doc_chars, doc_removed / safe_doc_chars,
        np.log1p(position), np.log1p(below), np.log1p(list_run),
    ]  # fmt: skip
    text = (removed == 0) & (chars >= TEXT_LINE_MIN_CHARS) & lines.ends_sentence
    page = _page_features(removed[nonblank], text[nonblank], chars[nonblank], doc, first_of_doc[doc], lines_in_doc[doc])
    around = np.zeros((n, len(PAGE_FEATURES)))
    around[nonblank] = page
    cohesion = _cohesion_features(lines, removed == 0, text)
    columns = [*own, *neighbours, *(np.asarray(column, dtype=np.float64) for column in placed)]
    features = np.column_stack([*columns, around, cohesion, np.zeros(n)])
    features[chars == 0] = 0.0
    return features


def _page_features(
    removed: np.ndarray, text: np.ndarray, chars: np.ndarray, doc: np.ndarray, doc_start: np.ndarray, doc_lines: np.ndarray
) -> np.ndarray:
    """PAGE_FEATURES of the non-blank lines (in page order, with their document, its first line's index
    among them and its number of them)."""
    m = len(doc)
    index = np.arange(m)
    doc_end = doc_start + doc_lines
    last_text = np.maximum.accumulate(np.where(text, index, -1))
    next_text = np.minimum.accumulate(np.where(text, index, m)[::-1])[::-1]
    above = np.concatenate(([-1], last_text[:-1]))
    below = np.concatenate((next_text[1:], [m]))
    return np.column_stack([
        *(_share_nearby(removed, index, doc_start, doc_end, width, alone=0.5) for width in NEAR_WINDOWS),
        np.log1p(np.where(above >= doc_start, index - above, NO_TEXT_DISTANCE)),
        np.log1p(np.where(below < doc_end, below - index, NO_TEXT_DISTANCE)),
        np.log1p(np.bincount(doc, weights=chars * text))[doc],
        _share_nearby(text, index, doc_start, doc_end, NEAR_WINDOWS[-1], alone=0.0),
    ])  # fmt: skip


def _share_nearby(flag: np.ndarray, index: np.ndarray, doc_start: np.ndarray, doc_end: np.ndarray, width: int, alone: float) -> np.ndarray:
    """Share of the other lines of its page within `width` lines of each line that are `flag`ged (`alone` if none)."""
    running = np.concatenate(([0.0], np.cumsum(flag)))
    lo, hi = np.maximum(index - width, doc_start), np.minimum(index + width + 1, doc_end)
    others = hi - lo - 1
    return np.where(others > 0, (running[hi] - running[lo] - flag) / np.maximum(others, 1), alone)


def _cohesion_features(lines, kept: np.ndarray, text: np.ndarray) -> np.ndarray:
    """COHESION_FEATURES of every line (-1 for a share where the line has no Han bigram)."""
    grams, shares = _bigram_shares_elsewhere(lines, np.column_stack([kept, text]))
    return np.column_stack([shares, np.log1p(grams)])


def _bigram_shares_elsewhere(lines, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Han bigrams of each line, and per source (a column of `sources`, a mask of lines) the
    share of each line's Han bigrams that also stand in a source line of its page other than itself
    (-1 for a line without a Han bigram).

    Exact (document, bigram) keys, sorted: a bigram stands in another source line when the smallest
    or the largest source line of its group is not its own. A line's result depends on its own page
    only, whatever else is in the batch."""
    n = lines.n_lines
    han_at = np.flatnonzero(lines.classes == HAN)
    line_of = lines.line_of_char[han_at]
    pair = np.flatnonzero((han_at[1:] == han_at[:-1] + 1) & (line_of[1:] == line_of[:-1]))
    line = line_of[pair].astype(np.int64)
    grams = np.bincount(line, minlength=n)
    shares = np.full((n, sources.shape[1]), -1.0)
    if not len(pair):
        return grams, shares
    points = lines.folded_points[han_at].astype(np.uint64)
    doc = lines.doc_of_line[line]
    found = np.zeros((n, sources.shape[1]))
    # Han code points fit in 21 bits, so (document, first, second) is exact in 64 bits for 2**22 documents at a time.
    for lo in range(0, int(doc[-1]) + 1, DOCUMENTS_PER_SORT):
        part = slice(np.searchsorted(doc, lo), np.searchsorted(doc, lo + DOCUMENTS_PER_SORT))
        first = pair[part]
        if not len(first):
            continue
        keys = ((doc[part] - lo).astype(np.uint64) << np.uint64(42)) | (points[first] << np.uint64(21)) | points[first + 1]
        found += _found_elsewhere(keys, line[part], sources, n)
    has = grams > 0
    shares[has] = found[has] / grams[has, None]
    return grams, shares


def _found_elsewhere(keys: np.ndarray, line: np.ndarray, sources: np.ndarray, n: int) -> np.ndarray:
    """Per line and source, how many of its n-grams (`keys`, each in `line`) stand in another source line:
    one sort of the keys, then the smallest and largest source line of each group of equal keys."""
    order = np.argsort(keys)
    sorted_keys = keys[order]
    starts_group = np.empty(len(order), dtype=bool)
    starts_group[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts_group[1:])
    group_start = np.flatnonzero(starts_group)
    group = np.cumsum(starts_group) - 1
    sorted_lines = line[order]
    found = np.zeros((n, sources.shape[1]))
    for column in range(sources.shape[1]):
        in_source = sources[sorted_lines, column]
        lowest = np.minimum.reduceat(np.where(in_source, sorted_lines, n), group_start)[group]
        highest = np.maximum.reduceat(np.where(in_source, sorted_lines, -1), group_start)[group]
        found[:, column] = np.bincount(sorted_lines, weights=(lowest < sorted_lines) | (highest > sorted_lines), minlength=n)
    return found


def _run_lengths(flag: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """For each position, the length of the run of consecutive `flag` positions of one document it is in (0 if not flagged)."""
    breaks = np.flatnonzero(np.concatenate(([True], (flag[1:] != flag[:-1]) | (doc[1:] != doc[:-1]), [True])))
    lengths = np.diff(breaks)
    return np.repeat(lengths, lengths) * flag


@dataclass
class TreeEnsemble:
    """Gradient-boosted regression trees as flat node arrays; the logit is the sum of one leaf per tree.

    A node's children are adjacent: a row goes to `left[node]` when its feature is <= the node's
    threshold and to `left[node] + 1` otherwise. A leaf points to itself with an infinite
    threshold, so walking `depth` levels from each root ends on a leaf for every row, with one
    packed gather (feature and child) and one comparison per level and no branch.
    """

    feature: np.ndarray  # int64 per node
    threshold: np.ndarray  # float64 per node
    left: np.ndarray  # int64 per node (global index of the left child; the right one follows it)
    value: np.ndarray  # float64 per node (leaf values; 0 elsewhere)
    roots: np.ndarray  # int64 per tree
    depth: int
    baseline: float

    def __post_init__(self) -> None:
        self._packed = (self.feature.astype(np.int64) << 32) | self.left.astype(np.int64)

    def logits(self, features: np.ndarray, rows_per_chunk: int = 4096) -> np.ndarray:
        out = np.full(len(features), self.baseline)
        n_features = features.shape[1] if features.ndim == 2 else 0
        for start in range(0, len(features), rows_per_chunk):  # bounds the (rows x trees) node table
            chunk = np.ascontiguousarray(features[start : start + rows_per_chunk], dtype=np.float64)
            flat = chunk.ravel()
            row_base = (np.arange(len(chunk), dtype=np.int64) * n_features)[:, None]
            node = np.broadcast_to(self.roots, (len(chunk), len(self.roots))).copy()
            for _ in range(self.depth):
                packed = self._packed[node]
                node = (packed & 0xFFFFFFFF) + (flat[row_base + (packed >> 32)] > self.threshold[node])
            leaves = self.value[node]
            for tree in range(len(self.roots)):  # tree by tree: the same additions in the same order for any batch
                out[start : start + len(chunk)] += leaves[:, tree]
        return out



@dataclass
class LineModel:
    """The trees and the n-gram weights whose score is their last feature."""

    trees: TreeEnsemble
    ngram_weights: np.ndarray  # float32, one per hash bucket (stored as float16)
    meta: dict = field(default_factory=dict)

    def logits(self, lines, rows: np.ndarray) -> np.ndarray:
        """Junk logits of lines `rows` of a `BatchLines`."""
        features = line_features(lines)[rows]
        features[:, -1] = line_ngram_scores(lines, rows, self.ngram_weights)
        return self.trees.logits(features)

    def save(self, path: Path) -> None:
        meta = {**self.meta, "format": FORMAT, "features": list(LINE_FEATURES), "orders": list(NGRAM_ORDERS), "bits": NGRAM_BITS}
        t = self.trees
        np.savez_compressed(
            path, feature=t.feature.astype(np.int32), threshold=t.threshold, left=t.left.astype(np.int32),
            value=t.value, roots=t.roots.astype(np.int32), depth=np.array(t.depth), baseline=np.array(t.baseline),
            ngram_weights=self.ngram_weights.astype(np.float16),
            meta=np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
        )  # fmt: skip


def line_ngram_scores(lines, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The mean n-gram weight (summed over orders) of each line in `rows`, each line scored on its own text."""
    points = BatchPoints.from_ranges(lines.points, lines.line_start[rows], lines.line_end[rows])
    return ngram_scores(points, NGRAM_ORDERS, NGRAM_BITS, weights)


def candidate_lines(lines, rules: frozenset[str]) -> np.ndarray:
    """The lines the model scores: non-blank, up to MAX_SCORED_CHARS, kept by the rules or removed by a reversible
    rule, not a page's code (it learned prose and chrome)."""
    reversible = np.isin(lines.rule, [rule for rule in REVERSIBLE_RULES if rule in rules])
    return np.flatnonzero(
        (lines.visible > 0) & (lines.visible <= MAX_SCORED_CHARS) & ((lines.rule == "") | reversible) & ~lines.code_block
    )


@lru_cache(maxsize=4)
def load_line_model(path: str) -> LineModel:
    """Read a line model once per process; every error names the file and what is wrong."""
    needed = {"feature", "threshold", "left", "value", "roots", "depth", "baseline", "ngram_weights"}
    arrays, meta = read_model_arrays(path, needed, FORMAT, LineModelFileError, "line model")
    if meta.get("features") != list(LINE_FEATURES):
        theirs = list(meta.get("features") or [])
        differ = sorted(set(theirs) ^ set(LINE_FEATURES)) or ["(same names, other order)"]
        raise LineModelFileError(
            f"line model file {path} was trained on other features than this version computes ({', '.join(differ[:5])}); "
            "retrain it with benchmarks/train_line_model.py"
        )
    if arrays["ngram_weights"].shape != (1 << NGRAM_BITS,):
        raise LineModelFileError(f"line model file {path}: ngram_weights has shape {arrays['ngram_weights'].shape}")
    n_nodes = len(arrays["feature"])
    for name in ("threshold", "left", "value"):
        if arrays[name].shape != (n_nodes,):
            raise LineModelFileError(f"line model file {path}: {name} has shape {arrays[name].shape}, expected ({n_nodes},)")
    reach = arrays["left"] + np.isfinite(arrays["threshold"])  # an inner node's right child follows its left one
    if n_nodes and (arrays["feature"].min() < 0 or arrays["feature"].max() >= len(LINE_FEATURES)
                    or arrays["left"].min() < 0 or reach.max() >= n_nodes):  # fmt: skip
        raise LineModelFileError(f"line model file {path}: node arrays point outside the model")
    trees = TreeEnsemble(
        feature=arrays["feature"].astype(np.int64), threshold=arrays["threshold"].astype(np.float64),
        left=arrays["left"].astype(np.int64), value=arrays["value"].astype(np.float64),
        roots=arrays["roots"].astype(np.int64), depth=int(arrays["depth"]), baseline=float(arrays["baseline"]),
    )  # fmt: skip
    return LineModel(trees, arrays["ngram_weights"].astype(np.float32), meta)


def logit(probability: float) -> float:
    return float(np.log(probability) - np.log1p(-probability))


def apply_line_model(lines, model: LineModel, remove_above: float, restore_below: float, rules: frozenset[str]) -> None:
    """Remove kept lines the model scores as junk above `remove_above`; put back lines a reversible rule
    removed that score below `restore_below` (0 turns that off)."""
    candidates = candidate_lines(lines, rules)
    if not len(candidates):
        return
    scores = model.logits(lines, candidates)
    kept = lines.rule[candidates] == ""
    if remove_above < 1:
        lines.rule[candidates[kept & (scores > logit(remove_above))]] = LINE_MODEL_RULE
    if restore_below > 0:
        lines.rule[candidates[~kept & (scores < logit(restore_below))]] = ""
