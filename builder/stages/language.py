"""`language`: language and script labels that are right for Chinese.

langdetect alone labels Traditional Chinese as Korean (it folds Han characters into
clusters, many of which its Korean profile owns) and reads every character of a document
one at a time. So scripts decide first, line by line ("paragraphs"), in one vectorised
pass: Hangul decides Korean, kana (or kanji that only Japanese writes) decides Japanese,
and Han without either is Chinese. langdetect, seeded and with the languages the scripts
rule out removed from its priors, runs once per document at most, on a bounded sample
spread across the lines the scripts could not decide (mostly alphabetic ones), and only
when its answer can change the outcome. Simplified vs Traditional comes from the
characters of the Chinese lines only (Japanese kanji look Traditional), never from
langdetect's zh-cn/zh-tw. Lines of program code (`quality/code.py`) count for no language: a
Chinese tutorial that is half shell script is Chinese.
"""
from __future__ import annotations

import functools
import gc
from collections import Counter
from typing import Literal

import numpy as np
import pyarrow as pa
from langdetect import DetectorFactory, LangDetectException
from pydantic import Field

from builder.stages import register
from builder.stages.base import Batch, Stage, StageParams
from builder.stages.quality.code import code_lines_of
from builder.text import script as scripts
from builder.text.langdetect_profiles import load_factory
from builder.text.script import script_counts, script_evidence, script_from_evidence

# A word of an alphabetic language carries about as much as a Chinese word, which is one to
# two characters: a word weighs one CJK character. (Letters, three to a character, made a
# page of long English titles outweigh the Chinese notice quoting them.)
CJK_CHARACTERS_PER_WORD = 1.0
# Share of a line's CJK characters that must be kana (or Japanese-only kanji) / Hangul for
# that script to decide. Chinese never needs either, and stray ones (GBK mojibake of UTF-8
# yields a few kana, a quoted Korean name) stay well under it; Japanese prose runs at
# 30-70% kana and Korean at nearly all Hangul.
DECIDING_SCRIPT_SHARE = 0.1
# Lines are labelled with these codes before the document is decided.
UND, ZH, JA, KO, UNDECIDED = range(5)
SCRIPT_LANGUAGE = {ZH: "zh", JA: "ja", KO: "ko"}


class LanguageParams(StageParams):
    keep: list[str] = Field(["zh"], description="Languages (ISO 639-1) whose documents are kept.")
    scripts: list[Literal["Hans", "Hant", "mixed"]] = Field(
        ["Hans", "Hant"], description="Scripts of Chinese documents to keep; `mixed` has both substantially."
    )
    min_score: float = Field(
        0.5, ge=0, le=1, description="Drop documents whose label covers less than this share of their text."
    )
    min_zh_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A document is zh when its zh lines hold at least this share of its text "
        "(CJK characters, alphabetic words counted one to a character).",
    )
    drop_other_paragraphs: bool = Field(
        False, description="In a kept document, remove the lines in languages not in `keep`."
    )
    sample_chars: int = Field(
        1000, ge=100, description="Most characters langdetect reads per document, sampled from across it."
    )
    seed: int = Field(0, description="langdetect's random seed (its answers are sampled).")


@functools.cache
def _detector_factory(seed: int) -> DetectorFactory:
    """One langdetect factory per process and seed, its profiles read lazily (`builder.text.langdetect_profiles`).

    What the process holds by now (modules, tables, the profiles' 87,000-word dict) lives as long as it
    does: `gc.freeze` keeps every later full collection from walking it again (0.1 s a collection before)."""
    factory = load_factory(seed)
    gc.freeze()
    return factory


