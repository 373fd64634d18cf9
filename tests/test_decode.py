"""Bytes to text: charset detection for Chinese raw inputs, and the `text` input format end to end."""
from __future__ import annotations

import codecs

import pyarrow.parquet as pq
import pytest

from builder.text.decode import UndecodableBytes, decode_bytes
from conftest import ARTICLES, run_cli, write_config

SIMPLIFIED = ARTICLES[0]
TRADITIONAL = ARTICLES[1]
HONG_KONG = "佢哋話今日啲嘢好平，我哋一齊去買嘅。"  # 佢 哋 啲 嘢 嘅: Big5-HKSCS only


@pytest.mark.parametrize(
    "text, codec, expected",
    [
        (SIMPLIFIED, "gbk", "gb18030"),
        (SIMPLIFIED + "€𠀀", "gb18030", "gb18030"),  # characters GBK lacks
        (TRADITIONAL, "big5", "big5hkscs"),
        (HONG_KONG, "big5hkscs", "big5hkscs"),
        (SIMPLIFIED, "utf-8", "utf-8"),
    ],
)
def test_detects_chinese_charsets_without_a_declaration(text, codec, expected):
    assert decode_bytes(text.encode(codec), None) == (text, expected)


@pytest.mark.parametrize(
    "data, encoding",
    [
        (codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), "utf-8-sig"),
        (SIMPLIFIED.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + SIMPLIFIED.encode("utf-16-be"), "utf-16"),
        (SIMPLIFIED.encode("utf-32"), "utf-32"),
    ],
)
def test_a_bom_settles_the_charset(data, encoding):
    assert decode_bytes(data, "gbk") == (SIMPLIFIED, encoding)


@pytest.mark.parametrize("declared", ["GB2312", "gbk", "cp936", "GB18030"])
def test_gb_labels_decode_as_gb18030(declared):
    assert decode_bytes((SIMPLIFIED + "€").encode("gb18030"), declared) == (SIMPLIFIED + "€", "gb18030")


def test_declared_charset_wins_only_when_the_bytes_agree():
    assert decode_bytes(TRADITIONAL.encode("big5"), "big5") == (TRADITIONAL, "big5hkscs")
    # Declared UTF-8 but the bytes are GBK: detection takes over.
    assert decode_bytes(SIMPLIFIED.encode("gbk"), "utf-8") == (SIMPLIFIED, "gb18030")
    # Latin-1 decodes any bytes, so a Latin-1 label on GBK or UTF-8 bytes is not believed.
    assert decode_bytes(SIMPLIFIED.encode("gbk"), "iso-8859-1") == (SIMPLIFIED, "gb18030")
    assert decode_bytes(SIMPLIFIED.encode("utf-8"), "latin-1") == (SIMPLIFIED, "utf-8")
    assert decode_bytes("Café crème".encode("latin-1"), "latin-1") == ("Café crème", "iso8859-1")


def test_gbk_bytes_are_not_taken_for_big5_or_the_reverse():
    # Most GBK byte strings are also valid Big5 (and the reverse); only the right codec
    # gives common characters.
    for text in ARTICLES:
        for codec, expected in (("gb18030", "gb18030"), ("big5hkscs", "big5hkscs")):
            try:
                data = text.encode(codec)
            except UnicodeEncodeError:
                continue
            assert decode_bytes(data, None) == (text, expected)


def test_a_bom_with_broken_bytes_is_undecodable():
    with pytest.raises(UndecodableBytes):
        decode_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8", None)


def test_raw_gbk_big5_utf16_files_through_the_text_input_and_normalize(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    damaged = "新华社北京电，今天天气很好！".encode("utf-8").decode("gb18030")
    files = {
        "gbk.txt": (f"{SIMPLIFIED}  \n\n\n根據(jù)報道，ＶＩＰ２０１２。", "gbk"),
        "big5.txt": (f"{TRADITIONAL}\r\n重(zhong)要(yao)消息", "big5"),
        "utf16.txt": (f"{SIMPLIFIED}\u200b结尾\u00a0\n{damaged}", "utf-16"),
    }
    for name, (text, codec) in files.items():
        (pages / name).write_bytes(text.encode(codec))
    config = write_config(tmp_path / "c.yaml", [pages], fmt="text", root=tmp_path / "out")
    result = run_cli("--config", str(config))
    assert result.returncode == 0, result.stderr
    rows = {}
    for path in (tmp_path / "out").rglob("*.parquet"):
        if "data" in path.parts:
            rows.update({r["id"].rsplit("/", 1)[-1]: r for r in pq.read_table(path).to_pylist()})
    assert rows["gbk.txt"]["encoding"] == "gb18030"
    assert rows["gbk.txt"]["text"] == f"{SIMPLIFIED}\n\n根據報道，VIP2012。"
    assert rows["big5.txt"]["encoding"] == "big5hkscs"
    assert rows["big5.txt"]["text"] == f"{TRADITIONAL}\n重要消息"
    assert rows["utf16.txt"]["encoding"] == "utf-16"
    assert rows["utf16.txt"]["text"] == f"{SIMPLIFIED}结尾\n新华社北京电，今天天气很好！"
    assert all(r["mojibake_ratio"] == 0 for r in rows.values())
