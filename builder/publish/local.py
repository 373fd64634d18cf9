"""Local releases: build in a hidden staging folder, then appear atomically and immutably.

One build at a time per dataset folder: a lock (`.lock`, held with flock, so it is released
by the kernel whatever way its holder dies, and holding the holder's pid and host for the
message) makes a second build fail at once instead of publishing a version that never saw
the first one. Holding the lock, a build brings the root card up to date with the versions on
disk and takes up its staging folder, `.staging-vX.Y.Z`: one name per version, so a build that
was killed or interrupted is resumed by the next build of that version (its `work/` folder
holds the finished units; see builder/checkpoint.py). Staging folders of other versions, and
the random-suffixed ones of older builders, are removed, and the removal is reported.

Publishing is one commit: everything, root card and CHANGELOG included, is written into the
staging folder first; then renames alone put it in place, with SIGINT and SIGTERM held back
until they are done, so a version is either not there, or there with its root files.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["DatasetBusy", "LocalRelease", "Staging", "VersionExists"]

from builder.faults import fault_point
from builder.publish import PublishError, VersionExists
from builder.publish.card import CARD_DATA_FILE, LoadTarget, excerpt_placeholder, render_version_card, split_info
from builder.publish.changelog import describe_changes
from builder.publish.charts import write_charts
from builder.io.writers import sha256_file
from builder.publish.manifest import build_manifest, read_manifest, write_json
from builder.publish.root import render_root, write_root
from builder.publish.stats import collect
from builder.publish.versions import published_versions, version_key

LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"
RESUMABLE_STAGING = re.compile(r"^\.staging-v\d+\.\d+\.\d+$")
log = logging.getLogger("builder")
DEFERRED_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class DatasetBusy(PublishError):
    """Another build holds the dataset folder's lock."""


def readable_files(version_dir: Path) -> list[str]:
    """The report, card data, card and charts of a version: written after the manifest, listed in its `files`."""
    names = ["report.json", CARD_DATA_FILE, "README.md"]
    charts = sorted(p.relative_to(version_dir).as_posix() for p in (version_dir / "charts").glob("*.png"))
    return [n for n in names if (version_dir / n).is_file()] + charts


@dataclass
class Staging:
    root: Path
    version_dir: Path
    run_dir: Path
    work_dir: Path
    previous_versions: list[Path]
    resumed: bool = False  # an interrupted build of this version left work to resume


