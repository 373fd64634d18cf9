"""WARC files -> HTTP responses, with every record accounted for: read, skipped with a reason, or broken.

FastWARC (from resiliparse) reads WARC/1.0 and 1.1, plain, gzip per record or gzip as a whole,
streaming: a record's payload is read only when it is wanted, so a 1 GB file is never held and a
payload over the size limit is passed over unread. Chosen over warcio by measurement
(`benchmarks/bench_warc.py`).

FastWARC stops at the first record it cannot parse. A damaged region must not lose the rest of the
file, so on an error the file is scanned forward for the next record start (a gzip member header,
or `WARC/1.0`/`WARC/1.1` in a plain file) and a fresh iterator resumes there. A record whose `WARC-Block-Digest`
does not match its bytes (a truncated or overwritten record) is reported broken, not read.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from fastwarc.warc import ArchiveIterator, WarcRecordType

from builder.io.html import charset_from_content_type, looks_like_html

HTML_TYPES = ("text/html", "application/xhtml+xml")
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/1."
WARC_VERSION_LINES = (b"WARC/1.0\r\n", b"WARC/1.1\r\n")
SCAN_CHUNK = 1 << 20


@dataclass
class Response:
    """An HTTP 200 HTML response, payload read."""

    offset: int
    record_id: str | None
    url: str | None
    date: str | None
    http_charset: str | None
    payload: bytes


@dataclass
class Skipped:
    """A record that is not a page to extract: `reason` is `record.<type>`, `http.status_<n>` or `http.not_html`."""

    offset: int
    reason: str


@dataclass
class Broken:
    """A record that cannot be read (or is too large to): quarantined with the file offset."""

    offset: int
    reason: str  # input.warc_corrupt | input.too_long
    error: str
    record_id: str | None = None
    url: str | None = None


WarcItem = Response | Skipped | Broken


def read_warc(path: Path, max_payload_bytes: int) -> Iterator[WarcItem]:
    """Every record of a WARC file, in file order."""
    with open(path, "rb") as handle:
        compressed = handle.read(3) == GZIP_MAGIC
        start, current, last_broken = 0, None, False
        while True:
            handle.seek(start)
            yielded_here, in_record = 0, False
            try:
                for record in ArchiveIterator(handle, record_types=WarcRecordType.any_type, parse_http=False):
                    current, in_record = record.stream_pos, True
                    item = _item(record, max_payload_bytes)
                    last_broken, in_record = isinstance(item, Broken), False
                    yielded_here += 1
                    yield item
                return
            except OSError as err:
                # The damage is in the record being read, or in the one after the last one read. A
                # record already reported broken explains the error that follows it (its bytes ran on).
                if current is None or current < start:
                    failed_at = start
                elif in_record:
                    failed_at = current
                else:
                    failed_at = _next_record_start(handle, current + 1, compressed) or current
                explained = last_broken and not in_record
                if (yielded_here or start == 0) and not explained:
                    yield Broken(failed_at, "input.warc_corrupt", f"unreadable WARC data at or after offset {failed_at:,}: {err}")
                # After a broken record the next record start is good; otherwise it is the damaged one.
                # A resume at a false start (gzip magic inside compressed bytes) fails at once and
                # yields nothing: still the same damage, not reported again.
                resume = failed_at if explained and failed_at > start else _next_record_start(handle, failed_at + 1, compressed)
                last_broken = True
                if resume is None:
                    return
                start = resume


def _item(record, max_payload_bytes: int) -> WarcItem:
    offset = record.stream_pos
    record_type = record.record_type
    if record_type != WarcRecordType.response:
        return Skipped(offset, f"record.{_type_name(record_type)}")
    headers = record.headers
    record_id = headers.get("WARC-Record-ID")
    url = headers.get("WARC-Target-URI")
    block_length = record.content_length
    if block_length > max_payload_bytes:
        return Broken(offset, "input.too_long", f"WARC record of {block_length:,} bytes > {max_payload_bytes:,} (input.max_doc_chars × 4)", record_id, url)
    if headers.get("WARC-Block-Digest") and not record.verify_block_digest(consume=False):
        return Broken(offset, "input.warc_corrupt", f"WARC record at offset {offset:,}: block digest does not match (truncated or damaged)", record_id, url)
    try:
        record.parse_http()
    except OSError as err:
        return Broken(offset, "input.warc_corrupt", f"WARC record at offset {offset:,}: bad HTTP header ({err})", record_id, url)
    http = record.http_headers
    if http is None:
        return Skipped(offset, "http.not_http")
    if http.status_code != 200:
        return Skipped(offset, f"http.status_{http.status_code}")
    content_type = http.get("Content-Type")
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and mime not in HTML_TYPES:
        return Skipped(offset, "http.not_html")
    expected = record.content_length
    payload = record.reader.read()
    if len(payload) < expected:
        return Broken(offset, "input.warc_corrupt", f"WARC record at offset {offset:,}: payload cut at {len(payload):,} of {expected:,} bytes", record_id, url)
    if not mime and not looks_like_html(payload):
        return Skipped(offset, "http.not_html")
    date = headers.get("WARC-Date")
    return Response(offset, record_id, url, date, charset_from_content_type(content_type), payload)


def _type_name(record_type) -> str:
    name = getattr(record_type, "name", None) or str(record_type)
    return name.rsplit(".", 1)[-1].lower()


def _next_record_start(handle: IO[bytes], position: int, compressed: bool) -> int | None:
    """Offset of the next gzip member (or `WARC/1.x` line) at or after `position`, read in bounded chunks."""
    magic = GZIP_MAGIC if compressed else WARC_MAGIC
    handle.seek(position)
    base, carry = position, b""
    while chunk := handle.read(SCAN_CHUNK):
        data = carry + chunk
        found = data.find(magic)
        while found != -1:
            if compressed or data[found : found + 10] in WARC_VERSION_LINES:
                return base + found
            found = data.find(magic, found + 1)
        keep = 10  # a record's first line may straddle two chunks
        base += len(data) - keep
        carry = data[-keep:]
    return None
