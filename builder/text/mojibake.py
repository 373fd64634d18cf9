"""CJK mojibake: reverse the round trips that are reversible, measure the damage that is not.

Chinese text is damaged in two ways. Reversible: the right bytes were decoded with the
wrong codec (UTF-8 read as GBK/GB18030/Big5, GBK or Big5 read as Latin-1/Windows-1252,
or one of those twice); re-encoding with the wrong codec gives the bytes back. Lossy: bytes
were replaced before we saw them (U+FFFD, `锟斤拷` which is U+FFFD's UTF-8 read as GBK,
`烫烫烫`/`屯屯屯` from uninitialised buffers, `?` where an encoder could not map a
character). Lossy damage is never guessed at: it is measured by `mojibake_ratio` so the
quality stage can decide what to keep.

A span is repaired only when the decoded result is clearly better Chinese, judged by the
share of common characters (GB2312 level 1, Big5 level 1, CJK punctuation, full-width
forms): real mojibake is made of rare characters, real text of common ones.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from builder.text.chars import CJK_PUNCTUATION, HAN_RANGES, HAN_RE

REPLACEMENT = "\ufffd"
# Byte that can never occur in UTF-8: stands for a byte lost to U+FFFD while re-encoding.
LOST_BYTE = b"\xff"


def _double_byte_chars(codec: str, leads: range, trails: range) -> set[str]:
    found = set()
    for lead in leads:
        for trail in trails:
            try:
                found.add(bytes((lead, trail)).decode(codec))
            except UnicodeDecodeError:
                continue
    return found


def _common_chars() -> frozenset[str]:
    """GB2312 level 1 (3,755 most used simplified) and Big5 level 1 (5,401 most used traditional)."""
    gb_level1 = _double_byte_chars("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF))
    big5_level1 = _double_byte_chars("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    full_width = {chr(c) for c in range(0xFF01, 0xFF5F)}
    return frozenset(gb_level1 | big5_level1 | full_width | set(CJK_PUNCTUATION) | {"、", "〇"})


COMMON_CHARS = _common_chars()

# Characters that the lead-and-continuation byte pair of a UTF-8 CJK character or of
# general punctuation such as “”—… (E2-EF, 80-BF)
# turns into when read as GBK or Big5. Mojibake of Chinese has one every two or three
# characters; clean text almost never has two of them that close.
UTF8_LEAD_PAIR_CHARS = {
    "gb18030": _double_byte_chars("gb18030", range(0xE2, 0xF0), range(0x80, 0xC0)),
    "big5hkscs": _double_byte_chars("big5hkscs", range(0xE2, 0xF0), range(0x80, 0xC0)),
}


def _class(chars: set[str]) -> str:
    return "".join(re.escape(c) for c in sorted(chars))


# Two lead pairs close together, or one next to a lost byte: cheap enough to run on every
# text (no alternation at the start, so the regex engine can scan for the first class).
UTF8_READ_AS_RE = {
    codec: re.compile(f"[{_class(chars)}](?:[^\\n]{{0,2}}[{_class(chars)}]|\ufffd)")
    for codec, chars in UTF8_LEAD_PAIR_CHARS.items()
}
_ANY_LEAD_PAIR = _class(set().union(*UTF8_LEAD_PAIR_CHARS.values()))
# Both codecs at once, for the common case of a text with no candidate at all.
UTF8_READ_AS_ANY_RE = re.compile(f"[{_ANY_LEAD_PAIR}](?:[^\\n]{{0,2}}[{_ANY_LEAD_PAIR}]|\ufffd)")
LOST_BYTE_THEN_ANY_LEAD_PAIR_RE = re.compile(f"\ufffd[{_ANY_LEAD_PAIR}]")
LOST_BYTE_THEN_LEAD_PAIR_RE = {
    codec: re.compile(f"\ufffd[{_class(chars)}]") for codec, chars in UTF8_LEAD_PAIR_CHARS.items()
}
# Windows-1252 letters outside Latin-1 that a high byte becomes when read as cp1252.
CP1252_EXTRA = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
LATIN1_HIGH_CLASS = f"\u0080-\u00ff{CP1252_EXTRA}"
# Two high Latin-1/cp1252 characters in a row: every GBK/Big5 double-byte character read
# as Latin-1 looks like this; French or German words rarely do, and are checked after.
LATIN1_PAIR_RE = re.compile(f"[{LATIN1_HIGH_CLASS}][{LATIN1_HIGH_CLASS}]")
# A run may end on an ASCII character: GBK and Big5 trail bytes 40-7E read as ASCII.
# Its ends are letters, never the typographic quotes and dashes that Chinese text puts
# right next to mojibake (“ and ” are cp1252 bytes too, but a span starting on one would
# be read one byte out of step).
CP1252_TYPOGRAPHY = "‘’“”•–—…"
LATIN1_EDGE_CLASS = f"\u0080-\u00ff{''.join(c for c in CP1252_EXTRA if c not in CP1252_TYPOGRAPHY)}"
LATIN1_RUN_RE = re.compile(
    f"[{LATIN1_EDGE_CLASS}][{LATIN1_HIGH_CLASS}\\x20-\\x7e]*[{LATIN1_EDGE_CLASS}][\\x40-\\x7e]?"
)

HAN_CLASS = HAN_RANGES
PINYIN_LETTERS = "a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüê"
# `?` left where an encoder could not map a character. A `?` is a real question mark when
# it ends a clause; inside Chinese it is a lost character. Strong forms: several `?` before
# Han, `?` right before Chinese punctuation, `?` after Chinese punctuation and before Han,
# `?` followed by the tail of a pinyin annotation whose `(` was swallowed (`?cè)`).
# (Every pattern opens with a literal `?` and looks behind only after it, so the regex
# engine scans for `?` at memchr speed instead of trying every position.)
LOST_QUESTION_STRONG_RE = re.compile(
    f"\\?(?:(?<=[{HAN_CLASS}]\\?)\\?*(?=[，。、；：])"
    f"|(?<=[，。、；：“”（）]\\?)\\?*(?=[{HAN_CLASS}])"
    f"|\\?+(?=[{HAN_CLASS}])"
    f"|\\?*(?=[{PINYIN_LETTERS}]{{1,6}}\\)))"
)
# Weak form, `Han?Han`: also how people type a question mark with half-width punctuation,
# so it counts only in a text that has strong evidence of lost characters.
LOST_QUESTION_WEAK_RE = re.compile(f"\\?(?<=[{HAN_CLASS}]\\?)(?=[{HAN_CLASS}])")
LOSSY_MARKERS = ("\ufffd", "锟斤拷", "烫烫烫", "屯屯屯")
LOSSY_MARKER_RE = re.compile("\ufffd+|(?:锟斤拷)+|烫{3,}|屯{3,}")


@dataclass(frozen=True)
class Repair:
    start: int
    end: int
    replacement: str
    kind: str  # e.g. "utf8_as_gb18030", "gb18030_as_latin1"


# A repair is clearly better when the result is mostly common characters and much more
# so than the span it replaces. Clean text is already mostly common, so it can never gain
# enough, whatever the bytes happen to decode to.
MIN_COMMON_AFTER = 0.7
MIN_COMMON_GAIN = 0.4


def common_share(text: str) -> float:
    """Share of non-ASCII characters that are common Chinese characters or punctuation."""
    wide = [c for c in text if c > "\x7f" and c != REPLACEMENT]
    if not wide:
        return 0.0
    return sum(c in COMMON_CHARS for c in wide) / len(wide)


@lru_cache(maxsize=65536)
def _encoded_len(ch: str, codec: str) -> int:
    return len(ch.encode(codec))


def _is_surrogate(ch: str) -> bool:
    return "\udc80" <= ch <= "\udcff"


class _Line:
    """One line re-encoded with the codec that misread it, with a byte -> character map."""

    def __init__(self, line: str, codec: str):
        self.line = line
        self.data = LOST_BYTE.join(p.encode(codec, errors="strict") for p in line.split(REPLACEMENT))
        self.starts = []
        offset = 0
        for ch in line:
            self.starts.append(offset)
            offset += 1 if ch == REPLACEMENT else _encoded_len(ch, codec)
        self.lost_or_lead_pair = {REPLACEMENT} | UTF8_LEAD_PAIR_CHARS[codec]

    def char_at(self, byte: int) -> int:
        return bisect_right(self.starts, byte) - 1

    def only_damage_inside(self, start: int, end: int) -> bool:
        """Characters lying wholly in bytes [start, end) are lost bytes or UTF-8 lead pairs.

        Guards against taking clean text next to a gap for damage: clean characters are
        almost never a UTF-8 lead byte followed by a continuation byte.
        """
        first = self.char_at(start)
        if self.starts[first] < start:
            first += 1
        for i in range(first, len(self.line)):
            char_end = self.starts[i + 1] if i + 1 < len(self.line) else len(self.data)
            if char_end > end:
                break
            if self.line[i] not in self.lost_or_lead_pair:
                return False
        return True


def _tokens(data: bytes) -> list[tuple[str, int, int]]:
    """Decoded UTF-8 characters and gaps of undecodable bytes as (char or "", start, end)."""
    tokens: list[tuple[str, int, int]] = []
    position = 0
    for ch in data.decode("utf-8", errors="surrogateescape"):
        size = 1 if _is_surrogate(ch) else len(ch.encode("utf-8"))
        if _is_surrogate(ch):
            if tokens and tokens[-1][0] == "":
                tokens[-1] = ("", tokens[-1][1], position + 1)
            else:
                tokens.append(("", position, position + 1))
        else:
            tokens.append((ch, position, position + size))
        position += size
    return tokens


def _bridgeable(line: _Line, start: int, end: int) -> bool:
    """A gap inside a repaired span: bytes lost to U+FFFD plus the broken characters around them."""
    gap = line.data[start:end]
    return LOST_BYTE in gap and end - start <= 9 and line.only_damage_inside(start, end)


def _edge(line: _Line, start: int, end: int, leading: bool) -> int | None:
    """How much of a gap next to a span to take in with it (as one U+FFFD), or None."""
    boundaries = [b for b in line.starts[line.char_at(start) :] if start <= b <= end]
    if not leading:
        boundaries = [b for b in reversed(boundaries) if b > start] + ([end] if end == len(line.data) else [])
    for cut in boundaries:
        lo, hi = (cut, end) if leading else (start, cut)
        if LOST_BYTE in line.data[lo:hi] and line.only_damage_inside(lo, hi):
            return cut
    return None


def _plausible_edge(ch: str) -> bool:
    """A repaired span starts and ends with Chinese or punctuation: a stray decoded `ʱ` at
    its edge is clean text that happened to form valid UTF-8 with the mojibake's last bytes."""
    return ch in COMMON_CHARS or "\u2010" <= ch <= "\u205e" or HAN_RE.match(ch) is not None


