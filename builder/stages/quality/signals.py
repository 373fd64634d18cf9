"""Document signals after line removal, measured in characters (never bytes or words).

Everything per document is a sum over its kept lines of the per-line counts `BatchLines`
already holds, except three things that need the kept text itself: duplicate lines and
paragraphs (Python sets over the folded lines, on the pages where two kept lines have the same
class counts) and character n-gram repetition.

N-gram repetition follows Gopher (Rae et al. 2021, appendix A) with characters in place of
words, since Chinese has no spaces to count words by: `top_{n}gram_frac` is the share of
characters covered by the single most frequent n-gram (occurrences x n / characters), and
`dup_{n}gram_frac` the share of characters inside some n-gram that occurs more than once.
Whitespace is left out of the sequence. N-grams are 32-bit polynomial hashes taken from one
prefix sum over the batch (`tables.RollingHash`); two of a document's few thousand n-grams collide with odds of about one
in a million), then each document's repeated keys are found with a bincount and a sort of
the few keys it leaves: no Python object per n-gram.
"""
from __future__ import annotations

import re

import numpy as np

from builder.stages.quality.lines import KEEP, SPAM_RULE, BatchLines, same_counts_group_sizes
from builder.stages.quality.line_model import LINE_MODEL_RULE
from builder.stages.quality.shapes import KEYWORDS_RULE
from builder.stages.quality.tables import DIGIT, HAN, LETTER, SPACE, SYMBOL, RollingHash

INTEGER_SIGNALS = ("char_count", "han_count", "teasers")
# A teaser of another page cut short: one `…` or three dots, alone, at a line's end or before a
# space or a "more" link (`…业峰会... tags:`, `…工作… 显示全部`, `...(更多)`). `……` and `......`
# are Chinese ellipses in prose and dialogue, not cuts.
TEASER_RE = re.compile(
    r"(?<![….])(?:\.{3}|…)(?![….])\s*(?:显示全部|阅读全文|查看全文|全文|\(更多\)|（更多）|\[详细\]|\[详情\]|更多)?[^\S\n]*(?:$|\s)", re.M
)

def document_signals(
    lines: BatchLines, top_sizes: list[int], dup_sizes: list[int]
) -> dict[str, np.ndarray]:
    kept = lines.rule == KEEP
    starts = lines.first_line[:-1]

    def per_doc(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts)

    # A keyword-salad block cut out of a line (`shapes.isolate_keyword_runs`) was never the page's
    # text: it does not count towards what line removal took from the page.
    visible_in = per_doc(lines.visible * (lines.rule != KEYWORDS_RULE))
    kept_counts = per_doc(lines.counts * kept[:, None])
    chars = kept_counts[:, :SPACE].sum(axis=1)
    safe_chars = np.maximum(chars, 1)
    # Program code in a Chinese page is neither Chinese nor not, has no sentences and repeats itself:
    # Han share, sentence and clause marks and n-gram repetition are those of the prose (kept lines
    # that are not code); lengths count the code.
    prose = kept & ~lines.code
    prose_lines = prose & (lines.visible > 0)
    prose_counts = per_doc(lines.counts * prose[:, None])
    safe_prose_chars = np.maximum(prose_counts[:, :SPACE].sum(axis=1), 1)
    signals = {
        "char_count": chars.astype(np.int32),
        "han_count": kept_counts[:, HAN].astype(np.int32),
        "cjk_share": prose_counts[:, HAN] / safe_prose_chars,
        "sentence_density": 1000 * per_doc(lines.sentence_marks * prose) / safe_prose_chars,
        "clause_density": 1000 * per_doc(lines.clause_marks * prose) / safe_prose_chars,
        "end_punct_share": per_doc(prose_lines & lines.ends_sentence) / np.maximum(per_doc(prose_lines), 1),
        "symbol_share": kept_counts[:, SYMBOL] / safe_chars,
        "digit_share": kept_counts[:, DIGIT] / safe_chars,
        "spam_density": 1000 * per_doc(lines.spam_hits * kept) / safe_chars,
        # By lines, not characters: one giant block of keywords appended to a real page is one line.
        "spam_line_share": per_doc(lines.rule == SPAM_RULE) / np.maximum(per_doc(lines.visible > 0), 1),
        # What the rules removed. The line model's removals are left out: it removes the chrome of
        # pages it judged by their text, and counting them turned cleaning an article (news pages
        # are 80-90% chrome as a crawl's text extraction gives them) into dropping it.
        "removed_share": (visible_in - per_doc(lines.visible * (kept | (lines.rule == LINE_MODEL_RULE)))) / np.maximum(visible_in, 1),
    }
    signals["dup_line_frac"], signals["dup_para_frac"] = _duplicate_fractions(lines, kept, chars)
    word_chars = prose_counts[:, HAN] + prose_counts[:, LETTER] + prose_counts[:, DIGIT]
    signals.update(_ngram_repetition(lines, prose, word_chars, top_sizes, dup_sizes))
    return {name: values if name in INTEGER_SIGNALS else values.astype(np.float32) for name, values in signals.items()}


