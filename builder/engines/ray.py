"""The Ray engine: the local engine's work on a Ray cluster, with the same bytes out.

`executor: {type: ray, address: auto|null, num_cpus: N|null}`; `pip install '.[ray]'`.

Every stage segment runs on a pool of Ray actors, one per CPU, each building the segment's
stages once (their setup is the expensive part). The runner hands the actors whole resume
units (`runs_whole_units`; `builder/units.py`): an actor reads the unit's files with the
project's own readers (every format and quarantine rule is the local one), or, for a later
segment, the previous segment's rows of the unit and its slice of the global decision file,
runs the stages and writes the unit's tables and marker into the unit store, exactly as the
local path writes them; only the marker (file names, hashes, counts) comes back, in input
order. The runner then assembles the shards from the units' tables, as with the local
engine, so shards, rejected rows and report are the local engine's. An actor whose process
dies is restarted by Ray and its unit run again from an emptied folder; a unit is a pure
function of its input, so the output does not change. With `--limit` or `--sample` the runner
reads on the driver and hands batches over instead (a unit's input then depends on the
units before it), through the same ordered map.

The global stages (`dedup`, `line_frequency`) get this engine's `RayCluster` in their
`GlobalContext`: generic map/shuffle primitives as Ray tasks over blocks of the staged key
files, data handed from task to task through the object store, so the driver never holds
every document's keys (`dedup_cluster.py`, `line_frequency_cluster.py` say what they return
to it: the dropped rows or the edits). A decide returns `Decisions`: Arrow columns of the
changed rows only (row, kind, reason, detail, line numbers), which the runner writes to the
decision file a row group at a time and lets go; it keeps per unit only the hash of its
slice (one pass over the file), and each unit task reads the row groups of its own slice.

The driver's bound: nothing per kept document. Per dropped or edited document, held only
while the decide returns and the decision file is written: ~80 bytes of Arrow columns plus 8
bytes per removed line; for dedup also ~33 bytes of numpy arrays (dropped row, keeper,
exact flag, similarity, group) and, briefly, the detail strings as Python objects (~150
bytes each). Per unit: its marker (a few kB). Plus Ray itself (~140 MB) and a key row group
when dedup writes its artifacts. (`benchmarks/bench_ray.py --no-build`: 1M signatures,
158,062 dropped, driver peak 600 MB, 143 before; 10M lines, 289,661 documents edited, 326
MB, 143 before.) Units, key files and the decision file are in the staging folder under
`publish.root`: on several machines, storage every node mounts at the same path.

Nothing here knows a stage or a language: the runner hands in a picklable task factory.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections import deque
from typing import Any, Callable, Iterable, Iterator

from builder.config import ConfigError

log = logging.getLogger("builder")
INSTALL_HINT = "pip install 'zh-corpus-builder[ray]' (in a checkout: pip install -e '.[ray]')"


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ConfigError(f"executor.type: ray needs Ray, which is not installed ({err}): {INSTALL_HINT}") from None
    return ray


class RayEngine:
    """Ordered map over a Ray cluster."""

    # The runner hands over whole resume units (each read, run through its stages and written where
    # a worker runs it), not batches it read itself: no row passes through the driver.
    runs_whole_units = True

    def __init__(self, executor):
        self.ray = _import_ray()
        self.executor = executor
        self.started_here = False
        self._workers: int | None = None
        self.shuffles = 0  # shuffles run for global decisions (tests check that the decide ran here)
        self.items = 0  # work items handed to actors (tests check that units ran here)

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

    # -- the runner's batches, in order, through an actor pool --------------------------------
    def map(self, factory: Callable[[], Callable[[Any], Any]], items: Iterable[Any]) -> Iterator[Any]:
        ray, workers = self.ray, self.workers
        worker = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(_TaskActor)
        actors = [worker.remote(factory) for _ in range(workers)]
        pending: deque = deque()
        try:
            for index, item in enumerate(items):
                pending.append(actors[index % len(actors)].run.remote(item))
                self.items += 1
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
                if pending:  # stopped early: return once the killed actors are gone, so no unit task still writes
                    ray.wait(list(pending), num_returns=len(pending), timeout=30)

    def cluster(self) -> "RayCluster":
        """Shuffles on this cluster for a global stage's decide (`builder.stages.base.Cluster`)."""
        return RayCluster(self.ray, self.workers, self)

    def close(self) -> None:
        """End the Ray this engine started (a cluster it joined is left running)."""
        if self.started_here and self.ray.is_initialized():
            self.ray.shutdown()
            self.started_here = False


class RayCluster:
    """`builder.stages.base.Cluster` on Ray: each shuffle is a task per input that splits it
    (`num_returns` = partitions) and a task per partition that reduces its pieces; the
    pieces and results stay in Ray's object store (spilled to disk when it is full) and are
    handed from task to task by reference. Only the reducers' small infos, and what a
    decide asks for by `get`, reach the driver. Tasks are retried when their worker dies."""

    def __init__(self, ray, workers: int, engine: RayEngine):
        self.ray = ray
        self.workers = workers
        self.engine = engine
        self._route = ray.remote(max_retries=3)(_route_task)
        self._reduce = ray.remote(max_retries=3, num_returns=2)(_reduce_task)

    def shuffle(self, inputs, route, reduce, partitions: int):
        route_ref, reduce_ref = self.ray.put(route), self.ray.put(reduce)
        self.engine.shuffles += 1
        try:
            pieces = [self._route.options(num_returns=partitions).remote(route_ref, item) for item in inputs]
            if partitions == 1:
                pieces = [[piece] for piece in pieces]
            results = [self._reduce.remote(reduce_ref, i, *[split[i] for split in pieces]) for i in range(partitions)]
            data = [result[0] for result in results]
            return data, self.ray.get([result[1] for result in results])
        except Exception as err:
            raise _user_error(err) from None

    def get(self, handles):
        return self.ray.get(list(handles))


def _route_task(route: Callable[[Any], list], item: Any):
    pieces = route(item)
    return pieces[0] if len(pieces) == 1 else tuple(pieces)


def _reduce_task(reduce: Callable[[int, list], tuple], index: int, *pieces: Any):
    return reduce(index, list(pieces))


def _close(iterator) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


class _TaskActor:
    def __init__(self, factory: Callable[[], Callable[[Any], Any]]):
        self.task = factory()

    def run(self, item: Any) -> Any:
        return self.task(item)


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
