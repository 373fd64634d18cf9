"""The Ray engine: the local engine's work on a Ray cluster, with the same bytes out.

`executor: {type: ray, address: auto|null, num_cpus: N|null}`; `pip install '.[ray]'`.

The first segment runs as one Ray Data pipeline: one read task per input unit (a file; a
run of files for one-document-per-file formats) runs the project's own reader, so every
format and quarantine rule is the local one, then `map_batches` on an actor pool runs the
segment's stages, built once per actor (their setup is the expensive part). A dataset row
is one of the reader's batches, pickled once; the batches are exactly the local reader's,
because a batch never spans two units. Ray Data is told to preserve order, so results reach
the runner in input order (unit, batch) whatever finished first, and the runner writes them
through its own ShardWriter: shards, rejected rows and report are the local engine's.
Later segments (after a global stage) are fed by the runner, batch by batch, to an actor pool
with a bounded window of batches in flight, in order.

What crosses to the driver per batch is what the runner writes: the kept rows, the rejected
rows, counters and stage statistics, never the input text a second time (the read side
sends back a placeholder per document). A worker process that dies is retried by Ray: a
read task or a batch is simply run again, and because every task is a pure function of its
unit or batch, the output does not change.

The global stages' decisions are still made on the driver, as with the local engine: the
driver holds every document's keys while a global stage decides (about 1.1 KB a document for
`dedup` with 512-slot signatures, about 60 bytes a counted line for `line_frequency`), and
the rows pass through it to be written. Deciding by shuffles on the cluster is what is left.

Nothing here knows a stage or a language: the runner hands in a picklable task factory and
a reader with `read_units`, `for_unit`, `read_unit` and `absorb`.
"""
from __future__ import annotations

import logging
import pickle
import signal
import threading
import warnings
from collections import deque
from typing import Any, Callable, Iterable, Iterator

from builder.config import ConfigError

