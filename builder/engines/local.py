"""The local engine: in-process for one worker, a bounded process pool for more."""
from __future__ import annotations

import ctypes
import itertools
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator

log = logging.getLogger("builder")
_task: Callable[[Any], Any] | None = None
PARENT_POLL_SECONDS = 1.0  # only where pidfd_open is missing (not Linux)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt options (malloc.h)
_END = object()


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def keep_freed_memory() -> None:
    """Let glibc keep freed blocks of up to 32 MB for reuse instead of returning them to the OS.

    A batch allocates and frees the same large numpy scratch arrays (a few MB each) again and
    again; with glibc's adaptive defaults many become fresh mappings whose pages the kernel
    faults in and zeroes every time. Fixed thresholds: a 20 MB build on one worker takes 20% fewer
    page faults (266k -> 210k) and 0.2 s less system CPU, with the same peak RSS. No-op off glibc.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    for option in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD):
        mallopt(option, 32 << 20)


def _init_worker(factory: Callable[[], Callable[[Any], Any]], parent_pid: int) -> None:
    # Ctrl-C and SIGTERM may reach the whole process group: the main process alone handles them
    # (it stops the pool and says what happened once); workers are ended by it with SIGKILL.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    keep_freed_memory()
    _exit_when_gone(parent_pid)
    global _task
    _task = factory()


def _exit_when_gone(pid: int) -> None:
    """End this worker as soon as process `pid` (the build) is gone, however it died.

    A worker's parent is the fork server, not the build, and the pool's pipes stay open in
    the workers themselves, so without this a `kill -9` of the build leaves the workers, the
    fork server and the resource tracker blocked on pipes forever. A pidfd becomes readable
    when the process exits (and cannot be fooled by a reused pid).
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        pidfd = None

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])
        else:
            while _alive(pid):
                time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-build", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run(item: Any) -> Any:
    assert _task is not None
    return _task(item)


class LocalEngine:
    """Ordered map with at most `2 × workers` items in flight, so memory stays flat.

    `factory` is called once per worker process to build the task (e.g. the stages, whose
    setup is expensive); results come back in the order the items went in, which keeps the
    output byte-identical whatever the number of workers. More workers than CPUs only add
    memory, so the count is capped at the CPUs this process may use.
    """

    # The runner streams batches through this engine's workers, so one large unit still uses them all.
    runs_whole_units = False

    def __init__(self, workers: int = 1):
        cpus = available_cpus()
        if workers > cpus:
            log.warning("executor.workers is %d but this machine has %d CPUs: using %d workers", workers, cpus, cpus)
        self.workers = max(1, min(workers, cpus))

    def cluster(self) -> None:
        """No distributed primitives: global stages decide in this process."""
        return None

    def map(self, factory: Callable[[], Callable[[Any], Any]], items: Iterable[Any]) -> Iterator[Any]:
        items = iter(items)
        if self.workers > 1:
            # A single item (a small input: one batch) is done here: a pool would only add its start-up.
            first, second = next(items, _END), next(items, _END)
            if first is _END:
                return
            if second is not _END:
                yield from self._pooled(factory, itertools.chain((first, second), items))
                return
            items = iter((first,))
        keep_freed_memory()
        task = factory()
        for item in items:
            yield task(item)

    def _pooled(self, factory: Callable[[], Callable[[Any], Any]], items: Iterator[Any]) -> Iterator[Any]:
        # A fork server imports the task's modules once (`factory.preload`, e.g. the stage modules)
        # and forks each worker from that clean, thread-free process: workers start in milliseconds
        # instead of re-importing everything (plain fork would copy this process's threads and locks;
        # spawn pays the imports per worker).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(getattr(factory, "preload", ())))
        pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker, initargs=(factory, os.getpid()))
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(_run, item))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:  # an error, Ctrl-C, SIGTERM, or the consumer stopped early
            _stop_now(pool, pending)
            raise
        pool.shutdown(wait=True)


def _stop_now(pool: ProcessPoolExecutor, pending: deque) -> None:
    """Drop the queued work and end the workers at once, instead of waiting for their batches."""
    for future in pending:
        future.cancel()
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the pool has no public handle before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)
