"""`quality`: remove the junk lines of Chinese web pages, redact PII, then judge the document.

Line rules run first (see `lines.py`) so that one spam line or a page header does not cost
a good article; the document is then judged on what is left with signals made for
Chinese: counted in characters, with Chinese end punctuation, character n-grams instead of
word n-grams, and no word segmenter. A document is dropped with the reason of the first
rule it fails, in `DOCUMENT_RULES` order; `annotate: true` keeps everything and publishes
the signals and the would-be reason instead ("score first, filter later").
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import numpy as np
import pyarrow as pa
from pydantic import Field, field_validator

from builder.stages import register
from builder.stages.base import REMOVED_LINES, Batch, Stage, StageParams
from builder.stages.quality.lexicon import BUILTIN_SPAM_CATEGORIES, Lexicon, read_boilerplate_keywords
from builder.stages.quality.line_model import SHIPPED_LINE_MODEL, LineModelFileError, LineModel, load_line_model
from builder.stages.quality.lines import CONTEXT_RULE, KEEP, SPAM_RULE, BatchLines, LineCleaner, LineParams
from builder.stages.quality.sentences import drop_repeated_sentences
from builder.stages.quality.shapes import KEYWORDS_RULE, isolate_keyword_runs
from builder.stages.quality.signals import INTEGER_SIGNALS, document_signals, teaser_counts
from builder.stages.quality.tables import char_class_table, end_punctuation_table, fold_table, mark_table
from builder.text.pii import PII_TYPES, PiiFinder, redact

SHAPE_RULES = (KEYWORDS_RULE, "breadcrumb", "nav", "contact", "symbols", "repeat", CONTEXT_RULE)
LINE_RULES = tuple(
    dict.fromkeys([SPAM_RULE, *(k.rule for k in read_boilerplate_keywords()), *SHAPE_RULES])
)


# Keys and values of the n-gram repetition thresholds: `{4: 0.2}` is "the top 4-gram covers at most 20%".
NgramSize = Annotated[int, Field(ge=1, le=100)]
Share = Annotated[float, Field(ge=0, le=1)]


class QualityParams(StageParams):
    annotate: bool = Field(False, description="keep every document; publish signals and quality_reason as columns")
    # Line level.
    line_rules: tuple[str, ...] = Field(LINE_RULES, description=f"line removal rules to apply, of {list(LINE_RULES)}")
    spam_categories: tuple[str, ...] = Field(
        BUILTIN_SPAM_CATEGORIES, description="built-in spam lexicon categories to use; [] replaces them with spam_extra"
    )
    spam_extra: tuple[str, ...] = Field((), description="more spam terms (category `extra`), Simplified or Traditional")
    spam_min_terms: int = Field(2, ge=1, description="distinct spam terms a prose line needs to be spam")
    spam_min_coverage: float = Field(
        0.3, ge=0, le=1, description="share of a prose line's letters its spam terms must cover to be spam"
    )
    keyword_item_max_chars: int = Field(
        16, ge=1, description="longest item of a `词|词|词` / `词 词 词` keyword list or breadcrumb"
    )
    nav_item_max_chars: int = Field(10, ge=1, description="longest item of an `a | b | c` navigation bar")
    contact_max_other_chars: int = Field(
        10, ge=0, description="a line with PII and at most this many other characters is a contact line"
    )
    max_line_repeats: int = Field(2, ge=1, description="a line seen more often than this keeps only its first copy")
    near_repeat_min_chars: int = Field(
        30, ge=10, description="a line this long goes as a repeat when most of it already stood earlier on the page"
    )
    near_repeat_share: float = Field(
        0.8, gt=0, le=1, description="share of a long line's character 10-grams seen in earlier lines that makes it a repeat"
    )
    good_line_min_chars: int = Field(40, ge=1, description="a line this long is article text for the context rule")
    good_line_min_han: int = Field(
        8, ge=1, description="a sentence with this many Han characters and end punctuation is article text"
    )
    line_model: str | None = Field(
        None,
        description="score lines with a learned model of their shape and neighbours (`line_model.py`): "
        "`builtin` for the shipped model, a path to a retrained one, or null for rules only",
    )
    line_model_remove_above: Share = Field(
        0.9, description="a line the rules keep goes (rule `line_model`) when the model's junk probability is above this"
    )
    line_model_restore_below: Share = Field(
        0.3, description="a line a shape or context rule removed comes back when the junk probability is below this (0: never)"
    )
    # PII.
    pii: tuple[str, ...] = Field(PII_TYPES, description=f"PII types to redact, of {list(PII_TYPES)}")
    pii_placeholder: str = Field("<{type}>", description="replacement; {type} is the upper-case PII type")
    # Document level, checked in this order after line removal.
    max_spam_line_share: float = Field(0.4, ge=0, le=1, description="drop (spam) when spam lines were more of the page than this")
    max_spam_density: float = Field(25.0, ge=0, description="drop (spam) above this many spam hits per 1,000 kept characters")
    min_chars: int = Field(50, ge=0, description="drop (too_short) below this many non-space characters after cleaning")
    min_han: int = Field(
        0, ge=0, description="drop (too_short) below this many Han characters after cleaning (a page of real Chinese prose)"
    )
    min_cjk_share: float = Field(0.2, ge=0, le=1, description="drop (low_cjk) below this share of Han characters")
    max_removed_share: float = Field(0.8, ge=0, le=1, description="drop (boilerplate) when line rules removed more than this")
    max_teaser_density: float = Field(
        2.0, ge=0, description="drop (teasers) a page with more than this many teasers cut short (`…`, `...`, "
        "`… 显示全部`) per 1,000 kept characters, and at least min_teasers of them: a list of other pages",
    )
    min_teasers: int = Field(4, ge=1, description="teasers a page needs before max_teaser_density applies")
    max_dup_line_frac: float = Field(0.3, ge=0, le=1, description="drop (repetition) above this share of characters in repeated lines")
    max_dup_para_frac: float = Field(0.3, ge=0, le=1, description="drop (repetition) above this share in repeated paragraphs")
    max_top_ngram_frac: dict[NgramSize, Share] = Field(
        {4: 0.2}, description="drop (repetition) when the top character n-gram covers more"
    )
    max_dup_ngram_frac: dict[NgramSize, Share] = Field(
        {10: 0.7}, description="drop (repetition) when repeated character n-grams cover more"
    )
    min_sentence_density: float = Field(
        2.0,
        ge=0,
        description="drop (no_sentences) below this many sentence ends (。！？!?) per 1,000 kept characters, "
        "unless clause marks reach min_clause_density",
    )
    min_clause_density: float = Field(
        10.0, ge=0, description="clause marks (，,；;) per 1,000 characters that make a page without sentence ends prose"
    )
    min_end_punct_share: float = Field(
        0.0, ge=0, le=1, description="drop (no_sentences) below this share of lines ending in 。！？….?! (off: one-line articles)"
    )
    max_symbol_share: float = Field(0.1, ge=0, le=1, description="drop (symbols) above this share of symbol characters")
    max_digit_share: float = Field(0.3, ge=0, le=1, description="drop (digits) above this share of digits")
    max_mojibake_ratio: float = Field(0.1, ge=0, le=1, description="drop (mojibake) above this mojibake_ratio (from normalize)")

    @field_validator("line_rules")
    @classmethod
    def _known_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(LINE_RULES)
        if unknown:
            raise ValueError(f"unknown line rules {sorted(unknown)}; known: {list(LINE_RULES)}")
        return value

    @field_validator("line_model")
    @classmethod
    def _loadable_line_model(cls, value: str | None) -> str | None:
        if value == "builtin":  # the shipped file is checked by the tests; a stale one must not block retraining it
            return value
        try:
            _line_model(value)
        except LineModelFileError as err:
            raise ValueError(str(err)) from None
        return value

    @field_validator("spam_categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(BUILTIN_SPAM_CATEGORIES)
        if unknown:
            raise ValueError(f"unknown spam categories {sorted(unknown)}; built in: {list(BUILTIN_SPAM_CATEGORIES)}")
        return value


def _line_model(name: str | None) -> LineModel | None:
    """`builtin` is the shipped model; anything else a path to one written by benchmarks/train_line_model.py."""
    if name is None:
        return None
    return load_line_model(str(SHIPPED_LINE_MODEL if name == "builtin" else Path(name)))


def _mojibake_ratio(text: str) -> float:
    from builder.text.mojibake import mojibake_ratio  # normalize's measure; imported only when its column is absent

    return mojibake_ratio(text)


@register
class Quality(Stage):
    type = "quality"
    Params = QualityParams

    def __init__(self, params: QualityParams):
        super().__init__(params)
        rules = set(params.line_rules)
        self.clean_lines = LineCleaner(
            Lexicon(
                list(params.spam_categories) if SPAM_RULE in rules else [],
                list(params.spam_extra) if SPAM_RULE in rules else [],
                rules,
            ),
            PiiFinder(params.pii),
            LineParams(
                spam_min_terms=params.spam_min_terms,
                spam_min_coverage=params.spam_min_coverage,
                keyword_item_max_chars=params.keyword_item_max_chars,
                nav_item_max_chars=params.nav_item_max_chars,
                contact_max_other_chars=params.contact_max_other_chars,
                max_line_repeats=params.max_line_repeats,
                near_repeat_min_chars=params.near_repeat_min_chars,
                near_repeat_share=params.near_repeat_share,
                good_line_min_chars=params.good_line_min_chars,
                good_line_min_han=params.good_line_min_han,
                rules=frozenset(rules),
                line_model=_line_model(params.line_model),
                line_model_remove_above=params.line_model_remove_above,
                line_model_restore_below=params.line_model_restore_below,
            ),
        )
        for table in (char_class_table, fold_table, end_punctuation_table, mark_table):
            table()  # built once per worker, here rather than inside the first batch
        self.top_sizes = sorted(params.max_top_ngram_frac)
        self.dup_sizes = sorted(params.max_dup_ngram_frac)

    def signal_names(self) -> list[str]:
        return [
            "char_count", "han_count", "cjk_share", "sentence_density", "clause_density", "end_punct_share", "dup_line_frac", "dup_para_frac",
            *(f"top_{n}gram_frac" for n in self.top_sizes), *(f"dup_{n}gram_frac" for n in self.dup_sizes),
            "symbol_share", "digit_share", "mojibake_ratio", "spam_density", "spam_line_share", "removed_share",
            "teasers", "teaser_density",
        ]  # fmt: skip

    def columns(self) -> dict[str, pa.DataType]:
        if not self.params.annotate:
            return {}
        types = {name: pa.float32() for name in self.signal_names()} | {name: pa.int32() for name in INTEGER_SIGNALS}
        return types | {"quality_reason": pa.string()}

    def __call__(self, batch: Batch) -> Batch:
        originals = batch["text"]
        if not originals:
            return batch
        texts, lines = self.judge_lines(originals, batch.counters)
        signals = document_signals(lines, self.top_sizes, self.dup_sizes)
        changed = np.add.reduceat(lines.rule != KEEP, lines.first_line[:-1]) > 0
        changed[lines.doc_of_line[list(lines.pii)]] = True
        rule_of, visible_of = lines.rule.tolist(), lines.visible.tolist()
        cleaned = [
            self._assemble(lines, doc, rule_of, visible_of) if changed[doc] else text for doc, text in enumerate(texts)
        ]
        signals["teasers"] = teaser_counts(cleaned)
        signals["teaser_density"] = (1000 * signals["teasers"] / np.maximum(signals["char_count"], 1)).astype(np.float32)
        if "mojibake_ratio" in batch:
            signals["mojibake_ratio"] = np.array(batch["mojibake_ratio"], dtype=np.float32)
        else:
            signals["mojibake_ratio"] = np.array([_mojibake_ratio(t) for t in cleaned], dtype=np.float32)
        reasons = self._reasons(signals)
        kept_docs = set()
        for doc, (reason, detail) in enumerate(reasons):
            if reason and not self.params.annotate:
                batch.drop(doc, reason, detail)
            elif not cleaned[doc].strip():  # annotating keeps judged pages, but an empty text is nothing to keep
                batch.drop(doc, "quality.all_lines_removed", f"every line removed ({reason or 'no page rule failed'})")
            else:
                kept_docs.add(doc)
        self._count(batch, lines, kept_docs)
        batch["text"] = [cleaned[doc] if doc not in batch.drops else text for doc, text in enumerate(originals)]
        batch[REMOVED_LINES] = self._removed_lines(lines, changed, batch.drops, rule_of, visible_of)
        if self.params.annotate:
            for name in self.signal_names():
                batch[name] = signals[name].tolist()
            batch["quality_reason"] = [reason for reason, _ in reasons]
        return batch

    def judge_lines(self, texts: list[str], counters: Counter) -> tuple[list[str], BatchLines]:
        """The texts as the line rules read them (keyword runs on lines of their own, repeated
        sentences out) and every line's removal rule."""
        if KEYWORDS_RULE in self.params.line_rules:
            texts = [isolate_keyword_runs(text) for text in texts]
        if "repeat" in self.params.line_rules:
            out = []
            for text in texts:
                text, removed = drop_repeated_sentences(text)
                if removed:
                    counters["quality.sentences_removed.repeat"] += removed
                out.append(text)
            texts = out
        return texts, self.clean_lines(texts)

    @staticmethod
    def _removed_lines(lines: BatchLines, changed: np.ndarray, drops, rule_of: list, visible_of: list) -> list:
        """(rule, line) of each removed, non-blank line of each kept document; None where nothing was removed."""
        out: list = [None] * len(changed)
        text_of = lines.line_texts
        for doc in np.flatnonzero(changed).tolist():
            if doc in drops:
                continue
            first, last = int(lines.first_line[doc]), int(lines.first_line[doc + 1])
            out[doc] = [(rule_of[line], text_of[line])
                        for line in range(first, last) if rule_of[line] != KEEP and visible_of[line] > 0] or None
        return out

    def _assemble(self, lines: BatchLines, doc: int, rule_of: list, visible_of: list) -> str:
        """The document without its removed lines, PII redacted; blank lines never pile up.
        `rule_of` and `visible_of` are `lines.rule` and `lines.visible` as lists (read once per batch)."""
        first, last = int(lines.first_line[doc]), int(lines.first_line[doc + 1])
        pieces: list[str] = []
        previous_blank = True
        text_of = lines.line_texts
        for line in range(first, last):
            if rule_of[line] != KEEP:
                continue
            text = text_of[line]
            if visible_of[line] == 0:
                if not previous_blank:
                    pieces.append(text)
                previous_blank = True
                continue
            if line in lines.pii:
                text = redact(text, lines.pii[line], self.params.pii_placeholder, offset=int(lines.line_start[line]))
            pieces.append(text)
            previous_blank = False
        while pieces and previous_blank and not pieces[-1].strip():
            pieces.pop()
        return "\n".join(pieces)

    def _reasons(self, s: dict[str, np.ndarray]) -> list[tuple[str | None, str | None]]:
        """(reason, detail) per document: the first failing rule, or (None, None)."""
        p = self.params
        checks = [
            ("quality.spam", "spam_line_share", s["spam_line_share"] > p.max_spam_line_share, p.max_spam_line_share),
            ("quality.spam", "spam_density", s["spam_density"] > p.max_spam_density, p.max_spam_density),
            ("quality.too_short", "char_count", s["char_count"] < p.min_chars, p.min_chars),
            ("quality.too_short", "han_count", s["han_count"] < p.min_han, p.min_han),
            ("quality.low_cjk", "cjk_share", s["cjk_share"] < p.min_cjk_share, p.min_cjk_share),
            ("quality.boilerplate", "removed_share", s["removed_share"] > p.max_removed_share, p.max_removed_share),
            (
                "quality.teasers", "teaser_density",
                (s["teasers"] >= p.min_teasers) & (s["teaser_density"] > p.max_teaser_density), p.max_teaser_density,
            ),
            ("quality.repetition", "dup_line_frac", s["dup_line_frac"] > p.max_dup_line_frac, p.max_dup_line_frac),
            ("quality.repetition", "dup_para_frac", s["dup_para_frac"] > p.max_dup_para_frac, p.max_dup_para_frac),
            *(
                ("quality.repetition", f"top_{n}gram_frac", s[f"top_{n}gram_frac"] > limit, limit)
                for n, limit in sorted(p.max_top_ngram_frac.items())
            ),
            *(
                ("quality.repetition", f"dup_{n}gram_frac", s[f"dup_{n}gram_frac"] > limit, limit)
                for n, limit in sorted(p.max_dup_ngram_frac.items())
            ),
            (
                "quality.no_sentences", "sentence_density",
                (s["sentence_density"] < p.min_sentence_density) & (s["clause_density"] < p.min_clause_density),
                p.min_sentence_density,
            ),
            (
                "quality.no_sentences", "end_punct_share",
                s["end_punct_share"] < p.min_end_punct_share, p.min_end_punct_share,
            ),
            ("quality.symbols", "symbol_share", s["symbol_share"] > p.max_symbol_share, p.max_symbol_share),
            ("quality.digits", "digit_share", s["digit_share"] > p.max_digit_share, p.max_digit_share),
            ("quality.mojibake", "mojibake_ratio", s["mojibake_ratio"] > p.max_mojibake_ratio, p.max_mojibake_ratio),
        ]  # fmt: skip
        n_docs = len(s["char_count"])
        reasons: list[tuple[str | None, str | None]] = [(None, None)] * n_docs
        undecided = np.ones(n_docs, dtype=bool)
        for reason, signal, failed, limit in checks:
            for doc in np.flatnonzero(failed & undecided).tolist():
                reasons[doc] = (reason, f"{signal}={float(s[signal][doc]):.3g} (limit {limit})")
            undecided &= ~failed
        return reasons

    def _count(self, batch: Batch, lines: BatchLines, kept_docs: set[int]) -> None:
        """Counters over the documents that stay: their lines removed and PII redacted."""
        in_kept_doc = np.isin(lines.doc_of_line, list(kept_docs))
        removed = Counter(lines.rule[in_kept_doc & (lines.rule != KEEP)].tolist())
        pii = Counter(
            span.type
            for line, spans in lines.pii.items()
            if in_kept_doc[line] and lines.rule[line] == KEEP
            for span in spans
        )
        for rule, n in removed.items():
            batch.count(f"quality.lines_removed.{rule}", n)
        for kind, n in pii.items():
            batch.count(f"quality.pii.{kind}", n)