log = logging.getLogger("builder")
INSTALL_HINT = "pip install 'zh-corpus-builder[ray]' (in a checkout: pip install -e '.[ray]')"


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (the pipeline's half of Ray, a separate extra)
    except ImportError as err:
        raise ConfigError(f"executor.type: ray needs Ray Data, which is not installed ({err}): {INSTALL_HINT}") from None
    return ray


class RayEngine:
    """Ordered map over a Ray cluster; reads the input itself when the runner lets it (`read_map`)."""

    reads_input = True  # the runner may hand over reading (see `read_map`)

    def __init__(self, executor):
        self.ray = _import_ray()
        self.executor = executor
        self.started_here = False
        self._workers: int | None = None

    @property
    def workers(self) -> int:
        """Stage actors: `num_cpus`, or every CPU of the cluster. Joins or starts Ray on first use,
        so a dry run, which maps nothing, never starts it."""
        if self._workers is None:
            if not self.ray.is_initialized():
                self._connect(self.executor.address, self.executor.num_cpus)
            cluster_cpus = int(self.ray.cluster_resources().get("CPU", 1))
            wanted = self.executor.num_cpus or cluster_cpus
            if wanted > cluster_cpus:
                log.warning("executor.num_cpus is %d but the Ray cluster has %d CPUs: using %d", wanted, cluster_cpus, cluster_cpus)
            self._workers = max(1, min(wanted, cluster_cpus))
        return self._workers

    def _connect(self, address: str | None, num_cpus: int | None) -> None:
        options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
        # ray.init sets its own SIGTERM handler (exit at once); the build's own one says "interrupted" and cleans up.
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGTERM) if in_main else None
        try:
            if address is None:  # a private Ray for this run, on this machine
                self.ray.init(address="local", num_cpus=num_cpus, **options)
            else:
                self.ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as err:
            where = "the cluster RAY_ADDRESS or `ray start --head` names" if address == "auto" else repr(address)
            raise ConfigError(f"executor.address: cannot join the Ray cluster at {where} ({err}); start one with "
                              "`ray start --head`, or set executor.address: null to start one for this run") from None
        if in_main and previous is not None:
            signal.signal(signal.SIGTERM, previous)
        self.started_here = True
        log.info("started Ray (%s)", "a local instance" if address is None else f"joined {address}")

    # -- the first segment: read tasks per unit, map_batches on an actor pool ----------------
    def read_map(self, factory: Callable[[], Callable[[Any], Any]], reader, on_input: Callable[[Any], None]) -> Iterator[Any]:
        """Read every unit of `reader` in Ray tasks and run `factory`'s task on each batch in an actor pool.

        Yields the task's results in input order; before each, and for batches with nothing to
        process, calls `on_input(batch)` with the batch as read (its documents replaced by
        placeholders: only its counts and quarantined records travel back). What reading a
        unit found besides its batches (empty files, crawl statistics) is added to `reader`.
        """
        ray, workers = self.ray, self.workers
        units = reader.read_units()
        if not units:
            return
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # input order out, whatever finishes first
        context.enable_progress_bars = False  # the runner draws its own bar
        context.target_max_block_size = 1  # a block per batch, so batches spread over the actors, not a file's to one
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        # A run with fewer units or batches than actors is fine; Ray Data would warn about it each time.
        warnings.filterwarnings("ignore", message=r"The (maximum|minimum) number of concurrent", category=UserWarning)
        rows = [{"unit": index, "payload": pickle.dumps((reader.for_unit(), files))} for index, files in enumerate(units)]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        # The actors hold one CPU each, every CPU there is: read tasks ask for none, or they would
        # wait forever for one; at most one per actor runs at a time, so reading keeps just ahead.
        dataset = dataset.flat_map(_read_unit, num_cpus=0, compute=ray.data.TaskPoolStrategy(size=workers))
        # The factory rides on the class, not as a constructor argument, so an actor Ray restarts
        # after its process died builds the same stages from the class alone.
        actor = type("_SegmentActor", (_SegmentActor,), {"factory": factory})
        dataset = dataset.map_batches(
            actor, batch_size=1, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
        )
        rows_out = iter(dataset.iter_rows())
        try:
            for row in rows_out:
                kind, first, second = pickle.loads(row["payload"])
                if kind == "unit":
                    reader.absorb(first)
                    continue
                on_input(first)
                if second is not None:
                    yield second
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop the pipeline, and a Ray started for this run
            _close(rows_out)
            self.close()
            raise
        except Exception as err:
            raise _user_error(err) from None
        finally:
            _close(rows_out)
        log.debug("Ray Data: %s", dataset.stats())

    # -- later segments: the runner's batches, in order, through an actor pool ---------------
    def map(self, factory: Callable[[], Callable[[Any], Any]], items: Iterable[Any]) -> Iterator[Any]:
        ray, workers = self.ray, self.workers
        worker = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(_TaskActor)
        actors = [worker.remote(factory) for _ in range(workers)]
        pending: deque = deque()
        try:
            for index, item in enumerate(items):
                pending.append(actors[index % len(actors)].run.remote(item))
                if len(pending) >= 2 * len(actors):
                    yield ray.get(pending.popleft())
            while pending:
                yield ray.get(pending.popleft())
        except KeyboardInterrupt:
            self.close()
            raise
        except Exception as err:
            raise _user_error(err) from None
        finally:
            if ray.is_initialized():
                for actor in actors:
                    ray.kill(actor)

    def close(self) -> None:
        """End the Ray this engine started (a cluster it joined is left running)."""
        if self.started_here and self.ray.is_initialized():
            self.ray.shutdown()
            self.started_here = False


def _close(iterator) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _read_unit(row: dict) -> Iterator[dict]:
    """A Ray task: one unit's batches, then what the unit's reading found."""
    reader, files = pickle.loads(row["payload"])
    for batch in reader.read_unit(files):
        yield {"payload": pickle.dumps(("batch", batch, None), protocol=5)}
    yield {"payload": pickle.dumps(("unit", reader, None), protocol=5)}


class _SegmentActor:
    """One per actor of the pool: the stages are built once, then run on every batch it is given."""

    factory: Callable[[], Callable[[Any], Any]]  # set on a subclass per segment

    def __init__(self):
        self.task = type(self).factory()

    def __call__(self, rows: dict) -> dict:
        out = []
        for payload in rows["payload"]:
            kind, batch, _ = pickle.loads(payload)
            if kind != "batch":
                out.append(payload)
                continue
            texts = batch.columns["text"]
            result = self.task(batch.columns) if texts else None
            batch.columns = {"text": [""] * len(texts)}  # the runner counts the documents; their text is in the result
            out.append(pickle.dumps(("batch", batch, result), protocol=5))
        return {"payload": _object_array(out)}


class _TaskActor:
    def __init__(self, factory: Callable[[], Callable[[Any], Any]]):
        self.task = factory()

    def run(self, item: Any) -> Any:
        return self.task(item)


def _object_array(values: list):
    import numpy as np

    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _user_error(err: BaseException) -> BaseException:
    """The project's own error inside Ray's wrappers (an unreadable input file is a user error), else `err`."""
    from builder.io.readers import InputError

    seen, stack = set(), [err]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, InputError):
            return current
        stack += [getattr(current, "cause", None), current.__cause__, current.__context__]
    return err
