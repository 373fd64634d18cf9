"""What a run shows while it works: a bar against the known input size, a spinner for steps without one.

The numbers live in `SegmentProgress` (tested); the bar only draws them. The first segment counts
bytes of input on disk (file sizes are known before reading, compressed or not), so it has a total
and an ETA from the start; later segments count the documents that survived the global stage before
them. The pass rate divides the documents a segment let through by the documents it processed,
not by the documents read so far.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass

from tqdm import tqdm

log = logging.getLogger("builder")


@dataclass
class SegmentProgress:
    label: str
    total_bytes: int | None = None  # first segment: input bytes on disk
    done_bytes: int = 0
    total_documents: int | None = None  # later segments: documents that entered
    documents_in: int = 0  # processed by the segment's stages
    documents_out: int = 0  # let through by them
    seconds: float = 0.0

    @property
    def pass_rate(self) -> float | None:
        return self.documents_out / self.documents_in if self.documents_in else None

    def postfix(self) -> str:
        rate = "" if self.pass_rate is None else f" · passing {self.pass_rate:.0%}"
        return f"{self.documents_in:,} docs{rate}"


class SegmentBar:
    """Draws a SegmentProgress with tqdm: bytes (or documents) against the total, rate, ETA."""

    def __init__(self, progress: SegmentProgress, enabled: bool):
        self.progress = progress
        by_bytes = progress.total_bytes is not None
        self.bar = tqdm(desc=progress.label, total=progress.total_bytes if by_bytes else progress.total_documents,
                        unit="B" if by_bytes else " docs", unit_scale=by_bytes, unit_divisor=1024,
                        disable=not enabled, dynamic_ncols=True, leave=False)
        self.by_bytes = by_bytes
        self.started = time.perf_counter()

    def update(self) -> None:
        position = self.progress.done_bytes if self.by_bytes else self.progress.documents_in
        if position > self.bar.n:
            self.bar.update(position - self.bar.n)
        self.bar.set_postfix_str(self.progress.postfix(), refresh=False)

    def close(self) -> None:
        self.progress.seconds = time.perf_counter() - self.started
        self.bar.close()
        rate = self.progress.pass_rate
        log.info("%s: %s of %s documents passed%s in %.1fs", self.progress.label, f"{self.progress.documents_out:,}",
                 f"{self.progress.documents_in:,}", "" if rate is None else f" ({rate:.1%})", self.progress.seconds)


class Spinner:
    """`with Spinner("dedup: deciding", enabled):` — a named spinner with the elapsed time, for steps without a bar."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, name: str, enabled: bool):
        self.name = name
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Spinner":
        log.info("%s", self.name)
        self.started = time.perf_counter()
        if self.enabled:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        return self

    def _spin(self) -> None:
        frame = 0
        while not self._stop.wait(0.1):
            sys.stderr.write(f"\r{self.FRAMES[frame % len(self.FRAMES)]} {self.name} {time.perf_counter() - self.started:5.1f}s")
            sys.stderr.flush()
            frame += 1

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        log.info("%s: done in %.1fs", self.name, time.perf_counter() - self.started)