class LocalRelease:
    def __init__(self, root: Path, name: str, version: str):
        self.dataset_dir = root / name
        self.version = version
        self.committed = False  # the version folder is in place: from here on, say it was published
        self.kept_staging: Path | None = None  # interrupted: the staging folder left for the next run to resume

    @property
    def version_dir(self) -> Path:
        return self.dataset_dir / f"v{self.version}"

    @property
    def run_dir(self) -> Path:
        return self.dataset_dir / "runs" / f"v{self.version}"

    def check_new(self) -> None:
        same = [p for p in published_versions(self.dataset_dir) if version_key(p.name) == version_key(self.version)]
        if self.version_dir.exists() or same:
            raise VersionExists(
                f"{self.version_dir} already exists and published versions are immutable: "
                "set a new `version:` in the config (or `version: auto`) or pass --version X.Y.Z"
            )

    @contextmanager
    def staging(self, resumable: bool = True, fresh: bool = False) -> Iterator[Staging]:
        """A hidden folder beside the versions, never a visible partial version.

        Removed after publishing and on any failure, except an interrupt (Ctrl-C, SIGTERM) of a
        resumable build, which keeps it, finished units and all, for the same command to resume
        (a `kill -9` keeps it too, having no say). `fresh` clears what an earlier run left.
        """
        self.dataset_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self.check_new()  # another build may have published it while this one waited to start
            if resumable:
                root = self.dataset_dir / f"{STAGING_PREFIX}v{self.version}"
                self._remove_dead_stagings(keep=root.name)
                if fresh and root.exists():
                    log.info("--fresh: removing what an earlier build of v%s left in %s", self.version, root)
                    shutil.rmtree(root)
                resumed = root.is_dir()
                if resumed:  # only the finished units are kept: the rest is made again from them
                    for child in root.iterdir():
                        if child.name != "work":
                            shutil.rmtree(child) if child.is_dir() else child.unlink()
                root.mkdir(exist_ok=True)
            else:
                self._remove_dead_stagings(keep=None)
                root = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{self.version}-", dir=self.dataset_dir))
                resumed = False
            self._repair_root()
            staging = Staging(root, root / "version", root / "run", root / "work", published_versions(self.dataset_dir), resumed)
            try:
                for folder in (staging.version_dir, staging.run_dir):
                    folder.mkdir()
                staging.work_dir.mkdir(exist_ok=True)
                yield staging
            except KeyboardInterrupt:
                if resumable and not self.committed:
                    self.kept_staging = root
                else:
                    shutil.rmtree(root, ignore_errors=True)
                raise
            except BaseException:
                shutil.rmtree(root, ignore_errors=True)
                raise
            else:
                shutil.rmtree(root, ignore_errors=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        path = self.dataset_dir / LOCK_FILE
        while True:
            handle = open(path, "a+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise DatasetBusy(
                    f"{self.dataset_dir} is being built by {holder} (lock {path}): wait for that build to finish, "
                    "then run again so this version is deduplicated against it; or pass --output DIR"
                ) from None
            if path.exists() and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
            handle.close()  # the holder removed the file between our open and our lock: take the new one
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
            handle.flush()
            yield
        finally:
            path.unlink(missing_ok=True)  # while still locked, so no one can lock the old file after us
            handle.close()

    def _repair_root(self) -> None:
        """A build killed between its last renames leaves a root card older than its version: rewrite it."""
        versions = published_versions(self.dataset_dir)
        if not versions or not (versions[-1] / "README.md").is_file():
            return  # nothing published, or earlier versions staged by `verify --rebuild` (manifests only)
        card = self.dataset_dir / "README.md"
        if not card.is_file() or card.stat().st_mtime < (versions[-1] / "MANIFEST.json").stat().st_mtime:
            write_root(self.dataset_dir)

    def _remove_dead_stagings(self, keep: str | None) -> None:
        """Staging folders this build cannot resume: with the lock held, no live build owns one.

        A build removes every other one (a resumable staging of another version is reported, as
        is an older builder's random-suffixed one); a `--sample` run (keep None) leaves the
        resumable ones of versions alone and removes only scratch folders.
        """
        for folder in sorted(self.dataset_dir.iterdir()):
            if not folder.name.startswith(STAGING_PREFIX) or not folder.is_dir() or folder.name == keep:
                continue
            resumable = RESUMABLE_STAGING.match(folder.name) is not None
            if keep is None and resumable:
                continue
            if resumable and (self.dataset_dir / folder.name[len(STAGING_PREFIX):]).is_dir():
                log.info("removed %s: left by a build killed after it published %s", folder, folder.name[len(STAGING_PREFIX):])
            elif resumable:
                log.warning("removed %s: work of an interrupted build of %s, not the version this build makes (v%s)",
                            folder, folder.name[len(STAGING_PREFIX):], self.version)
            elif not folder.name.startswith(f"{STAGING_PREFIX}sample-"):
                log.warning("removed %s: the staging folder of a build that died, from an older builder (not resumable)", folder)
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self, staging: Staging, config, report: dict, shards, rejected_shards, inputs: list[dict],
                limit: int | None, auto_version: dict | None) -> None:
        """Manifest, report, card data, charts, card and root files into staging; then renames put them in place."""
        version_dir = staging.version_dir
        manifest = build_manifest(config, inputs, shards, rejected_shards, version_dir, limit, staging.previous_versions,
                                  split_info([s.path for s in shards]))
        if staging.previous_versions:
            previous = staging.previous_versions[-1]
            previous_report = json.loads((previous / "report.json").read_text(encoding="utf-8"))
            manifest["changes"] = describe_changes(read_manifest(previous), previous_report, manifest, report)
        else:
            manifest["changes"] = describe_changes(None, None, manifest, report)
        if auto_version:
            manifest["auto_version"] = auto_version
        manifest["releases"] = []
        write_json(version_dir / "MANIFEST.json", manifest)
        write_json(version_dir / "report.json", report)
        stats = collect([s.path for s in shards], [s.path for s in rejected_shards], excerpt_placeholder(manifest["config"]))
        write_json(version_dir / CARD_DATA_FILE, stats)
        write_charts(version_dir, report, stats)
        render_version_card(version_dir, self.load_target()).save(version_dir / "README.md")
        # What readers see besides the rows: hashed too, so `verify` notices a changed report, card or chart.
        manifest["files"] = [{"path": path, "sha256": sha256_file(version_dir / path)} for path in readable_files(version_dir)]
        write_json(version_dir / "MANIFEST.json", manifest)
        root_files = staging.root / "root"
        root_files.mkdir()
        for name, text in render_root(self.dataset_dir, version_dir).items():
            (root_files / name).write_text(text, encoding="utf-8")
        self.check_new()
        self._commit(staging, root_files)

    def _commit(self, staging: Staging, root_files: Path) -> None:
        """Renames only (no bytes written, so a full disk cannot stop it half way), signals held back."""
        self.run_dir.parent.mkdir(exist_ok=True)
        with _signals_deferred():
            if self.run_dir.exists():
                shutil.rmtree(self.run_dir)  # rejected rows of an earlier, unpublished attempt
            os.rename(staging.run_dir, self.run_dir)
            os.rename(staging.version_dir, self.version_dir)  # the version appears whole or not at all
            self.committed = True
            fault_point("publish:committed")
            try:
                for staged in sorted(root_files.iterdir()):
                    os.replace(staged, self.dataset_dir / staged.name)
            except OSError as err:
                raise PublishError(
                    f"{self.version_dir} was published, but the root card could not be replaced ({err}); "
                    "the next build into this folder rewrites it"
                ) from None

    def load_target(self) -> LoadTarget:
        return LoadTarget("local", self.dataset_dir.as_posix())


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done, then act on them (Ctrl-C: KeyboardInterrupt).

    Python-level handlers, not a signal mask: the kernel may hand a process-directed signal to
    any thread (Arrow's, BLAS's), and Python runs its handler in the main thread regardless.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)