def _clean_straddle(line: _Line, byte: int) -> bool:
    """True when a decoded span boundary at `byte` cuts into a character that looks clean
    (common, not a UTF-8 lead pair).

    Aligned mojibake starts at a character boundary and ends at one (or inside a
    character that was itself mojibake); a decoded character reaching into a common
    character is clean text that happened to continue the UTF-8.
    """
    if byte >= len(line.data):
        return False
    i = line.char_at(byte)
    if line.starts[i] == byte:
        return False
    ch = line.line[i]
    return ch in COMMON_CHARS and ch not in line.lost_or_lead_pair


def _utf8_runs(line_text: str, codec: str) -> list[Repair]:
    """Spans of a line whose `codec` bytes are valid UTF-8, as repairs still to judge.

    U+FFFD in the line stands for a byte the first decoder dropped; it becomes a byte
    impossible in UTF-8, and a short gap made of such lost bytes and the characters they
    broke comes back as one U+FFFD inside the repaired span.
    """
    line = _Line(line_text, codec)
    tokens = _tokens(line.data)
    repairs = []
    i = 0
    while i < len(tokens):
        if not _plausible_edge(tokens[i][0]) or _clean_straddle(line, tokens[i][1]):
            i += 1
            continue
        j = i
        while j + 1 < len(tokens):
            nxt = tokens[j + 1]
            if nxt[0] != "" or (j + 2 < len(tokens) and tokens[j + 2][0] > "\x7f" and _bridgeable(line, nxt[1], nxt[2])):
                j += 1
            else:
                break
        end = j
        while end > i and (not _plausible_edge(tokens[end][0]) or _clean_straddle(line, tokens[end][2])):
            end -= 1
        run = tokens[i : end + 1]
        wide = sum(1 for ch, _, _ in run if ch > "\x7f" and ch != REPLACEMENT)
        if wide >= 2:
            text = "".join(ch or REPLACEMENT for ch, _, _ in run)
            byte_start, byte_end = run[0][1], run[-1][2]
            if i > 0 and tokens[i - 1][0] == "":
                cut = _edge(line, tokens[i - 1][1], tokens[i - 1][2], leading=True)
                if cut is not None:
                    text, byte_start = REPLACEMENT + text, cut
            if end + 1 < len(tokens) and tokens[end + 1][0] == "":
                cut = _edge(line, tokens[end + 1][1], tokens[end + 1][2], leading=False)
                if cut is not None:
                    text, byte_end = text + REPLACEMENT, cut
            repairs.append(Repair(line.char_at(byte_start), line.char_at(byte_end - 1) + 1, text, f"utf8_as_{codec}"))
        i = j + 1
    return repairs