def _duplicate_fractions(lines: BatchLines, kept: np.ndarray, chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of characters in lines (paragraphs) that repeat an earlier line (paragraph); code lines
    are not counted as repeats of a line.

    Paragraphs are runs of kept non-blank lines; where a page has no blank lines every
    line is its own paragraph and both fractions agree.
    """
    n_docs = len(chars)
    dup_lines = np.zeros(n_docs)
    dup_paras = np.zeros(n_docs)
    visible = lines.visible.tolist()
    kept_list = kept.tolist()
    code = lines.code.tolist()  # a script repeats lines (`}`, `fi`); a repeated block still counts as a paragraph
    folded = lines.folded_lines
    # A repeated line has a twin with the same counts of Han, letters, digits and punctuation, and a
    # repeated paragraph a repeated first line: pages where no two kept lines share those counts
    # repeat nothing, and most pages are such.
    candidates = np.flatnonzero(kept & (lines.visible > 0))
    shared = candidates[same_counts_group_sizes(lines, candidates) > 1]
    for doc in np.unique(lines.doc_of_line[shared]).tolist():
        first, last = int(lines.first_line[doc]), int(lines.first_line[doc + 1])
        seen_lines: set[str] = set()
        seen_paras: set[str] = set()
        paragraph: list[str] = []
        paragraph_chars = 0
        line_dup = para_dup = 0
        for line in range(first, last + 1):
            blank = line == last or not kept_list[line] or visible[line] == 0
            if not blank:
                key = folded[line].strip()
                if key in seen_lines and not code[line]:
                    line_dup += visible[line]
                seen_lines.add(key)
                paragraph.append(key)
                paragraph_chars += visible[line]
                continue
            if line < last and not kept_list[line]:
                continue  # a removed line does not end a paragraph
            if paragraph:
                key = "\n".join(paragraph)
                if key in seen_paras:
                    para_dup += paragraph_chars
                seen_paras.add(key)
                paragraph, paragraph_chars = [], 0
        dup_lines[doc] = line_dup
        dup_paras[doc] = para_dup
    safe = np.maximum(chars, 1)
    return dup_lines / safe, dup_paras / safe


def _ngram_repetition(
    lines: BatchLines, kept: np.ndarray, chars: np.ndarray, top_sizes: list[int], dup_sizes: list[int]
) -> dict[str, np.ndarray]:
    """Character n-gram repetition (Gopher's top and duplicate n-gram shares, with characters for words)
    over the word characters of kept lines: Han, letters and digits. Punctuation and symbols are left
    out: a separator line of dashes (`------`) or a row of `。。。。` is decoration, not repeated text,
    and counted as characters it made a 4-gram cover a whole forum thread.
    `chars` is each document's count of those characters in kept lines."""
    n_docs = len(chars)
    out = {f"top_{n}gram_frac": np.zeros(n_docs) for n in top_sizes}
    out |= {f"dup_{n}gram_frac": np.zeros(n_docs) for n in dup_sizes}
    if not top_sizes and not dup_sizes:
        return out
    keep_char = kept[lines.line_of_char] & (lines.classes <= DIGIT)
    rolling = RollingHash(lines.points[keep_char])
    hashes = {n: rolling.ngrams(n) for n in sorted(set(top_sizes) | set(dup_sizes))}
    offsets = np.concatenate(([0], np.cumsum(chars))).tolist()
    for doc, length in enumerate(chars.tolist()):
        start = offsets[doc]
        for n, all_keys in hashes.items():
            if length < n:
                continue
            keys = all_keys[start : start + length - n + 1]
            if n in top_sizes:
                out[f"top_{n}gram_frac"][doc] = min(1.0, _top_count(keys) * n / length)
            if n in dup_sizes:
                repeated = _repeated_mask(keys)
                if repeated is not None:
                    starts = np.flatnonzero(repeated)
                    depth = np.cumsum(np.bincount(starts, minlength=length + 1) - np.bincount(starts + n, minlength=length + 1))
                    out[f"dup_{n}gram_frac"][doc] = np.count_nonzero(depth[:length]) / length
    return out


def _buckets(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each key's bucket in a table eight times larger than the key count, and the bucket counts."""
    size = 1 << max(6, int(len(keys) * 8).bit_length())
    buckets = (keys & np.uint32(size - 1)).astype(np.intp)
    return buckets, np.bincount(buckets, minlength=size)


def _top_count(keys: np.ndarray) -> int:
    """How often the most frequent key occurs, sorting only the keys that could be it.

    The fullest bucket's most frequent key gives a lower bound; a key at least that
    frequent can only sit in a bucket at least that full, so only those keys are counted.
    """
    buckets, counts = _buckets(keys)
    fullest = int(counts.argmax())
    most = int(counts[fullest])
    if most == 1:
        return 1
    lower = _most_repeats(keys[buckets == fullest])
    if lower == most:
        return lower  # no bucket holds more keys than this one
    return _most_repeats(keys[counts[buckets] >= lower])


def _most_repeats(keys: np.ndarray) -> int:
    """How often the most frequent value of `keys` occurs (`np.unique`'s largest count, with a few
    numpy calls instead of its many: this runs twice per document)."""
    ordered = np.sort(keys)
    ends = np.flatnonzero(ordered[1:] != ordered[:-1])  # last index of each run but the last
    if not len(ends):
        return len(ordered)
    return int(max(ends[0] + 1, len(ordered) - 1 - ends[-1], np.diff(ends).max(initial=0)))


def _repeated_mask(keys: np.ndarray) -> np.ndarray | None:
    """Which keys occur more than once (None when none does).

    A key alone in its bucket is unique; only keys sharing a bucket are sorted and compared,
    and long n-grams of real text rarely share one.
    """
    buckets, counts = _buckets(keys)
    maybe = counts[buckets] > 1
    candidates = keys[maybe]
    if len(candidates) < 2:
        return None
    ordered = np.sort(candidates)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return None
    repeated_values = ordered[1:][same]
    at = np.searchsorted(repeated_values, candidates)
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[maybe] = repeated_values[np.minimum(at, len(repeated_values) - 1)] == candidates
    return repeated


def teaser_counts(texts: list[str]) -> np.ndarray:
    """Teasers cut short (`TEASER_RE`) in each kept text: a page of them is a list of other pages."""
    return np.array([len(TEASER_RE.findall(t)) if "..." in t or "…" in t else 0 for t in texts], dtype=np.int32)
