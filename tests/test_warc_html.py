"""WARC and HTML input: charset from the source, main content, every record accounted for.

The WARC files here are written by `warc_file` from pages this module holds (UTF-8, GBK, Big5,
declarations that lie), with real block digests, so FastWARC reads them as it reads a crawl's.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builder.io.html import decode_page, extract_page, meta_charset
from builder.runner import Build
from builder.config import ConfigError, load_config
from builder.text.decode import canonical_charset
from conftest import SHARED, write_config

ARTICLE_TITLE = "城市公园改造完成，市民周末踏青"
ARTICLE_PARAGRAPHS = [
    "经过一年多的施工，城东公园的改造工程上周正式完工。新公园增加了两条环湖步道和一片儿童游乐区，并保留了园内三十多棵百年古树。",
    "公园管理处负责人介绍，改造中特别注意了无障碍设计：主要入口都设置了坡道，步道两侧每隔五十米就有一处休息座椅。",
    "周末天气晴好，不少市民带着家人来公园散步、放风筝。一位住在附近的退休教师说：“以前这里杂草丛生，现在环境好多了，每天早上都来走一圈。”",
]
ARTICLE_LIST = ["开放时间：每天六点至二十二点", "停车：东门停车场免费开放"]
NAV = ["首页", "新闻", "体育", "财经", "娱乐", "登录", "注册"]
SIDEBAR = ("热门文章", "明星八卦大盘点", "股市今日收盘")
FOOTER = "版权所有 2024 城市新闻网 京ICP备12345678号"
TRAD_NAV = ["首頁", "新聞", "體育", "財經", "娛樂", "登入", "註冊"]
TRAD_SIDEBAR = ("熱門文章", "明星八卦大盤點", "股市今日收盤")
TRAD_FOOTER = "版權所有 2024 城市新聞網"

TRAD_PARAGRAPHS = [
    "臺北市立圖書館今年推出夜間閱讀計畫，週五與週六延長開放至晚上十點，讓上班族也能在下班後借書、自習。",
    "館方表示，試辦三個月以來，夜間入館人次明顯增加，許多讀者留言希望計畫能長期實施，並擴大到其他分館。",
]


def page(title: str, paragraphs: list[str], items: list[str] | None = None, traditional: bool = False) -> str:
    words, (side, side1, side2), footer = (TRAD_NAV, TRAD_SIDEBAR, TRAD_FOOTER) if traditional else (NAV, SIDEBAR, FOOTER)
    nav = "".join(f'<li><a href="/{i}">{w}</a></li>' for i, w in enumerate(words))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    # resiliparse's main-content heuristics drop <ul> lists (menus are <ul>) and keep <ol> ones
    lst = "<ol>" + "".join(f"<li>{i}</li>" for i in items) + "</ol>" if items else ""
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f'<header><nav class="menu"><ul>{nav}</ul></nav></header>'
        f'<main><article><h1>{title}</h1>{body}{lst}</article></main>'
        f'<aside class="sidebar"><h3>{side}</h3><ul><li><a href="/a">{side1}</a></li><li><a href="/b">{side2}</a></li></ul></aside>'
        f'<footer class="footer"><p>{footer}</p></footer></body></html>'
    )


SIMPLIFIED = page(ARTICLE_TITLE, ARTICLE_PARAGRAPHS, items=ARTICLE_LIST)
TRADITIONAL = page("圖書館夜間開放", TRAD_PARAGRAPHS, traditional=True)


def http_block(status: str, content_type: str | None, body: bytes) -> bytes:
    headers = f"HTTP/1.1 {status}\r\n" + (f"Content-Type: {content_type}\r\n" if content_type else "") + f"Content-Length: {len(body)}\r\n\r\n"
    return headers.encode("latin-1") + body


def warc_record(record_type: str, uri: str, block: bytes, number: int, version: str = "1.1", digest: bool = True) -> bytes:
    headers = [
        f"WARC/{version}",
        f"WARC-Type: {record_type}",
        f"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{number:012d}>",
        "WARC-Date: 2024-05-01T08:00:00Z",
        f"WARC-Target-URI: {uri}",
        "Content-Type: " + ("application/http; msgtype=response" if record_type == "response" else "application/http; msgtype=request" if record_type == "request" else "application/warc-fields"),
    ]
    if digest:
        headers.append("WARC-Block-Digest: sha1:" + base64.b32encode(hashlib.sha1(block).digest()).decode())
    headers.append(f"Content-Length: {len(block)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + block + b"\r\n\r\n"


def warc_file(path: Path, records: list[bytes], compress: str = "record") -> Path:
    """compress: `none`, `record` (one gzip member per record, as Common Crawl) or `file` (one member)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress == "record":
        path.write_bytes(b"".join(gzip.compress(r, mtime=0) for r in records))
    elif compress == "file":
        path.write_bytes(gzip.compress(b"".join(records), mtime=0))
    else:
        path.write_bytes(b"".join(records))
    return path