def _is_better(original: str, replacement: str) -> bool:
    """A repair must use more common characters and never add U+FFFD."""
    if replacement.count(REPLACEMENT) > original.count(REPLACEMENT):
        return False
    if any("\ue000" <= c <= "\uf8ff" or c < " " and c not in "\t\n" for c in replacement):
        return False
    before, after = common_share(original), common_share(replacement)
    return after >= MIN_COMMON_AFTER and after - before >= MIN_COMMON_GAIN


def _windows(line: str, hits: list[re.Match], margin: int = 32) -> list[tuple[int, int]]:
    """Stretches of a line around prefilter hits, merged where they touch.

    Mojibake of Chinese has a lead pair every two or three characters, so the hits of one
    damaged span overlap and its window covers it; a long clean line with one chance hit
    costs a few characters instead of the whole line.
    """
    windows: list[tuple[int, int]] = []
    for hit in hits:
        start, end = max(0, hit.start() - margin), min(len(line), hit.end() + margin)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


def _hit_reads_as_utf8(hit: str, codec: str) -> bool:
    """A prefilter hit starts on a lead pair, so real mojibake decodes from its first byte:
    clean Traditional text full of 電 於 類 almost never gives a common character."""
    data = hit.encode(codec, errors="ignore")
    return any(ch in COMMON_CHARS for ch in data.decode("utf-8", errors="ignore"))


