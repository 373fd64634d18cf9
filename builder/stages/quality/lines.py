"""Line-level cleaning over a whole batch at once.

The batch is joined into one string and read as a numpy array of code points, so the
per-line counts (Han, letters, digits, symbols, end punctuation, separators) are bincounts,
the lexicon is one `TermMatcher` pass and PII one cheap candidate scan over the folded
batch; hits are mapped to lines with `searchsorted`. Python touches only the lines that a
hit or a separator makes worth a look, the lines that share their page and class counts with
enough others to be copies, and the pages where short lines sit among removed and good ones.

Each line gets at most one removal rule, the first that applies, in this order:
spam, the keyword rules and whole-line patterns of `data/boilerplate.tsv`, `breadcrumb`
and `nav` shapes, `contact`
(a line that is mostly a phone number or other contact detail), `symbols` (no letter at
all), `repeat` (a line seen more than `max_line_repeats` times: copies after the first go),
and `context`: short lines that sit between removed lines, like the company name and
slogans of a page header or the section links of a footer. Last, when a line model is
configured (`line_model.py`), it removes kept lines it scores as junk (`line_model`) and puts
back lines a shape or context rule removed that it scores as text.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from builder.stages.quality.lexicon import SPAM, Lexicon
from builder.stages.quality.tables import (
    DIGIT,
    HAN,
    LETTER,
    N_CLASSES,
    NEWLINE,
    PUNCT,
    SPACE,
    char_class_table,
    code_points,
    CLAUSE_MARK,
    ELLIPSIS,
    HALF_WIDTH_MARK,
    SENTENCE_MARK,
    SEPARATOR,
    end_punctuation_table,
    fold_table,
    from_code_points,
    mark_table,
    RollingHash,
)
from builder.stages.quality.code import code_line_mask
from builder.stages.quality.line_model import LineModel, apply_line_model
from builder.stages.quality.shapes import line_shape
from builder.text.pii import PiiFinder, PiiSpan

KEEP, SPAM_RULE, CONTEXT_RULE = "", "spam", "context"
# A page shows code when it has this many code lines (`code.py`); then they are kept whatever their shape.
CODE_BLOCK_MIN_LINES = 5
# Items of a keyword list: split on separators and spaces (not on commas: prose has them).
KEYWORD_ITEMS_RE = re.compile(r"[|/·•>»›→丨_\s]+")
NAV_ITEMS_RE = re.compile(r"\s*[|/·•丨]\s*")
BREADCRUMB_ITEMS_RE = re.compile(r"\s*(?:>>?|»|›|→)\s*")
# Every PII pattern needs one of these: five digits in a row, grouped digits, an IP's dots,
# an e-mail's @, or a QQ/WeChat label (WeChat ids may have no digit at all). The pattern
# opens with a character class so that the regex engine skips every other character fast.
PII_CANDIDATE_RE = re.compile(
    r"""[0-9@qwv微扣]
    (?: (?<=[0-9]) (?: [0-9]{4} | [0-9]{2,3}[- ][0-9]{3} | [0-9]{0,2}\.[0-9]{1,3}\.[0-9] )
      | (?<=@)
      | (?<=q)q | (?<=扣)扣 | (?<=微)信 | (?<=w)(?:x|echat|eixin) | (?<=v)(?:x|信)
    )""",
    re.VERBOSE,
)
# Characters that continue an e-mail, number or id across a window edge.
PII_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_%+@()")
PII_WINDOW = (8, 24)  # before and after a candidate: `+86 ` ahead of a number, an id after its label
# Three or more words of two to four letters separated by spaces and nothing else: menus
# and button rows (`直播 点播 栏目 专题`, `回复 支持 反对`). Verse is longer or punctuated.
BUTTON_ROW_MAX_ITEMS = 8
BUTTON_ROW_RE = re.compile(r"[^\W\d_]{2,4}(?:\s+[^\W\d_]{2,4}){2,%d}" % (BUTTON_ROW_MAX_ITEMS - 1))
# Inside a sentence of prose a boilerplate keyword counts only as the line's opening label
# (`免责声明：本站…。`), not in mid-sentence (`…标注“版权所有”字样，…。`). Footer sentences are
# short (`本站部分内容来源于网络，如有侵权请联系删除。`) and stay boilerplate.
LABEL_CHARS = 6
SENTENCE_MIN_CHARS = 30
# Lines that follow a title on article and shop pages: the short line above them is kept.
TITLE_FOLLOWERS = ("metadata", "product")
# Character n-gram size for near-repeated lines: long enough that shared phrases of one topic
# (`数据库连接`) do not make a new sentence look like a copy.
NEAR_REPEAT_NGRAM = 10
CHROME_SHAPE_MAX_CHARS = 300  # teasers quote a paragraph's opening; longer lines are text
# A breadcrumb's last item is often the page's title: `学习啦>励志>励志电视剧>《…结局是什么》正文`.
BREADCRUMB_TITLE_MAX_CHARS = 60
BREADCRUMB_ROOTS = ("首页", "主页", "网站首页", "home", "当前位置:首页", "您的位置:首页")


@dataclass(frozen=True)
class LineParams:
    spam_min_terms: int
    spam_min_coverage: float
    keyword_item_max_chars: int
    nav_item_max_chars: int
    contact_max_other_chars: int
    max_line_repeats: int
    near_repeat_min_chars: int
    near_repeat_share: float
    good_line_min_chars: int
    good_line_min_han: int
    rules: frozenset[str]
    line_model: LineModel | None = None
    line_model_remove_above: float = 1.0
    line_model_restore_below: float = 0.0


class BatchLines:
    """Geometry, counts and removal decisions for every line of a batch.

    `rule[k]` is the removal rule of global line `k` (`""` keeps it); lines of document `d`
    are `first_line[d]:first_line[d + 1]`.
    """

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.joined = "\n".join(texts)
        self.points = code_points(self.joined)
        # `take` rather than `table[points]`: the same values, gathered about twice as fast.
        self.folded_points = fold_table().take(self.points)
        self.folded = from_code_points(self.folded_points)
        classes = char_class_table().take(self.points)
        newlines = np.flatnonzero(classes == NEWLINE)
        self.n_lines = len(newlines) + 1
        self.line_start = np.concatenate(([0], newlines + 1))
        self.line_end = np.concatenate((newlines, [len(self.points)]))
        lines_per_doc = np.array([text.count("\n") + 1 for text in texts], dtype=np.int64)
        self.first_line = np.concatenate(([0], np.cumsum(lines_per_doc)))
        self.doc_of_line = np.repeat(np.arange(len(texts)), lines_per_doc)
        self.line_of_char = np.zeros(len(self.points), dtype=np.int32)
        self.line_of_char[newlines] = 1
        np.cumsum(self.line_of_char, out=self.line_of_char)
        self.line_of_char[newlines] -= 1  # a newline belongs to the line it ends
        self.classes = classes
        self.counts = np.bincount(
            self.line_of_char * N_CLASSES + classes, minlength=self.n_lines * N_CLASSES
        ).reshape(self.n_lines, N_CLASSES)
        self.visible = self.counts[:, :SPACE].sum(axis=1)
        self.han = self.counts[:, HAN]
        self.letters = self.counts[:, HAN] + self.counts[:, LETTER]
        self.visible_at = visible_at = np.flatnonzero(classes < SPACE)
        self.line_of_visible = line_of_visible = self.line_of_char[visible_at]
        # The last visible character of each line that has one: where the (sorted) line numbers change.
        last = np.flatnonzero(np.concatenate((line_of_visible[1:] != line_of_visible[:-1], [True])))[: len(line_of_visible)]
        self.ends_sentence = np.zeros(self.n_lines, dtype=bool)
        self.ends_sentence[line_of_visible[last]] = end_punctuation_table()[self.points[visible_at[last]]]
        # Marks, separators and `?!.…` are a few percent of the characters: found with one gather,
        # then worked on as positions (`at`) with their kinds and code points.
        flags = mark_table().take(self.points)
        at = np.flatnonzero(flags)
        kind, point = flags[at], self.points[at]
        marks = (kind & SENTENCE_MARK) > 0
        # Half-width marks end a sentence only before a space, a non-Latin character or the end:
        # `?cè` is a lost character of mojibake, `3.5` and `a.b` are not sentence ends.
        # The batch's last character is followed by what ends every other page: a line break.
        ascii_marks = np.flatnonzero((kind & HALF_WIDTH_MARK) > 0)
        next_at = at[ascii_marks] + 1
        after = np.where(next_at < len(self.points), classes.take(np.minimum(next_at, len(self.points) - 1)), NEWLINE)
        before_word = (after == LETTER) | (after == DIGIT)
        marks[ascii_marks[before_word]] = False
        sentence_dots = ascii_marks[~before_word]
        sentence_dots = sentence_dots[(point[sentence_dots] == ord(".")) & (at[sentence_dots] > 0)]
        marks[sentence_dots[classes[at[sentence_dots] - 1] == HAN]] = True
        mark_at = at[marks]
        mark_runs = mark_at[np.concatenate(([True], mark_at[1:] != mark_at[:-1] + 1))[: len(mark_at)]]  # `？！` is one sentence end
        self.sentence_marks = np.bincount(self.line_of_char[mark_runs], minlength=self.n_lines)
        dots = at[point == ord(".")]
        ellipses = np.concatenate((at[(kind & ELLIPSIS) > 0], dots[:-1][dots[1:] == dots[:-1] + 1]))  # `…` and `..`
        self.ellipses = np.bincount(self.line_of_char[ellipses], minlength=self.n_lines)
        self.full_stops = np.bincount(self.line_of_char[at[point == ord("。")]], minlength=self.n_lines)
        self.clause_marks = np.bincount(self.line_of_char[at[(kind & CLAUSE_MARK) > 0]], minlength=self.n_lines)
        self.separators = np.bincount(self.line_of_char[at[(kind & SEPARATOR) > 0]], minlength=self.n_lines)
        self.folded_lines = self.folded.split("\n")
        self.rule = np.full(self.n_lines, KEEP, dtype=object)
        self.spam_hits = np.zeros(self.n_lines, dtype=np.int64)
        self.pii: dict[int, list[PiiSpan]] = defaultdict(list)

    @cached_property
    def code(self) -> np.ndarray:
        """Lines of program code (`code.py`): repeats are normal there."""
        return code_line_mask(self.points, self.line_start, self.line_end, self.first_line)

    @cached_property
    def code_block(self) -> np.ndarray:
        """Code lines of pages that show code (`CODE_BLOCK_MIN_LINES` or more): a tutorial's script is
        text, whatever shape its lines have (`-p 19090:19090 \\`, `-v "/sys:/host/sys" \\`, `}`). A line
        or two of stray script on other pages is left to the rules."""
        per_page = np.add.reduceat(self.code.astype(np.int64), self.first_line[:-1]) if self.n_lines else np.zeros(0, np.int64)
        return self.code & (per_page >= CODE_BLOCK_MIN_LINES)[self.doc_of_line]

    @cached_property
    def line_texts(self) -> list[str]:
        """Each line's text as written (`joined[line_start[k]:line_end[k]]`), split once for the batch."""
        return self.joined.split("\n")

    def line_of(self, positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.line_end, positions, side="left")

    def mark(self, line: int, rule: str) -> None:
        if not self.rule[line]:
            self.rule[line] = rule