def mixed_crawl() -> list[bytes]:
    """Pages in every charset situation, and records that are not pages."""
    utf8_lying = SIMPLIFIED.replace("<head>", '<head><meta charset="gb2312">').encode("utf-8")
    return [
        warc_record("warcinfo", "", b"software: test\r\nformat: WARC File Format 1.1\r\n", 0),
        warc_record("request", "https://news.example.cn/a", b"GET /a HTTP/1.1\r\nHost: news.example.cn\r\n\r\n", 1),
        warc_record("response", "https://news.example.cn/a", http_block("200 OK", "text/html; charset=utf-8", SIMPLIFIED.encode("utf-8")), 2),
        warc_record("response", "https://gbk.example.cn/b", http_block("200 OK", "text/html; charset=GBK", SIMPLIFIED.replace("城市公园", "城南公园").encode("gbk")), 3),
        warc_record("response", "https://tw.example.com/c", http_block("200 OK", "text/html", TRADITIONAL.replace("<head>", '<head><meta http-equiv="Content-Type" content="text/html; charset=big5">').encode("big5")), 4),
        # declares gb2312 in HTTP and meta, bytes are UTF-8: neither is believed
        warc_record("response", "https://liar.example.cn/d", http_block("200 OK", "text/html; charset=gb2312", utf8_lying.replace("城市公园".encode(), "城西公园".encode())), 5),
        # Big5 bytes labelled GBK: they decode as GBK, into rare characters; the label is not believed
        warc_record("response", "https://liar.example.com/e", http_block("200 OK", "text/html; charset=gbk", TRADITIONAL.replace("臺北", "臺中").encode("big5")), 6),
        # no declaration anywhere: detected
        warc_record("response", "https://plain.example.cn/f", http_block("200 OK", "text/html", SIMPLIFIED.replace("城市公园", "城北公园").encode("gb18030")), 7),
        warc_record("response", "https://news.example.cn/missing", http_block("404 Not Found", "text/html", b"<html><body>not here</body></html>"), 8),
        warc_record("response", "https://news.example.cn/logo.png", http_block("200 OK", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256))), 9),
        warc_record("metadata", "https://news.example.cn/a", b"fetchTimeMs: 120\r\n", 10),
    ]


def build(tmp_path: Path, inputs, fmt: str, extra: str = "", workers: int = 1, root: Path | None = None):
    config = write_config(tmp_path / "c.yaml", inputs, stages="  - type: normalize\n", fmt=fmt, extra=extra, workers=workers, root=root)
    return Build(load_config(config)).run()


def rows(result) -> list[dict]:
    return pq.read_table(result.version_dir / "data").to_pylist()


def rejected(result) -> list[dict]:
    folder = result.version_dir.parent / "runs" / result.version_dir.name / "rejected"
    return [row for p in sorted(folder.glob("*.parquet")) for row in pq.read_table(p).to_pylist()]


