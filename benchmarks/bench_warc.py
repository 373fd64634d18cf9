"""WARC reading, decoding and extraction on one core: MB/s of HTML and peak RSS.

    python benchmarks/bench_warc.py                # writes a ≥ 200 MB WARC from ../shared/realweb/html, then measures
    python benchmarks/bench_warc.py --mb 50        # a smaller one
    python benchmarks/bench_warc.py --keep PATH    # write (or reuse) the WARC at PATH

The WARC holds the realweb pages as HTTP 200 responses (gzip per record, as Common Crawl), repeated
until the payloads reach `--mb`, plus a request record per response. Each phase runs in its own
process, so its peak RSS is its own:
- `fastwarc` / `warcio`: iterate every record and read every payload (the two maintained readers);
- `main` / `full`: the builder's reader (`format: warc`), i.e. read + charset + extraction + columns.
MB/s counts HTML payload bytes; CPU MB/s (payload over the process's CPU time) is the per-core figure
when other work shares the machine. Target for `main`: ≥ 20 MB/s per core.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REALWEB = REPO.parent / "shared" / "realweb" / "html"
PHASES = ("fastwarc", "warcio", "main", "full")
TARGET_MAIN_MB_S = 20


def _record(record_type: str, uri: str, block: bytes, number: int) -> bytes:
    headers = (
        f"WARC/1.1\r\nWARC-Type: {record_type}\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{number:012d}>\r\n"
        f"WARC-Date: 2024-05-01T08:00:00Z\r\nWARC-Target-URI: {uri}\r\nContent-Type: application/http; msgtype={record_type}\r\n"
        f"WARC-Block-Digest: sha1:{base64.b32encode(hashlib.sha1(block).digest()).decode()}\r\nContent-Length: {len(block)}\r\n\r\n"
    )
    return gzip.compress(headers.encode() + block + b"\r\n\r\n", compresslevel=6, mtime=0)


def write_warc(path: Path, target_mb: float) -> tuple[int, int]:
    """Realweb pages as responses until `target_mb` of payload; returns (responses, payload bytes)."""
    index = [json.loads(line) for line in open(REALWEB / "index.jsonl", encoding="utf-8")]
    pages = []
    for entry in index:
        body = (REALWEB / entry["file"]).read_bytes()
        charset = entry["declared_charset"]
        content_type = f"text/html; charset={charset}" if charset else "text/html"
        pages.append((entry.get("url") or f"https://realweb.invalid/{entry['file']}", content_type, body))
    written = payload = number = 0
    with open(path, "wb") as out:
        while payload < target_mb * 1e6:
            for url, content_type, body in pages:
                url = f"{url}#{written}"
                out.write(_record("request", url, "GET / HTTP/1.1\r\nHost: realweb.invalid\r\n\r\n".encode(), number))
                http = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode("latin-1")
                out.write(_record("response", url, http + body, number + 1))
                number += 2
                written += 1
                payload += len(body)
    return written, payload


def run_phase(phase: str, path: Path) -> dict:
    payload_bytes = _payload_bytes(path) if phase in ("main", "full") else 0  # counted before the clock starts
    started, cpu_started = time.perf_counter(), time.process_time()
    payload = documents = 0
    if phase == "fastwarc":
        from fastwarc.warc import ArchiveIterator, WarcRecordType

        for record in ArchiveIterator(open(path, "rb"), record_types=WarcRecordType.response, parse_http=True):
            payload += len(record.reader.read())
            documents += 1
    elif phase == "warcio":
        try:
            from warcio.archiveiterator import ArchiveIterator
        except ImportError:
            return {"phase": phase, "skipped": "warcio is not installed (pip install warcio to compare)"}

        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response":
                    payload += len(record.content_stream().read())
                    documents += 1
    else:
        from builder.config import InputConfig
        from builder.io.readers import DocumentReader, expand_inputs

        config = InputConfig(paths=[str(path)], format="warc", extract=phase)
        reader = DocumentReader(config, expand_inputs(config), batch_size=500)
        for batch in reader.batches():
            documents += len(batch.columns["text"]) + len(batch.quarantined)
        payload = payload_bytes
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {"phase": phase, "documents": documents, "payload_mb": payload / 1e6, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "mb_s": payload / 1e6 / seconds, "cpu_mb_s": payload / 1e6 / cpu_seconds, "docs_s": documents / cpu_seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _payload_bytes(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    return sum(len(r.reader.read()) for r in ArchiveIterator(open(path, "rb"), record_types=WarcRecordType.response, parse_http=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=200, help="HTML payload to write (default 200)")
    parser.add_argument("--keep", type=Path, help="write the WARC here (reused if it exists) instead of a temp file")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)  # one phase, in a child process
    parser.add_argument("--warc", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.warc)))
        return 0
    if not (REALWEB / "index.jsonl").is_file():
        print(f"{REALWEB} not found: the benchmark builds its WARC from those pages", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-warc-") as tmp:
        path = args.keep or Path(tmp) / "bench.warc.gz"
        if not path.exists():
            started = time.perf_counter()
            responses, payload = write_warc(path, args.mb)
            print(f"wrote {path}: {responses:,} responses, {payload / 1e6:.0f} MB of HTML, {path.stat().st_size / 1e6:.0f} MB gzipped, in {time.perf_counter() - started:.0f}s")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall-clock MB/s shares the machine, CPU MB/s is per core")
        print(f"{'phase':10s} {'docs':>8s} {'HTML MB':>8s} {'wall s':>7s} {'MB/s':>6s} {'CPU s':>7s} {'CPU MB/s':>8s} {'docs/CPU s':>10s} {'peak RSS MB':>11s}")
        for phase in args.phases:
            done = subprocess.run([sys.executable, __file__, "--phase", phase, "--warc", str(path)], capture_output=True, text=True, cwd=REPO)
            if done.returncode:
                print(f"{phase}: failed\n{done.stderr}", file=sys.stderr)
                return 1
            r = json.loads(done.stdout)
            if "skipped" in r:
                print(f"{phase:10s} skipped: {r['skipped']}")
                continue
            print(f"{phase:10s} {r['documents']:8,d} {r['payload_mb']:8.0f} {r['seconds']:7.1f} {r['mb_s']:6.1f} {r['cpu_seconds']:7.1f}"
                  f" {r['cpu_mb_s']:8.1f} {r['docs_s']:10.0f} {r['peak_rss_mb']:11.0f}")
            print(f"load average now {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(f"target for main: ≥ {TARGET_MAIN_MB_S} MB/s of HTML per core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
