"""Bytes to text for raw inputs, with charset detection that is right for Chinese."""
from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

# GB2312 and GBK are subsets of GB18030: decoding with GB18030 never loses a character
# that a page labelled with the smaller charset may still contain.
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs"}

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


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used). Tries BOM, declared charset, UTF-8, then detection."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding
    candidates = []
    if declared:
        candidates.append(canonical_charset(declared))
    candidates.append("utf-8")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    best = from_bytes(data, cp_isolation=["gb18030", "big5hkscs", "big5", "utf_16", "utf_32", "shift_jis", "euc_kr"]).best()
    if best is None:
        raise UndecodableBytes("bytes match no supported charset (tried UTF-8, GB18030, Big5-HKSCS, UTF-16/32)")
    encoding = canonical_charset(best.encoding)
    return data.decode(encoding), encoding
