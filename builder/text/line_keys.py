"""Stable 64-bit keys of the lines of many texts, computed in one vectorised pass.

A line's key is the hash of its counting form: width folded (`ＡＢＣ１２３` = `ABC123`,
`　` = ` `), ASCII lowercased, all whitespace removed (Chinese does not separate words,
so a space more or less says nothing about the line), and every run of decimal digits
collapsed to one `0`, so that `第3页`/`第12页` and `2023-01-05`/`2024-11-30` share a key:
page chrome differs between pages mostly in its numbers. Chinese numerals stay as they are
(`一、概述` is a subheading, not a counter).

Why not Python's `hash()`: it is salted per process, so keys would differ between workers
and runs. Why not hashlib per line: a call per line is the slowest part of the map on
pages of many short lines. Here a line's hash is the wrapping sum of splitmix64 of
(position in line, code point) over its characters, finalised with its length: the
(position, code point) pairs of two different lines differ in at least one pair, each
pair's mix is a bijection of a distinct 64-bit input, so two different lines collide
with probability about 2^-64, and every step is a numpy operation over all code points
of a batch at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from builder.text.chars import WIDTH_FOLD
from builder.text.minhash import mix64, to_codepoints

# Bumped whenever a key would change for the same line.
KEY_SCHEME = "line-fold-digits-nows-sum-splitmix64-v1"
_DROP = 0xFFFFFFFF  # whitespace: left out of the counting form
_DIGIT = ord("0")
_U64 = np.uint64
_LENGTH_MIX = _U64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=1)
def _fold_table() -> np.ndarray:
    """BMP code point -> its counting form (`_DROP` for whitespace)."""
    table = np.arange(0x10000, dtype=np.uint32)
    for code in range(0x10000):
        folded = chr(code).translate(WIDTH_FOLD)
        if folded.isspace():  # "\n" too: lines are split on it, it is in no line's form
            table[code] = _DROP
        elif folded.isdecimal():
            table[code] = _DIGIT
        elif "A" <= folded <= "Z":
            table[code] = ord(folded.lower())
        else:
            table[code] = ord(folded)
    return table


@dataclass
class LineKeys:
    """Every line of every text (lines are `text.split("\\n")`), in order.

    `doc` is the text each line belongs to, `index` its 0-based position in that text,
    `chars` its length in characters (without the "\\n"), `key_chars` the length of its
    counting form and `hash` that form's 64-bit key (0 for a line with an empty form).
    """

    doc: np.ndarray  # int64
    index: np.ndarray  # uint32
    chars: np.ndarray  # uint32
    key_chars: np.ndarray  # uint32
    hash: np.ndarray  # uint64


def line_keys(texts: list[str]) -> LineKeys:
    codepoints, lengths = to_codepoints(texts)
    total = len(codepoints)
    table = _fold_table()
    if total and int(codepoints.max()) > 0xFFFF:
        folded = np.where(codepoints > 0xFFFF, codepoints, table[np.minimum(codepoints, 0xFFFF)])
    else:
        folded = table[codepoints]

    # Lines as [start, end) positions in the concatenation: each text starts one, each "\n" ends one
    # and starts the next. Sorting keeps them in text order (positions only grow; ties are empty lines).
    newline_at = np.flatnonzero(codepoints == 0x0A)
    doc_end = np.cumsum(lengths)
    starts = np.sort(np.concatenate([doc_end - lengths, newline_at + 1]))
    ends = np.sort(np.concatenate([newline_at, doc_end]))
    lines_per_doc = np.diff(np.searchsorted(newline_at, np.concatenate([[0], doc_end]))) + 1

    # The counting form: no whitespace (nor "\n"), digit runs collapsed to one digit.
    form_at = np.flatnonzero(folded != _DROP)
    form = folded[form_at]
    first_of_line = np.zeros(len(form) + 1, dtype=bool)
    first_of_line[np.searchsorted(form_at, starts)] = True
    digit = form == _DIGIT
    repeat_digit = digit[1:] & digit[:-1] & ~first_of_line[1 : len(form)]
    if repeat_digit.any():
        keep = np.concatenate([[True], ~repeat_digit])
        form, form_at = form[keep], form_at[keep]
    line_first = np.searchsorted(form_at, starts)
    key_chars = np.searchsorted(form_at, ends) - line_first

    hashes = np.zeros(len(starts), dtype=np.uint64)
    if len(form):
        position = np.arange(len(form), dtype=np.uint64) - np.repeat(line_first.astype(np.uint64), key_chars)
        position <<= _U64(21)
        position |= form
        values = mix64(position)
        nonempty = np.flatnonzero(key_chars)
        with np.errstate(over="ignore"):
            sums = np.add.reduceat(values, line_first[nonempty])
            hashes[nonempty] = mix64(sums ^ (key_chars[nonempty].astype(np.uint64) * _LENGTH_MIX))

    doc = np.repeat(np.arange(len(texts), dtype=np.int64), lines_per_doc)
    index = np.arange(len(starts), dtype=np.int64) - (np.cumsum(lines_per_doc) - lines_per_doc)[doc]
    return LineKeys(doc, index.astype(np.uint32), (ends - starts).astype(np.uint32), key_chars.astype(np.uint32), hashes)
