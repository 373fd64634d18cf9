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
_NEWLINE = 0xFFFFFFFE
_DIGIT = ord("0")
_U64 = np.uint64
_LENGTH_MIX = _U64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=1)
def _fold_table() -> np.ndarray:
    """BMP code point -> its counting form (`_DROP` for whitespace, `_NEWLINE` for "\\n")."""
    table = np.arange(0x10000, dtype=np.uint32)
    for code in range(0x10000):
        folded = chr(code).translate(WIDTH_FOLD)
        if folded.isspace():
            table[code] = _DROP
        elif folded.isdecimal():
            table[code] = _DIGIT
        elif "A" <= folded <= "Z":
            table[code] = ord(folded.lower())
        else:
            table[code] = ord(folded)
    table[ord("\n")] = _NEWLINE
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
    folded = _fold_table()[np.minimum(codepoints, 0xFFFF)]
    folded = np.where(codepoints > 0xFFFF, codepoints, folded)
    newline = folded == _NEWLINE

    # Global line number of every character: a text's first line number plus the newlines before it in the text.
    doc_of_char = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    lines_per_doc = np.bincount(doc_of_char[newline], minlength=len(texts)) + 1
    first_line = np.cumsum(lines_per_doc) - lines_per_doc
    newlines_before = np.cumsum(newline) - newline
    doc_start = np.cumsum(lengths) - lengths
    at_doc_start = np.concatenate([[0], np.cumsum(newline)])[doc_start]
    line_of_char = first_line[doc_of_char] + (newlines_before - at_doc_start[doc_of_char])
    total_lines = int(lines_per_doc.sum())
    chars = np.bincount(line_of_char[~newline], minlength=total_lines)

    # The counting form: no whitespace, digit runs collapsed to one digit.
    kept = (folded != _DROP) & ~newline
    form, form_line = folded[kept], line_of_char[kept]
    repeat_digit = np.zeros(len(form), dtype=bool)
    repeat_digit[1:] = (form[1:] == _DIGIT) & (form[:-1] == _DIGIT) & (form_line[1:] == form_line[:-1])
    form, form_line = form[~repeat_digit], form_line[~repeat_digit]
    key_chars = np.bincount(form_line, minlength=total_lines)

    hashes = np.zeros(total_lines, dtype=np.uint64)
    if len(form):
        line_start = np.cumsum(key_chars) - key_chars
        position = np.arange(len(form), dtype=np.int64) - line_start[form_line]
        values = mix64((position.astype(np.uint64) << _U64(21)) | form.astype(np.uint64))
        nonempty = np.flatnonzero(key_chars)
        with np.errstate(over="ignore"):
            sums = np.add.reduceat(values, line_start[nonempty])
            hashes[nonempty] = mix64(sums ^ (key_chars[nonempty].astype(np.uint64) * _LENGTH_MIX))

    doc = np.repeat(np.arange(len(texts), dtype=np.int64), lines_per_doc)
    index = np.arange(total_lines, dtype=np.int64) - first_line[doc]
    return LineKeys(doc, index.astype(np.uint32), chars.astype(np.uint32), key_chars.astype(np.uint32), hashes)
