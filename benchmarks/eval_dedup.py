"""Precision and recall of `dedup` on near copies of real Chinese text with known true Jaccard.

Sources are real documents from the bench corpus; each gets near copies made with the edits
a web corpus is full of: boilerplate sentences inserted (real sentences from the langid
set), paragraphs deleted, dates and numbers changed, 5-30% of characters changed (scattered
or in runs), and a re-typeset mirror (width and whitespace only, an exact duplicate).

Ground truth is exact: the true Jaccard of the character n-gram sets (of the same
comparison key the stage uses) is computed for EVERY pair of the test set at or above 0.5,
by a prefix-filtered similarity join (two sets with Jaccard >= t must share one of the
rarest |A| - ceil(t|A|) + 1 shingles of each), not only for source/copy pairs: the bench
corpus has duplicates of its own.

- precision: of the (dropped, kept) pairs the stage reports, the share whose true Jaccard is
  at or above the threshold;
- recall: of all pairs at or above the threshold, the share of which the output no longer
  holds both documents (also shown: the share put in one group, where both resolve to the
  same kept document through their chains of drops).
Also runs the stage on the whole bench corpus and checks each pair it reports there.

    /work/venv/bin/python benchmarks/eval_dedup.py [--bench ../shared/bench/zh-bench-20mb.jsonl.gz] \
        [--sentences ../shared/langid/sentences/zh.txt] [--sources 800]
"""
from __future__ import annotations

import argparse
import math
import random
import re
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

from builder.stages import Batch, GlobalContext, Keys
from builder.stages.dedup import Dedup, DedupParams, comparison_keys
from builder.text.chars import HAN_RE
from builder.text.minhash import candidate_probability
from common import read_documents

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DIGITS_RE = re.compile(r"\d")


def change_characters(text: str, share: float, rng: random.Random, alphabet: str, in_runs: bool) -> str:
    chars = list(text)
    budget = int(len(chars) * share)
    while budget > 0:
        run = min(budget, rng.randint(3, 25) if in_runs else 1)
        start = rng.randrange(0, max(1, len(chars) - run))
        for i in range(start, start + run):
            chars[i] = rng.choice(alphabet)
        budget -= run
    return "".join(chars)