class LineCleaner:
    def __init__(self, lexicon: Lexicon, pii: PiiFinder, params: LineParams):
        self.lexicon = lexicon
        self.pii = pii
        self.params = params

    def __call__(self, texts: list[str]) -> BatchLines:
        lines = BatchLines(texts)
        self._scan_lexicon(lines)
        self._line_patterns(lines)
        self._scan_pii(lines)
        self._chrome_shapes(lines)
        self._shapes(lines)
        self._contact(lines)
        if "symbols" in self.params.rules:
            lines.rule[(lines.rule == KEEP) & (lines.visible > 0) & (lines.letters == 0) & ~lines.code_block] = "symbols"
        self._repeats(lines)
        if CONTEXT_RULE in self.params.rules:
            self._context(lines)
        p = self.params
        if p.line_model is not None:
            apply_line_model(lines, p.line_model, p.line_model_remove_above, p.line_model_restore_below, p.rules)
        return lines

    def _scan_lexicon(self, lines: BatchLines) -> None:
        hits = self.lexicon.matcher.find(lines.folded, lines.folded_points)
        if not hits:
            return
        folded = lines.folded
        where = lines.line_of(np.array([start for start, _, _ in hits]))
        spam_by_line: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
        for line, visible, line_start, (start, key, value) in zip(
            where.tolist(), lines.visible[where].tolist(), lines.line_start[where].tolist(), hits
        ):
            if value[0] == SPAM:
                if value[2] and not _word_bounded(folded, start, start + len(key)):
                    continue
                spam_by_line[line].append((start, start + len(key), key))
            elif visible <= value[2] and (start - line_start < LABEL_CHARS or not _is_sentence(lines, line)):
                lines.mark(line, value[1])
        for line, line_hits in spam_by_line.items():
            lines.spam_hits[line] = len(line_hits)
            if self._is_spam_line(lines, line, line_hits):
                lines.rule[line] = SPAM_RULE  # spam outranks any keyword rule

    def _line_patterns(self, lines: BatchLines) -> None:
        if not self.lexicon.line_patterns:
            return
        longest = max(max_chars for _, max_chars, _ in self.lexicon.line_patterns)
        candidates = np.flatnonzero((lines.rule == KEEP) & (lines.visible > 0) & (lines.visible <= longest))
        folded = lines.folded_lines
        for line, visible in zip(candidates.tolist(), lines.visible[candidates].tolist()):
            text = folded[line].strip()
            for rule, max_chars, pattern in self.lexicon.line_patterns:
                if visible <= max_chars and pattern.fullmatch(text):
                    lines.rule[line] = rule
                    break

    def _is_spam_line(self, lines: BatchLines, line: int, hits: list[tuple[int, int, str]]) -> bool:
        """Spam when the line is a keyword list with a hit, or its terms cover enough of it."""
        text = lines.folded_lines[line].strip()
        items = [item for item in KEYWORD_ITEMS_RE.split(text) if item]
        if not (lines.ends_sentence[line] or "。" in text) and len(items) >= 3 and max(map(len, items)) <= self.params.keyword_item_max_chars:
            return True
        if len({term for _, _, term in hits}) < self.params.spam_min_terms:
            return False
        covered = 0
        reach = -1
        for start, end, _ in sorted(hits):
            covered += max(0, end - max(start, reach))
            reach = max(reach, end)
        return covered >= self.params.spam_min_coverage * max(1, lines.letters[line])

    def _scan_pii(self, lines: BatchLines) -> None:
        """PII patterns run only in windows around what a cheap scan found (a label, digits, @)."""
        folded = lines.folded
        positions = [m.start() for m in PII_CANDIDATE_RE.finditer(folded)]
        if not positions:
            return
        line_of = lines.line_of(np.array(positions))
        windows: list[list[int]] = []
        for position, line, line_start, line_end in zip(
            positions, line_of.tolist(), lines.line_start[line_of].tolist(), lines.line_end[line_of].tolist()
        ):
            if windows and windows[-1][2] == line and position < windows[-1][1]:
                # Inside the open window (a long digit run puts a candidate on every digit):
                # only grow its end, walking just the new part, so the scan stays linear.
                end = max(windows[-1][1], min(line_end, position + PII_WINDOW[1]))
                while end < line_end and folded[end] in PII_TOKEN_CHARS:
                    end += 1
                windows[-1][1] = end
                continue
            start = max(line_start, position - PII_WINDOW[0])
            end = min(line_end, position + PII_WINDOW[1])
            while start > line_start and folded[start - 1] in PII_TOKEN_CHARS:
                start -= 1
            while end < line_end and folded[end] in PII_TOKEN_CHARS:
                end += 1
            if windows and start <= windows[-1][1] and windows[-1][2] == line:
                windows[-1][1] = max(windows[-1][1], end)
            else:
                windows.append([start, end, line])
        for start, end, line in windows:
            lines.pii[line].extend(self.pii.finditer(folded, start, end))

    def _chrome_shapes(self, lines: BatchLines) -> None:
        """Bylines, teasers, title and field lists (`shapes.py`): lines with no sentence of their own."""
        # Shapes need a line without clause or sentence marks, or a teaser's ellipsis.
        unpunctuated = (lines.clause_marks == 0) & (lines.full_stops == 0)
        sized = (lines.visible <= CHROME_SHAPE_MAX_CHARS) | (lines.separators + lines.counts[:, SPACE] >= 11)
        candidates = np.flatnonzero(
            (lines.rule == KEEP) & (lines.visible >= 4) & sized & (unpunctuated | (lines.ellipses > 0)) & ~lines.code_block
        )
        digits, spaces = lines.counts[:, DIGIT].tolist(), lines.counts[:, SPACE].tolist()
        for line in candidates.tolist():
            rule = line_shape(lines.folded_lines[line].strip(), digits[line], spaces[line])
            if rule in self.params.rules:
                lines.rule[line] = rule

    def _shapes(self, lines: BatchLines) -> None:
        """Breadcrumbs (`a > b > c`), bars (`a | b | c`) and button rows (`回复 引用 举报`)."""
        spaced = (lines.counts[:, SPACE] >= 2) & (lines.visible <= 4 * BUTTON_ROW_MAX_ITEMS)
        candidates = np.flatnonzero(((lines.separators > 0) | spaced) & (lines.rule == KEEP) & ~lines.ends_sentence & ~lines.code_block)
        for line in candidates.tolist():
            text = lines.folded_lines[line].strip()
            if "breadcrumb" in self.params.rules and _is_breadcrumb(text, self.params.keyword_item_max_chars):
                lines.rule[line] = "breadcrumb"
            elif "nav" in self.params.rules:
                items = [item for item in NAV_ITEMS_RE.split(text) if item]
                if len(items) >= 3 and max(map(len, items)) <= self.params.nav_item_max_chars:
                    lines.rule[line] = "nav"
                elif BUTTON_ROW_RE.fullmatch(text):
                    lines.rule[line] = "nav"

    def _contact(self, lines: BatchLines) -> None:
        if "contact" not in self.params.rules:
            return
        for line, spans in lines.pii.items():
            if lines.rule[line]:
                continue
            inside = sum(len(lines.folded[s.start : s.end].replace(" ", "")) for s in spans)
            if lines.visible[line] - inside <= self.params.contact_max_other_chars:
                lines.rule[line] = "contact"

    def _repeats(self, lines: BatchLines) -> None:
        """Copies of an earlier line of the same page go; the first copy stays.

        Lines of program code are left alone (`}` and `-e ENV=dev \\` repeat in any script).
        Exact copies (folded, stripped) count against `max_line_repeats`. A long line also goes
        when nearly all its character n-grams already stood in earlier kept lines of the page:
        Q&A pages repeat an answer with other spacing or a few more words, and the page should
        lose the copy, not be judged repetitive as a whole.
        """
        if "repeat" not in self.params.rules:
            return
        candidates = np.flatnonzero((lines.rule == KEEP) & (lines.visible > 0) & ~lines.code)
        # Copies have the same counts of Han, letters, digits and punctuation (stripping takes only
        # spaces, and folding keeps every character's class): only lines that share these and their
        # page with more than `max_line_repeats` others can be copies, a few percent of the lines.
        candidates = candidates[same_counts_group_sizes(lines, candidates) > self.params.max_line_repeats]
        folded = lines.folded_lines
        keys = list(zip(lines.doc_of_line[candidates].tolist(), (folded[k].strip() for k in candidates.tolist())))
        repeated = {key for key, n in Counter(keys).items() if n > self.params.max_line_repeats}
        first_seen = set()
        for line, key in zip(candidates.tolist(), keys):
            if key in repeated:
                if key in first_seen:
                    lines.rule[line] = "repeat"
                first_seen.add(key)
        self._near_repeats(lines)

    def _near_repeats(self, lines: BatchLines) -> None:
        n = NEAR_REPEAT_NGRAM
        kept = lines.rule == KEEP
        long_lines = kept & (lines.visible >= self.params.near_repeat_min_chars) & ~lines.code
        docs_with_two = np.add.reduceat(long_lines.astype(np.int64), lines.first_line[:-1]) >= 2
        if not docs_with_two.any():
            return
        # Every n-gram of visible, folded characters inside a line, hashed once; an n-gram's hash does
        # not depend on what surrounds it, so the n-grams of any set of lines are a selection of these.
        all_lines, all_hashes = _line_ngram_hashes(lines, n)
        # Cheap look first: two near-copies most likely share their smallest or largest n-gram
        # hash (a one-permutation MinHash); only documents where two long lines do are compared.
        selected = (long_lines & docs_with_two[lines.doc_of_line])[all_lines]
        suspects = _docs_sharing_extreme_hashes(lines, all_lines[selected], all_hashes[selected], long_lines)
        if not suspects.any():
            return
        # Every kept line of those documents, long or short, is what a long line may copy.
        selected = (kept & suspects[lines.doc_of_line])[all_lines]
        start_line, hashes = all_lines[selected], all_hashes[selected]
        # Sorted by (hash, line), one sort of packed values and no argsort: a page's lines have
        # consecutive numbers, so each (page, hash) group is a run that starts with its earliest line.
        packed = np.sort((hashes.astype(np.uint64) << np.uint64(32)) | start_line.astype(np.uint64))
        sorted_hashes, sorted_lines = packed >> np.uint64(32), (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
        sorted_docs = lines.doc_of_line[sorted_lines]
        group_start = np.concatenate(
            ([True], (sorted_hashes[1:] != sorted_hashes[:-1]) | (sorted_docs[1:] != sorted_docs[:-1]))
        )
        earliest = sorted_lines[np.flatnonzero(group_start)][np.cumsum(group_start) - 1]
        seen_before = np.bincount(sorted_lines, weights=earliest < sorted_lines, minlength=lines.n_lines)
        total = np.bincount(sorted_lines, minlength=lines.n_lines)
        near = long_lines & (seen_before >= self.params.near_repeat_share * np.maximum(total, 1))
        lines.rule[near] = "repeat"

    def _context(self, lines: BatchLines) -> None:
        """Remove runs of short lines that removed lines, not article text, surround.

        Every non-blank line is removed (R), good (G: a sentence of at least
        `good_line_min_han` Han characters ending in end punctuation, or at least
        `good_line_min_chars` visible characters) or short (S). A run of S lines keeps its
        place when good text follows it (it heads that text: titles, salutations,
        subheadings) or precedes it with nothing after (a notice's signature); it goes when
        removed lines or the document's edge enclose it, or good text ends above and removed
        lines follow (a footer's section links). A line whose removed lines below include a
        `metadata` or `product` line (an article's byline, a shop's price and cart buttons)
        is the title. A Chinese line with a sentence or clause mark is never removed by context.
        Documents without any good line are left to the document-level rules.
        """
        p = self.params
        good = ((lines.han >= p.good_line_min_han) & lines.ends_sentence) | (lines.visible >= p.good_line_min_chars)
        removed = lines.rule != KEEP
        state = np.where(removed, "R", np.where(good, "G", "S"))
        state[lines.visible == 0] = ""
        state[lines.rule == "repeat"] = ""  # a copy says nothing about its neighbours (a title repeated below it)
        state[lines.code_block & ~removed] = ""  # a script is neither chrome nor prose to its neighbours
        # A short sentence or clause (`我该怎么办呀?`, a reply's last words) is text, not chrome:
        # on real pages these were most of what the rule removed wrongly.
        punctuated = (((lines.sentence_marks > 0) | (lines.clause_marks > 0)) & (lines.han >= 4)).tolist()
        starts = lines.first_line[:-1]
        with_all_three = np.ones(len(starts), dtype=bool)
        for kind in "SRG":
            with_all_three &= np.add.reduceat(state == kind, starts) > 0
        state_of = state.tolist()
        for doc in np.flatnonzero(with_all_three).tolist():
            first, last = int(lines.first_line[doc]), int(lines.first_line[doc + 1])
            visible = [line for line in range(first, last) if state_of[line]]
            seq = [state_of[k] for k in visible]
            i = 0
            while i < len(seq):
                if seq[i] != "S":
                    i += 1
                    continue
                j = i
                while j < len(seq) and seq[j] == "S":
                    j += 1
                above = seq[i - 1] if i > 0 else "edge"
                below = seq[j] if j < len(seq) else "edge"
                for position in range(i, j):
                    line = visible[position]
                    enclosed = above == "R" and below == "R"  # a headline between bylines: a teaser list
                    if (punctuated[line] and not enclosed) or _heads_title_block(lines, visible, seq, position):
                        continue
                    if below == "G":
                        drop = False
                    elif above == "G":
                        drop = below == "R"
                    else:
                        drop = "R" in (above, below)
                    if drop:
                        lines.rule[line] = CONTEXT_RULE
                i = j


def same_counts_group_sizes(lines: BatchLines, candidates: np.ndarray) -> np.ndarray:
    """For each candidate line, how many candidates share its document and its counts of Han, letters,
    digits and punctuation (by a 64-bit mix of them: a collision only makes a group larger)."""
    key = lines.doc_of_line[candidates].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    counts = lines.counts[candidates].astype(np.uint64)
    with np.errstate(over="ignore"):
        for column, multiplier in zip((HAN, LETTER, DIGIT, PUNCT), _COUNT_MIX):
            key = (key ^ counts[:, column]) * np.uint64(multiplier)
    _, group, sizes = np.unique(key, return_inverse=True, return_counts=True)
    return sizes[group]


_COUNT_MIX = (0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5, 0x85EBCA77C2B2AE63)


def _line_ngram_hashes(lines: BatchLines, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(line, hash) of every n-gram of visible, folded characters that starts and ends inside one line, in text order."""
    line_of = lines.line_of_visible
    hashes = RollingHash(lines.folded_points[lines.visible_at]).ngrams(n)  # folded: a copy with other widths is a copy
    start_line = line_of[: len(hashes)]
    inside = start_line == line_of[n - 1 :]  # an n-gram never spans two lines
    return start_line[inside], hashes[inside]


def _docs_sharing_extreme_hashes(lines: BatchLines, start_line: np.ndarray, hashes: np.ndarray, long_lines: np.ndarray) -> np.ndarray:
    """Documents in which two long lines have the same smallest or the same largest n-gram hash."""
    suspects = np.zeros(len(lines.texts), dtype=bool)
    if not len(start_line):
        return suspects
    firsts = np.flatnonzero(np.concatenate(([True], start_line[1:] != start_line[:-1])))
    line_ids = start_line[firsts]
    is_long = long_lines[line_ids]
    docs = lines.doc_of_line[line_ids][is_long].astype(np.uint64)
    for extreme in (np.minimum, np.maximum):
        values = extreme.reduceat(hashes, firsts)[is_long].astype(np.uint64)
        keys = np.sort((docs << np.uint64(32)) | values)
        repeated = keys[1:][keys[1:] == keys[:-1]]
        suspects[(repeated >> np.uint64(32)).astype(np.int64)] = True
    return suspects


def _is_sentence(lines: BatchLines, line: int) -> bool:
    """A line of prose: long, with a comma inside and a sentence end (at its end, or before a byline)."""
    ends = bool(lines.ends_sentence[line]) or lines.sentence_marks[line] > 0
    return ends and lines.visible[line] >= SENTENCE_MIN_CHARS and "," in lines.folded_lines[line]


def _heads_title_block(lines: BatchLines, visible: list[int], seq: list[str], position: int) -> bool:
    below = position + 1
    while below < len(seq) and seq[below] == "R":
        if lines.rule[visible[below]] in TITLE_FOLLOWERS:
            return True
        below += 1
    return False


def _word_bounded(folded: str, start: int, end: int) -> bool:
    before = folded[start - 1] if start > 0 else " "
    after = folded[end] if end < len(folded) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def _is_breadcrumb(text: str, item_max_chars: int) -> bool:
    """`a > b > c`: short items, or from the third item on a last one as long as a title (the page's own)."""
    items = [item for item in BREADCRUMB_ITEMS_RE.split(text) if item]
    if len(items) < 2 or max(map(len, items[:-1])) > item_max_chars:
        return False
    if len(items[-1]) > (BREADCRUMB_TITLE_MAX_CHARS if len(items) >= 3 else item_max_chars):
        return False
    return len(items) >= 3 or items[0].replace(" ", "") in BREADCRUMB_ROOTS

