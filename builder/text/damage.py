"""Inject real encoding damage into clean Chinese, to measure repairs against the truth.

Every kind is made by actually encoding and mis-decoding text the way broken software
does, never by typing mojibake by hand. Used by the normalize tests and by
`benchmarks/eval_normalize_repair.py`.
"""
from __future__ import annotations

import random
from collections.abc import Callable

# What a browser shows for a byte read as Windows-1252 (bytes cp1252 leaves undefined
# show as the C1 control of the same number).
CP1252_AS_BROWSERS_READ = [
    bytes([b]).decode("cp1252") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else chr(b) for b in range(256)
]


def read_as_windows_1252(data: bytes) -> str:
    return "".join(CP1252_AS_BROWSERS_READ[b] for b in data)


def utf8_read_as(codec: str, errors: str = "strict") -> Callable[[str], str]:
    def damage(span: str) -> str:
        return span.encode("utf-8").decode(codec, errors=errors)

    return damage


def legacy_read_as_latin(codec: str, single_byte: str) -> Callable[[str], str]:
    def damage(span: str) -> str:
        data = span.encode(codec)
        return data.decode("latin-1") if single_byte == "latin-1" else read_as_windows_1252(data)

    return damage


def utf8_twice(span: str) -> str:
    """UTF-8 read as GBK, saved as UTF-8, read as Windows-1252: two layers."""
    return read_as_windows_1252(span.encode("utf-8").decode("gb18030").encode("utf-8"))


# name -> (damage, reversible: whether the exact original can come back)
DAMAGE_KINDS: dict[str, tuple[Callable[[str], str], bool]] = {
    "utf8_as_gb18030": (utf8_read_as("gb18030"), True),
    "utf8_as_gbk_replace": (utf8_read_as("gbk", "replace"), False),
    "utf8_as_big5_replace": (utf8_read_as("big5hkscs", "replace"), False),
    "gbk_as_latin1": (legacy_read_as_latin("gb18030", "latin-1"), True),
    "gbk_as_cp1252": (legacy_read_as_latin("gb18030", "cp1252"), True),
    "big5_as_cp1252": (legacy_read_as_latin("big5hkscs", "cp1252"), True),
    "utf8_as_cp1252": (lambda s: read_as_windows_1252(s.encode("utf-8")), True),
    "utf8_as_gb18030_as_cp1252": (utf8_twice, True),
}


def inject(text: str, kind: str, rng: random.Random, min_len: int = 4) -> tuple[str, str] | None:
    """Damage one random span of at least `min_len` characters; returns (damaged, span) or None.

    Returns None when the kind cannot represent the span (e.g. Big5 has no `这`), or the
    strict mis-decoding fails (not every UTF-8 byte string is valid GB18030).
    """
    damage, _ = DAMAGE_KINDS[kind]
    if len(text) < min_len:
        return None
    for _ in range(5):
        length = rng.randint(min_len, min(len(text), 40))
        start = rng.randint(0, len(text) - length)
        span = text[start : start + length]
        try:
            damaged = damage(span)
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        return text[:start] + damaged + text[start + length :], span
    return None