def make_copy(text: str, kind: str, rng: random.Random, sentences: list[str], alphabet: str) -> str:
    lines = text.split("\n")
    if kind == "boilerplate":
        added = rng.sample(sentences, rng.randint(1, 6))
        cut = rng.randrange(len(added) + 1)
        return "\n".join(added[:cut] + lines + added[cut:])
    if kind == "delete_paragraphs" and len(lines) > 2:
        for _ in range(rng.randint(1, max(1, len(lines) // 5))):
            lines.pop(rng.randrange(len(lines)))
        return "\n".join(lines)
    if kind == "dates_numbers":
        return DIGITS_RE.sub(lambda m: str(rng.randrange(10)) if rng.random() < 0.6 else m.group(), text)
    if kind == "mirror":
        return text.replace("，", ",").replace("：", ":").replace("\n", "\n\n\u3000\u3000")
    if kind in ("scattered", "runs"):
        return change_characters(text, rng.uniform(0.05, 0.30), rng, alphabet, in_runs=kind == "runs")
    if kind == "truncated":
        return text[: int(len(text) * rng.uniform(0.6, 0.95))]
    return text


KINDS = ["boilerplate", "delete_paragraphs", "dates_numbers", "mirror", "scattered", "runs", "truncated"]


def shingle_sets(texts: list[str], ngram: int) -> list[set[str]]:
    codepoints, lengths = comparison_keys(texts)
    keys = codepoints.tobytes().decode("utf-32-le")
    out, start = [], 0
    for length in lengths.tolist():
        key = keys[start : start + length]
        out.append({key[i : i + ngram] for i in range(len(key) - ngram + 1)})
        start += length
    return out


def similar_pairs(sets: list[set[str]], floor: float) -> dict[tuple[int, int], float]:
    """Every pair with Jaccard >= floor, exactly, by prefix filtering on globally rare shingles."""
    frequency = Counter(s for shingles in sets for s in shingles)
    index: dict[str, list[int]] = defaultdict(list)
    found: dict[tuple[int, int], float] = {}
    order = sorted(range(len(sets)), key=lambda i: len(sets[i]))
    for i in order:  # increasing size: every earlier set is no larger
        shingles = sets[i]
        if not shingles:
            continue
        prefix = sorted(shingles, key=lambda s: (frequency[s], s))[: len(shingles) - math.ceil(floor * len(shingles)) + 1]
        candidates = {j for s in prefix for j in index[s]}
        for j in candidates:
            if len(sets[j]) < floor * len(shingles):
                continue
            shared = len(shingles & sets[j])
            jaccard = shared / (len(shingles) + len(sets[j]) - shared)
            if jaccard >= floor:
                found[(min(i, j), max(i, j))] = jaccard
        for s in prefix:
            index[s].append(i)
    return found


def run_stage(texts: list[str], params: DedupParams) -> list:
    stage = Dedup(params)
    tables = []
    for lo in range(0, len(texts), 500):
        chunk = texts[lo : lo + 500]
        batch = stage(Batch({"id": [str(lo + i) for i in range(len(chunk))], "text": chunk}))
        tables.append(pa.table({"id": batch["id"], **{c: pa.array(batch[c], t) for c, t in stage.key_columns().items()}}))
    with tempfile.TemporaryDirectory() as tmp:
        return stage.decide(Keys(tables, tables[0].schema), GlobalContext([], Path(tmp)))


def final_keeper(drops: list) -> list[int]:
    keeper = list(range(len(drops)))
    for row in range(len(drops)):
        seen, target = set(), row
        while drops[target] is not None and target not in seen:
            seen.add(target)
            target = int(drops[target].detail)
        keeper[row] = target
    return keeper


def true_jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def evaluate(texts: list[str], settings: list[DedupParams], target: float, label: str) -> None:
    """Scores each setting against the pairs at or above `target` (the issue's threshold)."""
    sets = shingle_sets(texts, settings[0].ngram)
    truth = similar_pairs(sets, 0.5)
    positives = {pair: j for pair, j in truth.items() if j >= target}
    below = [pair for pair, j in truth.items() if j < target]
    print(f"\n== {label}: {len(texts)} documents; {len(positives)} pairs with true J >= {target}, "
          f"{len(below)} with 0.5 <= J < {target}")
    for params in settings:
        score(texts, sets, truth, positives, below, params, target)


def score(texts, sets, truth, positives, below, params: DedupParams, target: float) -> None:
    drops = run_stage(texts, params)
    keeper = final_keeper(drops)
    reported = [(row, int(d.detail)) for row, d in enumerate(drops) if d is not None]
    reported_j = np.array([truth.get((min(a, b), max(a, b))) or true_jaccard(sets[a], sets[b]) for a, b in reported])
    recalled = {pair: drops[pair[0]] is not None or drops[pair[1]] is not None for pair in positives}
    grouped = np.mean([keeper[a] == keeper[b] for a, b in positives]) if positives else 0.0
    print(f"-- num_perm {params.num_perm}, bands x rows {params.bands} x {params.rows}, verified at {params.threshold + params.margin:.2f}: "
          f"dropped exact {sum(d.reason == 'dedup.exact' for d in drops if d)}, "
          f"near {sum(d.reason == 'dedup.near' for d in drops if d)}")
    if reported:
        print(f"   precision (reported pairs with true J >= {target}): {np.mean(reported_j >= target):.2%} of {len(reported)}; "
              f"lowest true J reported {reported_j.min():.3f}")
    if positives:
        print(f"   recall (pairs with true J >= {target} of which at most one is kept): {np.mean(list(recalled.values())):.2%}; "
              f"put in one group: {grouped:.2%}")
        buckets = []
        for lo, hi in ((target, target + 0.05), (target + 0.05, target + 0.1), (target + 0.1, 1.01)):
            bucket = [ok for pair, ok in recalled.items() if lo <= positives[pair] < hi]
            if bucket:
                buckets.append(f"[{lo:.2f}, {min(hi, 1.0):.2f}): {np.mean(bucket):.2%} of {len(bucket)}")
        print("   recall by true J: " + "; ".join(buckets))
    one_dropped = sum(drops[a] is not None or drops[b] is not None for a, b in below)
    print(f"   pairs with 0.5 <= true J < {target} of which at most one is kept: {one_dropped} of {len(below)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=SHARED / "bench" / "zh-bench-20mb.jsonl.gz")
    parser.add_argument("--sentences", type=Path, default=SHARED / "langid" / "sentences" / "zh.txt")
    parser.add_argument("--sources", type=int, default=800)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--sweep", action="store_true", help="also score other verification thresholds and num_perm")
    args = parser.parse_args()
    params = DedupParams()
    settings = [params]
    if args.sweep:
        settings = [DedupParams(margin=m) for m in (0.0, 0.01, 0.02, 0.03)]
        settings += [DedupParams(num_perm=256, bands=42, rows=6, margin=m) for m in (0.0, 0.02, 0.03)]
    print("LSH S-curve (chance a pair becomes a candidate) with", params.bands, "x", params.rows, ":",
          ", ".join(f"J={j}: {candidate_probability(j, params.bands, params.rows):.3f}" for j in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9)))

    rng = random.Random(args.seed)
    documents = [d["text"] for d in read_documents(args.bench)]
    sentences = [s for s in args.sentences.read_text(encoding="utf-8").splitlines() if s.strip()]
    alphabet = "".join(sorted(set(HAN_RE.findall("".join(sentences)))))
    sources = rng.sample([d for d in documents if 300 <= len(d) <= 6000], args.sources)
    texts, kinds = [], Counter()
    for source in sources:
        texts.append(source)
        for kind in rng.sample(KINDS, rng.randint(1, 3)):
            texts.append(make_copy(source, kind, rng, sentences, alphabet))
            kinds[kind] += 1
    order = list(range(len(texts)))
    rng.shuffle(order)  # copies may come before their source, as on the web
    print("copies made:", dict(kinds))
    evaluate([texts[i] for i in order], settings, params.threshold, "constructed near copies")
    evaluate(documents, settings, params.threshold, "bench corpus as it is")


if __name__ == "__main__":
    main()