@lru_cache(maxsize=4096)
def _line_repairs(line: str, codec: str) -> tuple[Repair, ...]:
    """Judged repairs for one line (cached: `mojibake_ratio` re-reads lines `repair_mojibake` saw)."""
    hits = [hit for hit in UTF8_READ_AS_RE[codec].finditer(line) if _hit_reads_as_utf8(hit.group(), codec)]
    if REPLACEMENT in line:
        hits = sorted(hits + list(LOST_BYTE_THEN_LEAD_PAIR_RE[codec].finditer(line)), key=lambda m: m.start())
    repairs = []
    for start, end in _windows(line, hits):
        window = line[start:end]
        try:
            candidates = _utf8_runs(window, codec)
        except UnicodeEncodeError:
            continue
        for r in candidates:
            if _is_better(window[r.start : r.end], r.replacement):
                repairs.append(Repair(start + r.start, start + r.end, r.replacement, r.kind))
    return tuple(repairs)


def _has_utf8_misread_hint(text: str) -> bool:
    return UTF8_READ_AS_ANY_RE.search(text) is not None or (
        REPLACEMENT in text and LOST_BYTE_THEN_ANY_LEAD_PAIR_RE.search(text) is not None
    )


def find_utf8_misread(text: str) -> list[Repair]:
    """UTF-8 bytes that were decoded as GB18030 or Big5, with what they say."""
    repairs: list[Repair] = []
    if not _has_utf8_misread_hint(text):
        return repairs
    for codec, pattern in UTF8_READ_AS_RE.items():
        hits = [hit.start() for hit in pattern.finditer(text) if _hit_reads_as_utf8(hit.group(), codec)]
        if REPLACEMENT in text:
            hits += [hit.start() for hit in LOST_BYTE_THEN_LEAD_PAIR_RE[codec].finditer(text)]
        line_end = -1
        for hit in sorted(hits):
            if hit < line_end:
                continue
            line_start = text.rfind("\n", 0, hit) + 1
            line_end = text.find("\n", hit)
            line_end = len(text) if line_end < 0 else line_end
            for r in _line_repairs(text[line_start:line_end], codec):
                repairs.append(Repair(line_start + r.start, line_start + r.end, r.replacement, r.kind))
        if repairs:
            break
    return repairs


