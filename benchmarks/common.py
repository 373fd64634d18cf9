"""What every benchmark script shares: where the bench corpus is, reading it, peak memory."""
from __future__ import annotations

import gzip
import json
import resource
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BENCH = REPO.parent / "shared" / "bench" / "zh-bench-20mb.jsonl.gz"


def read_documents(path: Path) -> list[dict]:
    """All records of a JSONL(.gz) file; the bench corpus is 20 MB, so holding it is fine."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_texts(path: Path) -> list[str]:
    return [record["text"] for record in read_documents(path)]


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or the largest child's) in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def status_mb(field: str) -> float:
    """VmRSS / VmHWM of this process in MB from /proc (ru_maxrss would include the parent's peak before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return peak_rss_mb()