def _line_labels(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label code, weight and undecided remainder of every line.

    CJK characters weigh one each and alphabetic text one per word: a Chinese notice quoting
    long English titles stays Chinese, which counting letters (long words, ~5 a word) lost.
    A line with Han and no kana or Hangul evidence is zh for its CJK characters; the words
    beside them (a bilingual line, inline code) are left undecided rather than handing the
    whole line to the detector. Lines without CJK are undecided as a whole.
    """
    han = counts[:, scripts.HAN_CLASSES].sum(axis=1)
    kana, hangul = counts[:, scripts.KANA], counts[:, scripts.HANGUL]
    japanese = kana + counts[:, scripts.HAN_JAPANESE]
    cjk = han + kana + hangul
    words = counts[:, scripts.WORDS] * CJK_CHARACTERS_PER_WORD
    threshold = DECIDING_SCRIPT_SHARE * cjk
    korean = (hangul > 0) & (hangul >= threshold) & (hangul >= japanese)
    is_japanese = (japanese > 0) & (japanese >= threshold)
    labels = np.select(
        [(cjk == 0) & (words == 0), cjk == 0, korean, is_japanese], [UND, UNDECIDED, KO, JA], default=ZH
    )
    mixed_zh = labels == ZH
    weights = np.where(mixed_zh, cjk, cjk + words).astype(np.float64)
    remainder = np.where(mixed_zh, words, 0).astype(np.float64)
    return labels, weights, remainder


def _evenly_spaced_sample(text: str, budget: int, pieces: int = 4) -> str:
    """`budget` characters as `pieces` windows spread over the text (pages open with menus)."""
    if len(text) <= budget:
        return text
    width = budget // pieces
    step = (len(text) - width) / (pieces - 1)
    return "\n".join(text[round(i * step) : round(i * step) + width] for i in range(pieces))


@register
class Language(Stage):
    type = "language"
    Params = LanguageParams

    def __init__(self, params: LanguageParams):
        super().__init__(params)

    @property
    def factory(self) -> DetectorFactory:
        """langdetect's profiles, loaded at the first text scripts cannot decide (a second of
        start-up that a process only asking for `columns()`, or a batch of plain Chinese, skips)."""
        return _detector_factory(self.params.seed)

    def columns(self) -> dict[str, pa.DataType]:
        return {"lang": pa.string(), "script": pa.string(), "lang_score": pa.float32()}

    def detect(self, text: str, han: bool, kana: bool, hangul: bool) -> tuple[str, float] | None:
        """langdetect's best language and its probability (zh-cn + zh-tw count as zh).

        Languages whose script is absent get prior 0: Han text without Hangul is never
        Korean, whatever langdetect's Han clusters suggest.
        """
        ruled_out = set()
        if not han:
            ruled_out |= {"zh-cn", "zh-tw"}
        if not kana:
            ruled_out.add("ja")
        if not hangul:
            ruled_out.add("ko")
        detector = self.factory.create()
        detector.set_prior_map({lang: 1.0 for lang in self.factory.get_lang_list() if lang not in ruled_out})
        detector.append(text)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return None
        probabilities: Counter = Counter()
        for candidate in found:
            probabilities[candidate.lang.split("-")[0]] += candidate.prob
        if not probabilities:
            return None
        return min(probabilities.items(), key=lambda item: (-item[1], item[0]))

    def __call__(self, batch: Batch) -> Batch:
        params = self.params
        rows = list(batch.live_rows())
        texts = list(batch["text"])
        counts, lines_per_text = script_counts([texts[row] for row in rows])
        labels, weights, remainders = _line_labels(counts)
        # Program code in a Chinese tutorial is in no language: it counts for none (not for English).
        code = code_lines_of([texts[row] for row in rows])[0]
        labels[code], weights[code], remainders[code] = UND, 0, 0
        first_line = np.concatenate(([0], np.cumsum(lines_per_text)))

        langs: list[str | None] = [None] * len(batch)
        own_scripts: list[str | None] = [None] * len(batch)
        scores: list[float | None] = [None] * len(batch)
        for position, row in enumerate(rows):
            lines = slice(first_line[position], first_line[position + 1])
            line_labels, line_weights, line_counts = labels[lines], weights[lines], counts[lines]
            weight_by_label = np.bincount(line_labels, weights=line_weights, minlength=5)
            weight_by_label[UNDECIDED] += remainders[lines].sum()
            total = weight_by_label.sum()
            undecided = line_labels == UNDECIDED
            # The detector also reads zh lines whose words were left undecided (bilingual lines).
            to_detect = undecided | (remainders[lines] > 0)
            certain_zh = total > 0 and weight_by_label[ZH] >= params.min_zh_share * total
            detected = None
            if to_detect.any() and (not certain_zh or params.drop_other_paragraphs):
                detected = self.detect_undecided(texts[row], to_detect, line_counts[to_detect])
                batch.count("language.detector_runs")
            lang, score = self.decide(weight_by_label, total, detected)
            zh_lines = line_labels == ZH
            if detected is not None and detected[0] == "zh":
                zh_lines |= undecided
            script = None
            if lang == "zh":
                script = script_from_evidence(*script_evidence(line_counts[zh_lines]))
            langs[row], own_scripts[row], scores[row] = lang, script, score
            batch.count(f"language.lang.{lang}")
            kept_script = batch["script"][row] if "script" in batch else script
            if lang not in params.keep:
                batch.drop(row, "language.not_kept", detail=f"{lang} {score:.3f}")
            elif score < params.min_score:
                batch.drop(row, "language.low_score", detail=f"{lang} {score:.3f}")
            elif lang == "zh" and kept_script not in params.scripts:
                batch.drop(row, "language.script", detail=f"{kept_script} (zh {score:.3f})")
            elif params.drop_other_paragraphs:
                texts[row] = self.without_other_lines(batch, texts[row], line_labels, detected)

        batch["text"], batch["lang"], batch["lang_score"] = texts, langs, scores
        if "script" not in batch:
            batch["script"] = own_scripts
        return batch

    def detect_undecided(self, text: str, undecided: np.ndarray, counts: np.ndarray) -> tuple[str, float] | None:
        lines = text.split("\n")
        undecided_text = "\n".join(line for line, flag in zip(lines, undecided) if flag)
        totals = counts.sum(axis=0)
        return self.detect(
            _evenly_spaced_sample(undecided_text, self.params.sample_chars),
            han=bool(totals[scripts.HAN_CLASSES].sum()),
            kana=bool(totals[scripts.KANA]),
            hangul=bool(totals[scripts.HANGUL]),
        )

    def decide(
        self, weight_by_label: np.ndarray, total: float, detected: tuple[str, float] | None
    ) -> tuple[str, float]:
        """Document label and score: the share of its text confidently in that language.

        Lines the scripts decided count with confidence 1, undecided lines with
        langdetect's probability; undecided lines nobody looked at count for no language.
        """
        if total == 0:
            return "und", 0.0
        weight: Counter = Counter()
        confident: Counter = Counter()
        for label, lang in SCRIPT_LANGUAGE.items():
            weight[lang] += weight_by_label[label]
            confident[lang] += weight_by_label[label]
        if detected is not None:
            lang, probability = detected
            weight[lang] += weight_by_label[UNDECIDED]
            confident[lang] += weight_by_label[UNDECIDED] * probability
        if weight["zh"] >= self.params.min_zh_share * total:
            best = "zh"
        else:
            best = min(weight.items(), key=lambda item: (-item[1], item[0]))[0]
            if weight[best] == 0:
                return "und", 0.0
        return best, float(confident[best] / total)

    def without_other_lines(
        self, batch: Batch, text: str, line_labels: np.ndarray, detected: tuple[str, float] | None
    ) -> str:
        """The text minus lines whose language is not kept, each with the blank lines after it."""
        line_lang = dict(SCRIPT_LANGUAGE)
        if detected is not None:
            line_lang[UNDECIDED] = detected[0]
        lines = text.split("\n")
        drop = [line_lang.get(label) not in (None, *self.params.keep) for label in line_labels]
        if not any(drop):
            return text
        batch.count("language.paragraphs_dropped", sum(drop))
        kept: list[str] = []
        skipping_blanks = False
        for line, dropped in zip(lines, drop):
            if dropped:
                skipping_blanks = True
            elif not (skipping_blanks and not line.strip()):
                kept.append(line)
                skipping_blanks = False
        while kept and not kept[-1].strip() and drop[-1]:
            kept.pop()
        return "\n".join(kept)