# Each high byte as Latin-1 and as Windows-1252 shows it; mojibake often mixes the two
# (cp1252 has no letter for 81 8D 8F 90 9D, so those stay Latin-1 controls).
SINGLE_BYTE = {chr(b): b for b in range(256)} | {
    bytes([b]).decode("cp1252"): b for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


def _strict_utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _legacy_candidates(span: str) -> list[tuple[str, str]]:
    raw = bytes(SINGLE_BYTE[c] for c in span)
    out = []
    codecs = ("utf-8", "gb18030", "big5hkscs")
    for cut in (1, 2, 3):
        head = _strict_utf8(raw[:-cut])
        if head is not None and sum(c > "\x7f" for c in head) >= 2:
            # UTF-8 cut short at the span's end (`è§‚å`): GBK would read it into new mojibake.
            codecs = ("utf-8",)
            break
    for codec in codecs:
        try:
            out.append((raw.decode(codec), codec))
        except UnicodeDecodeError:
            continue
    return out


# A word in Latin script: ASCII letters, Latin-1 letters (not `×÷`), Latin Extended-A/B
# (Romanian ș ț ă, Polish, Czech) and Latin Extended Additional (Vietnamese ệ ố ừ).
LATIN_WORD_RE = re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]+")
# Accented letters that European languages write (French, German, Spanish, Portuguese,
# Italian, Romanian, Nordic, Vietnamese's Latin-1 ones). Left out: `Ð Þ ð þ` (Icelandic
# only, and common in mojibake), `ª º µ` (not letters of words), cp1252's `ƒ`.
EUROPEAN_ACCENTED = frozenset(
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœšžÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŸŒŠŽ"
)


def reads_as_latin_word(word: str) -> bool:
    """A Latin word with diacritics that looks like a real European word, not mojibake.

    Real words carry their accents as at most half of their letters, with two plain
    letters at least (`România`, `Größe`, `informação`; `été` is too short to tell), use accented letters that European languages write,
    and are lower case, capitalised or all capitals. GBK or Big5 read as Latin-1 is the
    opposite: runs of high letters with random case (`ÖÐÎÄ`, `µÄ`, `Äã`), often Icelandic
    `Ð`/`Þ`, with few or no plain letters between them.
    """
    plain = sum(1 for c in word if c < "\x80")
    accented = len(word) - plain
    if plain < 2 or accented > plain:
        return False
    if word.isupper() and (len(word) < 4 or plain < 3):
        return False  # `FÄI`, `LÂW`: GBK trail bytes read as capitals
    if not (word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())):
        return False
    return all(c < "\x80" or c in EUROPEAN_ACCENTED or ("\u0100" <= c and c != "\u0192") for c in word)


def _is_latin1_high(ch: str) -> bool:
    return "\x80" <= ch <= "\xff" or ch in CP1252_EXTRA


def _is_capitalised(word: str) -> bool:
    return "A" <= word[0] <= "Z" and word[1:].islower()


def _is_glued_name(word: str) -> bool:
    """A capitalised word of five letters or more, three plain, right after high letters
    (`ÎÅRomânia`); shorter tails (`éLßh`) are as likely GBK trail bytes."""
    plain = sum(1 for c in word if c < "\x80")
    return len(word) >= 5 and plain >= 3 and _is_capitalised(word) and reads_as_latin_word(word)


def _mask_latin_words(text: str) -> str:
    """`text` with every real Latin word that has accents (see `reads_as_latin_word`)
    blanked out by newlines: offsets stay, and no mojibake run can reach into the word.

    A word with a Latin-1 symbol or control glued to its end (`Pythoní\x97Ä¿`) is
    inside mojibake, not a word; glued to its start, only a capitalised word (a name right
    after mojibake, `Ï¢Thành`) is still one (`\x95rég`, `¤MÀNÀN` are not).
    """
    pieces = []
    position = 0
    for m in LATIN_WORD_RE.finditer(text):
        word = m.group()
        if word.isascii() or (m.end() < len(text) and _is_latin1_high(text[m.end()])):
            continue
        start = m.start()
        after_symbol = start > 0 and _is_latin1_high(text[start - 1])
        if not reads_as_latin_word(word) or (after_symbol and not _is_capitalised(word)):
            # Mojibake glued to the front of a capitalised word (`ÎÅRomânia`): the word
            # starts at a plain capital right after the high letters.
            tails = [i for i in range(1, len(word)) if "A" <= word[i] <= "Z" and word[i - 1] >= "\x80"]
            start = next((m.start() + i for i in tails if _is_glued_name(word[i:])), None)
            if start is None or text[start : m.end()].isascii():
                continue
        pieces += [text[position:start], "\n" * (m.end() - start)]
        position = m.end()
    if not pieces:
        return text
    pieces.append(text[position:])
    return "".join(pieces)


