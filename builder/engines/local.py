"""The local engine: in-process for one worker, a bounded process pool for more."""
from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator

_task: Callable[[Any], Any] | None = None


def _init_worker(factory: Callable[[], Callable[[Any], Any]]) -> None:
    # Ctrl-C reaches the whole process group: the main process alone handles it (it stops the
    # pool and removes the staging folder); workers printing their own tracebacks only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _task
    _task = factory()


def _run(item: Any) -> Any:
    assert _task is not None
    return _task(item)


class LocalEngine:
    """Ordered map with at most `2 × workers` items in flight, so memory stays flat.

    `factory` is called once per worker process to build the task (e.g. the stages, whose
    setup is expensive); results come back in the order the items went in, which keeps the
    output byte-identical whatever the number of workers.
    """

    def __init__(self, workers: int = 1):
        self.workers = workers

    def map(self, factory: Callable[[], Callable[[Any], Any]], items: Iterable[Any]) -> Iterator[Any]:
        if self.workers == 1:
            task = factory()
            for item in items:
                yield task(item)
            return
        # A fork server imports the stage modules once and forks each worker from that clean,
        # thread-free process: workers start in milliseconds instead of re-importing everything
        # (plain fork would copy this process's threads and locks; spawn pays the imports per worker).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["builder.stages", "builder.pipeline"])
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker, initargs=(factory,)) as pool:
            pending: deque = deque()
            for item in items:
                pending.append(pool.submit(_run, item))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
