"""Bytes to text for raw inputs, with charset detection that is right for Chinese.

Order of evidence: a BOM (UTF-8, UTF-16, UTF-32) settles it; then the declared charset if
the bytes decode with it (Latin-1 and Windows-1252 decode anything, so for them the bytes
must not also read as UTF-8 or Chinese); then UTF-8; then GB18030 and Big5-HKSCS, judged
by the share of common Chinese characters when both decode (GBK bytes are often valid
Big5 and the reverse, but only the right codec gives common characters); generic
detection last, for the rest of the world's charsets.
"""
from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from builder.text.mojibake import common_share

# GB2312 and GBK are subsets of GB18030, Big5 of Big5-HKSCS: decoding with the larger
# charset never loses a character that a page labelled with the smaller one still holds.
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs", "cp950": "big5hkscs"}
CHINESE_CODECS = ("gb18030", "big5hkscs")
# Declarations that any byte string satisfies, so they say nothing about the bytes.
SINGLE_BYTE_CHARSETS = {"iso8859-1", "cp1252", "ascii"}
# A Chinese codec must give mostly common characters to count as the bytes' charset.
MIN_COMMON_SHARE = 0.6

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class UndecodableBytes(ValueError):
    """The bytes are not text in any charset we accept."""


def canonical_charset(name: str) -> str:
    name = codecs.lookup(name).name
    return CHARSET_ALIASES.get(name, name)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _best_chinese(data: bytes) -> tuple[str, str] | None:
    """The Chinese codec whose strict decoding reads as the most common-character Chinese."""
    best = None
    for encoding in CHINESE_CODECS:
        text = _strict(data, encoding)
        if text is None:
            continue
        share = common_share(text[:20000])
        if best is None or share > best[0]:
            best = (share, text, encoding)
    if best is None or best[0] < MIN_COMMON_SHARE:
        return None
    return best[1], best[2]


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used), or raise UndecodableBytes."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as err:
                raise UndecodableBytes(f"bytes start with a {encoding} BOM but are not {encoding}: {err}") from None
    declared_charset = canonical_charset(declared) if declared else None
    if declared_charset and declared_charset not in SINGLE_BYTE_CHARSETS:
        text = _strict(data, declared_charset)
        if text is not None:
            return text, declared_charset
    text = _strict(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    chinese = _best_chinese(data)
    if chinese is not None:
        return chinese
    if declared_charset:
        text = _strict(data, declared_charset)
        if text is not None:
            return text, declared_charset
    best = from_bytes(data, cp_isolation=["gb18030", "big5hkscs", "shift_jis", "euc_kr", "cp1252"]).best()
    if best is None:
        raise UndecodableBytes("bytes match no supported charset (tried UTF-8, GB18030, Big5-HKSCS, UTF-16/32 with BOM)")
    encoding = canonical_charset(best.encoding)
    return data.decode(encoding, errors="strict"), encoding