def _is_latin_letter(ch: str) -> bool:
    return LATIN_WORD_RE.match(ch) is not None


def _legacy_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of `LATIN1_RUN_RE`, cut where a real Latin word stands.

    Only the words a run starts or ends in, and those inside it, are looked at: the rest
    of the text costs nothing.
    """
    runs: list[tuple[int, int]] = []
    for m in LATIN1_RUN_RE.finditer(text):
        lo, hi = m.span()
        while lo > 0 and _is_latin_letter(text[lo - 1]):
            lo -= 1
        while hi < len(text) and _is_latin_letter(text[hi]):
            hi += 1
        # One character of context each side: masking looks at a word's neighbours.
        context = max(0, lo - 1)
        segment = text[context : hi + 1]
        masked = _mask_latin_words(segment)
        found = [m.span()] if masked is segment else [
            (context + s.start(), context + s.end()) for s in LATIN1_RUN_RE.finditer(masked)
        ]
        for start, end in found:
            if not runs or start >= runs[-1][1]:
                runs.append((start, end))
    return runs


def find_legacy_misread(text: str) -> list[Repair]:
    """UTF-8, GBK or Big5 bytes that were decoded as Latin-1 or Windows-1252.

    Runs are found with real Latin words masked out: a word like `România` or `théâtre`
    is never read as bytes, even when mojibake stands next to it on the same line.
    """
    repairs: list[Repair] = []
    if not LATIN1_PAIR_RE.search(text):
        return repairs
    for start, end in _legacy_runs(text):
        span = text[start:end]
        best = None
        candidates = _legacy_candidates(span)
        if span[-1] < "\x80":
            candidates += [(decoded + span[-1], codec) for decoded, codec in _legacy_candidates(span[:-1])]
        for decoded, codec in candidates:
            wide = sum(1 for c in decoded if c > "\x7f")
            if wide < 2 or not _is_better(span, decoded):
                continue
            score = common_share(decoded)
            if best is None or score > best[0]:
                best = (score, decoded, codec)
        if best is not None:
            repairs.append(Repair(start, end, best[1], f"{best[2]}_as_latin1"))
    return repairs


def _apply(text: str, repairs: list[Repair]) -> str:
    out = []
    position = 0
    for r in sorted(repairs, key=lambda r: r.start):
        if r.start < position:
            continue
        out.append(text[position : r.start])
        out.append(r.replacement)
        position = r.end
    out.append(text[position:])
    return "".join(out)


def might_be_mojibake(text: str) -> bool:
    """Cheap test that `repair_mojibake` could find a candidate span (it may still decline)."""
    return LATIN1_PAIR_RE.search(text) is not None or _has_utf8_misread_hint(text)


def repair_mojibake(text: str, max_rounds: int = 3) -> tuple[str, int]:
    """Undo reversible CJK mojibake; returns (text, number of spans repaired).

    Rounds repeat because double encodings peel one layer per round.
    """
    repaired = 0
    for _ in range(max_rounds):
        repairs = find_utf8_misread(text) + find_legacy_misread(text)
        if not repairs:
            break
        text = _apply(text, repairs)
        repaired += len(repairs)
    return text, repaired


def lossy_evidence(text: str) -> int:
    """Characters that show lost information: U+FFFD, `锟斤拷`, `烫烫烫`, lost `?`."""
    count = 0
    if any(marker in text for marker in LOSSY_MARKERS):
        count = sum(len(m) for m in LOSSY_MARKER_RE.findall(text))
    if "?" not in text:
        return count
    strong = sum(len(m) for m in LOST_QUESTION_STRONG_RE.findall(text))
    if strong:
        strong += len(LOST_QUESTION_WEAK_RE.findall(text))
    return count + strong


def unrepaired_residue(text: str) -> int:
    """Characters of mojibake spans that a repair would reverse but that are still there."""
    return sum(r.end - r.start for r in find_utf8_misread(text) + find_legacy_misread(text))


def mojibake_ratio(text: str, residue: int | None = None) -> float:
    """Share of characters that are mojibake evidence (lossy damage or unrepaired residue).

    `residue` lets a caller that has just run `repair_mojibake` to a fixed point pass 0
    instead of searching again.
    """
    if not text:
        return 0.0
    if residue is None:
        residue = unrepaired_residue(text)
    return min(1.0, (lossy_evidence(text) + residue) / len(text))
