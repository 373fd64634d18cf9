"""One HTML page's bytes -> its text: the charset from the source, the url, the main content.

Charset evidence in the order a browser weighs it: the HTTP `Content-Type` charset, a BOM,
`<meta charset>` / `http-equiv`, then detection (`builder.text.decode`, which prefers GB18030
and Big5-HKSCS over their subsets). A declaration is believed only if the bytes agree: bytes that
are valid UTF-8 with non-ASCII characters contradict any legacy charset (Chinese pages that declare
`gb2312` and are UTF-8 are common), and a Chinese codec that reads as rare characters while the
other Chinese codec reads as common ones is contradicted (Big5 bytes also decode as GBK).

Extraction uses resiliparse's `extract_plain_text` on one parsed tree: `main` keeps the page's
main content (its heuristics, plus elements hidden by class, which hold collapsed forum replies,
less related-article blocks), `full` every visible text block, as a WET file holds it. Chosen by
measurement on annotated Chinese pages (`benchmarks/eval_extract.py`): higher recall than
trafilatura, lower precision (the quality stage's line cleaning follows), five to ten times faster.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Literal

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from builder.text.decode import BOMS, CHINESE_CODECS, MIN_COMMON_SHARE, SINGLE_BYTE_CHARSETS, UndecodableBytes, canonical_charset, decode_bytes
from builder.text.mojibake import common_share

ExtractMode = Literal["main", "full"]
CharsetSource = Literal["http", "bom", "meta", "detected"]

# `<meta charset=x>`, `<meta http-equiv=Content-Type content="text/html; charset=x">` and a feed's
# `<?xml encoding="x"?>` alike;
# pages saved from a browser's DOM put the meta late, so look further than the HTML5 1,024 bytes.
META_CHARSET_RE = re.compile(
    rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|<\?xml\b[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
META_SNIFF_BYTES = 16_384
# Judging a Chinese codec by its common characters needs a sample, not the whole page.
SHARE_SAMPLE_CHARS = 200_000
# `main`: blocks of links to other articles, named so in English or pinyin (推荐 tuijian, 相关 xiangguan),
# are not main content; resiliparse's own heuristics miss them. Only container tags, so a <body> or
# <article> whose class happens to say "related" is never skipped whole. On realweb main_content:
# non-main characters removed 0.767 -> 0.781, recall unchanged (benchmarks/eval_extract.py).
RELATED_BLOCKS = [
    f'{tag}[{attr}*="{word}" i]'
    for tag in ("div", "section", "aside", "ul")
    for attr in ("id", "class")
    for word in ("related", "recommend", "tuijian", "xiangguan")
]
# <link> and <meta> tags, and their attributes (quoted or not), for the canonical url.
HEAD_TAG_RE = re.compile(r"<(link|meta)\b[^>]*>", re.IGNORECASE)
ATTR_RE = re.compile(r"""([A-Za-z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
URL_SNIFF_CHARS = 200_000
# A declared UTF-8 page is still believed with one broken sequence per this many bytes.
UTF8_BYTES_PER_ERROR = 10_000
HTML_START_RE = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)
BLANK_RUN_RE = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class DecodedPage:
    text: str
    charset: str  # the codec that decoded the bytes (canonical: gb18030 for gb2312/gbk, big5hkscs for big5)
    source: CharsetSource
    declared: tuple[tuple[str, str], ...]  # (source, charset as declared) that were not believed


def charset_from_content_type(value: str | None) -> str | None:
    """`text/html; charset="GBK"` -> `GBK`."""
    if not value:
        return None
    match = re.search(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", value, re.IGNORECASE)
    return match.group(1) if match else None


def meta_charset(data: bytes) -> str | None:
    match = META_CHARSET_RE.search(data, 0, META_SNIFF_BYTES)
    return (match.group(1) or match.group(2)).decode("ascii") if match else None


def looks_like_html(data: bytes) -> bool:
    """For records without a Content-Type: does the payload start like an HTML document?"""
    return HTML_START_RE.match(data[:4096]) is not None


def _bom_encoding(data: bytes) -> str | None:
    return next((encoding for bom, encoding in BOMS if data.startswith(bom)), None)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _family(encoding: str) -> str:
    return "utf-8" if encoding in ("utf-8", "utf-8-sig") else encoding


class _Bytes:
    """The page's bytes with the facts every declaration is checked against, computed once."""

    def __init__(self, data: bytes):
        self.data = data
        self.bom = _bom_encoding(data)
        self._utf8: str | None | bool = False

    @property
    def utf8(self) -> str | None:
        if self._utf8 is False:
            self._utf8 = _strict(self.data, "utf-8-sig")
        return self._utf8  # type: ignore[return-value]

    def non_ascii_utf8(self) -> bool:
        return self.utf8 is not None and not self.data.isascii()


def _believe(page: _Bytes, declared: str) -> tuple[str, str] | None:
    """Decode with a declared charset if the bytes do not contradict it; else None."""
    try:
        charset = canonical_charset(declared)
    except LookupError:
        return None  # a name no codec has says nothing
    if charset.startswith("utf-16") or charset.startswith("utf-32"):
        # Only a BOM makes a page UTF-16/32; a meta tag saying so in ASCII bytes is wrong by construction.
        if page.bom and page.bom != "utf-8-sig" and charset.startswith(page.bom):
            text = _strict(page.data, page.bom)
            return (text, page.bom) if text is not None else None
        return None
    if page.bom and _family(page.bom) != _family(charset):
        return None
    if charset == "utf-8":
        if page.utf8 is not None:
            return page.utf8, "utf-8"
        return (text, "utf-8") if (text := _mostly_utf8(page.data)) is not None else None
    if page.non_ascii_utf8():
        return None  # Chinese in valid UTF-8 is UTF-8, whatever the page says
    text = _strict(page.data, charset)
    if text is None:
        return None
    if charset in SINGLE_BYTE_CHARSETS and not page.data.isascii():
        # Latin-1 decodes any bytes: believe it only if no Chinese codec reads them as Chinese.
        if any(_chinese_share(page.data, codec) >= MIN_COMMON_SHARE for codec in CHINESE_CODECS):
            return None
    if charset in CHINESE_CODECS:
        other = next(codec for codec in CHINESE_CODECS if codec != charset)
        if common_share(text[:SHARE_SAMPLE_CHARS]) < MIN_COMMON_SHARE <= _chinese_share(page.data, other):
            return None
    return text, charset


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken sequences (a page cut mid-character, one bad byte): decoded with U+FFFD
    for them, so a declared UTF-8 page is not handed to detection; a page in another charset breaks
    at nearly every non-ASCII character and stays refused."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd") - data.count("\ufffd".encode())
    return text.removeprefix("\ufeff") if broken <= max(1, len(data) // UTF8_BYTES_PER_ERROR) else None


def _chinese_share(data: bytes, codec: str) -> float:
    text = _strict(data, codec)
    return common_share(text[:SHARE_SAMPLE_CHARS]) if text is not None else 0.0


def decode_page(data: bytes, http_charset: str | None = None) -> DecodedPage:
    """HTML bytes -> text, trying HTTP, BOM, meta, then detection; raises UndecodableBytes."""
    page = _Bytes(data)
    rejected: list[tuple[str, str]] = []
    if http_charset:
        believed = _believe(page, http_charset)
        if believed:
            return DecodedPage(believed[0], believed[1], "http", ())
        rejected.append(("http", http_charset))
    if page.bom:
        text = _strict(data, page.bom)
        if text is None:
            raise UndecodableBytes(f"bytes start with a {page.bom} BOM but are not {page.bom}")
        return DecodedPage(text, "utf-8" if page.bom == "utf-8-sig" else page.bom, "bom", tuple(rejected))
    declared_meta = meta_charset(data)
    if declared_meta:
        believed = _believe(page, declared_meta)
        if believed:
            return DecodedPage(believed[0], believed[1], "meta", tuple(rejected))
        rejected.append(("meta", declared_meta))
    text, charset = decode_bytes(data)
    return DecodedPage(text, "utf-8" if charset == "utf-8-sig" else charset, "detected", tuple(rejected))


@dataclass(frozen=True)
class ExtractedPage:
    text: str
    url: str | None  # <link rel=canonical>, else og:url


def extract_page(html: str, mode: ExtractMode = "main", find_url: bool = True) -> ExtractedPage:
    """Text of a decoded page, one block per line, paragraphs separated by one blank line.

    `find_url=False` when the url is known already (a WARC record's target)."""
    tree = HTMLTree.parse(html)
    text = extract_plain_text(
        tree, preserve_formatting=True, main_content=mode == "main", hidden_elements=mode == "main",
        list_bullets=False, alt_texts=False, links=False, form_fields=False, noscript=False,
        skip_elements=RELATED_BLOCKS if mode == "main" else None,
    )
    return ExtractedPage(tidy_lines(text), page_url(html) if find_url else None)


def tidy_lines(text: str) -> str:
    """Strip each line (ideographic spaces too) and keep at most one blank line between blocks."""
    text = "\n".join(map(str.strip, text.split("\n")))  # C loops: five times faster than one regex here
    return (BLANK_RUN_RE.sub("\n\n", text) if "\n\n\n" in text else text).strip()


def page_url(html: str) -> str | None:
    """`<link rel=canonical href>`, else `<meta property=og:url content>`, from the page's head.

    A regular expression over the head's tags, not a CSS query on the tree: the query costs a fifth
    of the extraction time, and both tags belong in the head."""
    canonical = og_url = None
    for match in HEAD_TAG_RE.finditer(html, 0, URL_SNIFF_CHARS):
        attrs = _attributes(match.group(0))
        if match.group(1).lower() == "link" and canonical is None and "canonical" in attrs.get("rel", "").lower().split():
            canonical = unescape(attrs.get("href", "")).strip() or None
        elif match.group(1).lower() == "meta" and og_url is None and attrs.get("property", "").strip().lower() == "og:url":
            og_url = unescape(attrs.get("content", "")).strip() or None
    return canonical or og_url


def _attributes(tag: str) -> dict[str, str]:
    return {name.lower(): double or single or bare for name, double, single, bare in ATTR_RE.findall(tag)}
