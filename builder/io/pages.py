"""Crawled pages (WARC records, .html files) -> documents, and the counts the card's sources section shows.

Reading a crawl is where text is made: each HTML response or file is decoded with the charset its
source gives (`builder.io.html.decode_page`) and its text extracted (`extract_page`), so every stage
after reading sees documents as from any other format, plus `url`, `fetch_date`, `charset`,
`charset_source` and, for WARC, `warc_record_id`. Records that are not pages (requests, metadata,
non-200 or non-HTML responses) are counted by reason; broken ones become quarantine records.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from builder.io.html import ExtractMode, decode_page, extract_page
from builder.io.source_stats import SourceStats
from builder.io.warc import Broken, Response, Skipped, read_warc
from builder.text.decode import UndecodableBytes



@dataclass
class Page:
    offset: int  # byte offset of the WARC record; 0 for an .html file
    id: str
    text: str
    url: str | None
    fetch_date: str | None
    charset: str
    charset_source: str
    warc_record_id: str | None = None

    def columns(self, warc: bool) -> dict[str, str | None]:
        columns = {"url": self.url, "fetch_date": self.fetch_date, "charset": self.charset, "charset_source": self.charset_source}
        if warc:
            columns["warc_record_id"] = self.warc_record_id
        return columns


@dataclass
class PageProblem:
    """A record or file that yields no document: quarantined by the reader with this reason."""

    offset: int
    id: str | None
    reason: str
    error: str


def read_warc_file(path: Path, name: str, mode: ExtractMode, max_doc_chars: int, stats: SourceStats) -> Iterator[Page | PageProblem]:
    """The HTML responses of one WARC file as pages; other records counted, broken ones as problems."""
    for item in read_warc(path, max_doc_chars * 4):
        stats.records += 1
        if isinstance(item, Skipped):
            stats.skipped[item.reason] += 1
        elif isinstance(item, Broken):
            yield _problem(stats, PageProblem(item.offset, item.record_id, item.reason, f"{name}:{item.offset}: {item.error}"))
        else:
            yield _page(stats, item, name, mode, warc=True)


def read_html_file(path: Path, name: str, size: int, mode: ExtractMode, max_doc_chars: int, stats: SourceStats) -> Iterator[Page | PageProblem]:
    """One .html file as one page, its url from `<link rel=canonical>` or `og:url`."""
    stats.records += 1
    limit = max_doc_chars * 4
    if size > limit:
        yield _problem(stats, PageProblem(0, name, "input.too_long", f"{name}: {size:,} bytes > {limit:,} (input.max_doc_chars × 4)"))
        return
    response = Response(0, None, None, None, None, path.read_bytes())
    yield _page(stats, response, name, mode, warc=False)


def _problem(stats: SourceStats, problem: PageProblem) -> PageProblem:
    stats.quarantined[problem.reason] += 1
    return problem


def _page(stats: SourceStats, response: Response, name: str, mode: ExtractMode, warc: bool) -> Page | PageProblem:
    where = f"{name}:{response.offset}" if warc else name
    try:
        decoded = decode_page(response.payload, response.http_charset)
    except UndecodableBytes as err:
        return _problem(stats, PageProblem(response.offset, response.record_id, "input.undecodable", f"{where}: {err}"))
    try:
        extracted = extract_page(decoded.text, mode, find_url=response.url is None)
    except Exception as err:  # a parser failure on one page must not stop the crawl; it is quarantined with its error
        return _problem(stats, PageProblem(response.offset, response.record_id, "input.unparseable_html", f"{where}: {type(err).__name__}: {err}"))
    stats.charset_sources[decoded.source] += 1
    for source, _ in decoded.declared:
        stats.declarations_not_believed[source] += 1
    return Page(
        offset=response.offset,
        id=response.record_id or where,  # a record without WARC-Record-ID is named by file and offset
        text=extracted.text,
        url=response.url or extracted.url,
        fetch_date=response.date,
        charset=decoded.charset,
        charset_source=decoded.source,
        warc_record_id=response.record_id if warc else None,
    )