def test_warc_pages_decode_with_the_charset_their_bytes_agree_with(tmp_path):
    path = warc_file(tmp_path / "in" / "crawl.warc.gz", mixed_crawl())
    result = build(tmp_path, [path], "warc")
    by_url = {row["url"]: row for row in rows(result)}
    assert set(by_url) == {f"https://{h}" for h in ("news.example.cn/a", "gbk.example.cn/b", "tw.example.com/c", "liar.example.cn/d", "liar.example.com/e", "plain.example.cn/f")}
    expect = {
        "news.example.cn/a": ("utf-8", "http", "城市公园"),
        "gbk.example.cn/b": ("gb18030", "http", "城南公园"),
        "tw.example.com/c": ("big5hkscs", "meta", "臺北市立圖書館"),
        "liar.example.cn/d": ("utf-8", "detected", "城西公园"),
        "liar.example.com/e": ("big5hkscs", "detected", "臺中市立圖書館"),
        "plain.example.cn/f": ("gb18030", "detected", "城北公园"),
    }
    for host_path, (charset, source, phrase) in expect.items():
        row = by_url[f"https://{host_path}"]
        assert (row["charset"], row["charset_source"]) == (charset, source), host_path
        assert phrase in row["text"], host_path
        assert row["fetch_date"] == "2024-05-01T08:00:00Z"
        assert row["warc_record_id"].startswith("<urn:uuid:") and row["id"] == row["warc_record_id"]
    # full-width punctuation survives decoding and extraction
    assert "“以前这里杂草丛生，现在环境好多了，每天早上都来走一圈。”" in by_url["https://news.example.cn/a"]["text"]
    report = json.loads((result.version_dir / "report.json").read_text(encoding="utf-8"))
    sources = report["sources"]
    assert sources["records"] == 11 and sources["extracted"] == 6
    assert sources["skipped"] == {"http.not_html": 1, "http.status_404": 1, "record.metadata": 1, "record.request": 1, "record.warcinfo": 1}
    assert sources["charset_sources"] == {"detected": 3, "http": 2, "meta": 1}
    assert sources["declarations_not_believed"] == {"http": 2, "meta": 1}
    assert sources["top_domains"]["liar.example.cn"] == 1 and sources["domains"] == 6
    assert report["input"]["documents"] == 6 and report["kept"]["documents"] == 6
    card = (result.version_dir / "README.md").read_text(encoding="utf-8")
    assert "11 records read" in card and "`http.status_404`" in card and "Top domains" in card


def test_main_keeps_the_article_and_full_keeps_every_block(tmp_path):
    main = extract_page(SIMPLIFIED, "main").text
    full = extract_page(SIMPLIFIED, "full").text
    main_lines = main.splitlines()
    for line in [ARTICLE_TITLE, *ARTICLE_PARAGRAPHS, *ARTICLE_LIST]:
        assert line in main_lines  # headings, paragraphs and list items are lines of their own
    for boilerplate in ["首页", "热门文章", FOOTER]:
        assert boilerplate not in main
        assert boilerplate in full.splitlines()
    assert "\n\n" in main and "\n\n\n" not in main  # paragraphs separated by one blank line


def test_main_leaves_out_related_article_blocks_but_never_a_whole_body():
    teaser = "相关阅读：另一座城市的公园改造也在进行中，市民可以在官方网站上查看具体的施工进度和开放时间安排。"
    html = SIMPLIFIED.replace("<aside", f'<div class="xiangguan-list"><p>{teaser}</p></div><aside')
    assert teaser not in extract_page(html, "main").text
    assert teaser in extract_page(html, "full").text.splitlines()
    body_named_related = SIMPLIFIED.replace("<body>", '<body class="single has-related-posts">')
    assert ARTICLE_PARAGRAPHS[0] in extract_page(body_named_related, "main").text


@pytest.mark.parametrize("compress", ["none", "record", "file"])
def test_a_broken_record_is_quarantined_with_its_offset_and_the_rest_is_read(tmp_path, compress):
    good = [warc_record("response", f"https://ok.example.cn/{i}", http_block("200 OK", "text/html; charset=utf-8", SIMPLIFIED.replace("城市", f"第{i}城").encode()), i, version="1.0")
            for i in range(4)]
    cut = good[1][: len(good[1]) // 2]  # the writer died half-way through record 1
    records = [good[0], cut, good[2], good[3]]
    path = warc_file(tmp_path / "in" / (f"cut-{compress}.warc" + ("" if compress == "none" else ".gz")), records, compress)
    result = build(tmp_path, [path], "warc")
    texts = [row["text"] for row in rows(result)]
    quarantined = rejected(result)
    assert len(quarantined) == 1 and quarantined[0]["reason"] == "input.warc_corrupt"
    if compress == "file":
        # one gzip stream: nothing after the damage can be found again, the loss is reported once
        assert any("第0城" in t for t in texts)
    else:
        offset = len(gzip.compress(good[0], mtime=0)) if compress == "record" else len(good[0])
        assert quarantined[0]["source"].endswith(f":{offset}")
        assert [next(f"第{i}城" for i in range(4) if f"第{i}城" in t) for t in texts] == ["第0城", "第2城", "第3城"]
    report = json.loads((result.version_dir / "report.json").read_text(encoding="utf-8"))
    assert report["input"]["documents"] == len(texts) + 1  # every page is kept or quarantined


def test_a_record_cut_at_the_end_of_the_file_is_quarantined(tmp_path):
    records = [warc_record("response", f"https://ok.example.cn/{i}", http_block("200 OK", "text/html; charset=utf-8", SIMPLIFIED.encode()), i) for i in range(2)]
    data = b"".join(records)
    for digest in (True, False):
        records = [warc_record("response", f"https://ok.example.cn/{i}", http_block("200 OK", "text/html; charset=utf-8", SIMPLIFIED.encode()), i, digest=digest) for i in range(2)]
        data = b"".join(records)[:-200]
        folder = tmp_path / f"digest-{digest}"
        path = folder / "in" / "end.warc"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        result = build(folder, [path], "warc")
        assert len(rows(result)) == 1
        assert [r["reason"] for r in rejected(result)] == ["input.warc_corrupt"]


def test_a_50_mb_page_is_quarantined_unread_and_the_next_page_is_kept(tmp_path):
    huge = ("<p>" + "很长的页面。" * 100 + "</p>").encode() * 28_000  # 50 MB of HTML
    assert len(huge) > 50_000_000
    records = [
        warc_record("response", "https://big.example.cn/", http_block("200 OK", "text/html; charset=utf-8", huge), 0, digest=False),
        warc_record("response", "https://ok.example.cn/", http_block("200 OK", "text/html; charset=utf-8", SIMPLIFIED.encode()), 1),
    ]
    path = warc_file(tmp_path / "in" / "big.warc", records, "none")
    result = build(tmp_path, [path], "warc")
    assert [row["url"] for row in rows(result)] == ["https://ok.example.cn/"]
    (problem,) = rejected(result)
    assert problem["reason"] == "input.too_long" and "max_doc_chars" in problem["detail"] and problem["source"].endswith(":0")


def test_html_folder_takes_the_url_from_canonical_or_og_url(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "a.html").write_bytes(SIMPLIFIED.replace("<head>", '<head><meta charset="utf-8"><link rel="canonical" href="https://site.example.cn/a">').encode())
    (folder / "b.htm").write_bytes(TRADITIONAL.replace("<head>", '<head><meta property="og:url" content="https://site.example.com/b">').encode("big5"))
    (folder / "c.html").write_bytes(b"\xef\xbb\xbf" + SIMPLIFIED.replace("城市公园", "湖畔公园").encode())
    (folder / "notes.txt").write_text("not a page", encoding="utf-8")
    result = build(tmp_path, [folder], "html")
    got = {Path(row["id"]).name: row for row in rows(result)}
    assert set(got) == {"a.html", "b.htm", "c.html"}
    assert got["a.html"]["url"] == "https://site.example.cn/a" and got["a.html"]["charset_source"] == "meta"
    assert got["b.htm"]["url"] == "https://site.example.com/b" and got["b.htm"]["charset"] == "big5hkscs"
    assert got["b.htm"]["charset_source"] == "detected" and "臺北市立圖書館" in got["b.htm"]["text"]
    assert got["c.html"]["charset_source"] == "bom" and got["c.html"]["text"].startswith(ARTICLE_TITLE.replace("城市公园", "湖畔公园"))
    assert got["c.html"]["url"] is None and got["a.html"]["fetch_date"] is None
    assert "warc_record_id" not in got["a.html"]


def test_extract_full_keeps_every_block_and_worker_count_does_not_change_bytes(tmp_path):
    path = warc_file(tmp_path / "in" / "crawl.warc.gz", mixed_crawl())
    shards = []
    for workers in (1, 2):
        (tmp_path / f"w{workers}").mkdir()
        result = build(tmp_path / f"w{workers}", [path], "warc", extra="  extract: full\n", workers=workers)
        assert any("热门文章" in row["text"] for row in rows(result))
        shards.append([p.read_bytes() for p in sorted((result.version_dir / "data").glob("*.parquet"))])
    assert shards[0] == shards[1]


def test_a_bad_extract_value_names_the_line(tmp_path):
    config = write_config(tmp_path / "c.yaml", [tmp_path], fmt="warc", extra="  extract: article\n")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert "c.yaml:6" in str(error.value) and "input.extract" in str(error.value)


@pytest.mark.parametrize(
    "data, http, expected",
    [
        ("中文".encode("utf-8"), "iso-8859-1", ("utf-8", "detected")),       # Latin-1 label on UTF-8 bytes
        ("一段中文文字，足够判断。".encode("gbk"), "latin-1", ("gb18030", "detected")),
        (b"<meta charset=utf-16>plain ascii", None, ("utf-8", "detected")),  # UTF-16 without a BOM is a lie
        ("<meta charset='x-unknown-9'>中文".encode("utf-8"), None, ("utf-8", "detected")),
        (b"\xef\xbb\xbf" + "中文".encode("utf-8"), "utf-8", ("utf-8", "http")),
        ("公园里的古树".encode("utf-8") * 1000 + "树".encode("utf-8")[:2], "utf-8", ("utf-8", "http")),  # cut mid-character
        ("公园里的古树".encode("gbk") * 1000, "utf-8", ("gb18030", "detected")),  # GBK labelled UTF-8
    ],
)
def test_declarations_the_bytes_contradict_are_not_believed(data, http, expected):
    decoded = decode_page(data, http)
    assert (decoded.charset, decoded.source) == expected
    assert "\ufeff" not in decoded.text


def test_meta_charset_reads_both_forms_and_xml_declarations():
    assert meta_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=GB2312">') == "GB2312"
    assert meta_charset(b"<META CHARSET='big5'>") == "big5"
    assert meta_charset(b'<?xml version="1.0" encoding="gbk"?><rss>') == "gbk"


REALWEB = SHARED / "realweb"


@pytest.mark.skipif(not (REALWEB / "html" / "index.jsonl").is_file(), reason="../shared/realweb is not here")
@pytest.mark.parametrize("folder", ["html", "feeds"])
def test_every_realweb_page_decodes_to_the_right_text(folder):
    wrong, checked = [], 0
    for line in (REALWEB / folder / "index.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        actual = entry["actual_encoding"]
        if "upstream label" in actual:
            continue  # EUC-TW: no Python codec to say what the right text is
        data = (REALWEB / folder / entry["file"]).read_bytes()
        truth = data.decode("utf-8-sig" if actual == "utf-8-sig" else canonical_charset(actual))
        checked += 1
        if decode_page(data).text != truth:
            wrong.append(entry["file"])
    assert checked > 40 and wrong == []
