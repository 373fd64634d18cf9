"""Crash tests on the real process: kill -9, SIGTERM and interrupts at chosen points, full and
read-only disks. Each run carries a token in its environment, so every process it started
(fork server, workers, resource tracker) can be found afterwards, whoever its parent is."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from conftest import ARTICLES, REPO, write_config, write_jsonl

STAGES = "  - type: normalize\n  - type: dedup\n"  # a global stage, so there is a segment-0 and a segment-1
GONE_WITHIN_SECONDS = 15


@pytest.fixture
def long_corpus(tmp_path: Path) -> Path:
    """Enough batches (of 4) that a build with two workers is mid-segment for a few seconds."""
    records = [{"id": f"p{i}", "text": f"第{i}篇。" + ARTICLES[i % len(ARTICLES)] * 3 + ARTICLES[(i * 7) % len(ARTICLES)]} for i in range(800)]
    return write_jsonl(tmp_path / "in" / "long.jsonl", records)


def start(config: Path, fault: str | None = None, *args: str) -> tuple[subprocess.Popen, str]:
    token = uuid.uuid4().hex
    env = {**os.environ, "ZH_BUILDER_TEST_RUN": token, "PYTHONPATH": str(REPO)}
    env.pop("BUILDER_FAULT", None)
    if fault:
        env["BUILDER_FAULT"] = fault
    process = subprocess.Popen([sys.executable, "-m", "builder", "--config", str(config), "-q", *args],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_interrupt)
    return process, token


def _default_interrupt() -> None:
    # A shell starts background jobs with SIGINT ignored, and children inherit that: the build would
    # then (rightly) ignore Ctrl-C. Start it as a terminal would, so the interrupt tests mean something.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def processes_of(token: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("ZH_BUILDER_TEST_RUN") == token:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def wait_for_workers(process: subprocess.Popen, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            # main -> resource tracker, fork server -> workers
            workers = [p for p in psutil.Process(process.pid).children(recursive=True) if p.ppid() != process.pid]
        except psutil.NoSuchProcess:
            workers = []
        if len(workers) >= count:
            time.sleep(0.5)  # let them take work
            return
        time.sleep(0.05)
    raise AssertionError("the workers never started")


def left_behind(token: str) -> list[str]:
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    while (alive := processes_of(token)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def entries(dataset_dir: Path) -> list[str]:
    return sorted(p.name.split("-")[0] if p.name.startswith(".staging-") else p.name for p in dataset_dir.iterdir()) if dataset_dir.is_dir() else []


def test_kill_9_leaves_no_process_and_the_next_run_cleans_up(tmp_path, long_corpus):
    config = write_config(tmp_path / "c.yaml", [long_corpus], stages=STAGES, workers=2)
    process, token = start(config)
    wait_for_workers(process, 2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert left_behind(token) == []
    dataset_dir = tmp_path / "out" / "test-set"
    assert entries(dataset_dir) == [".lock", ".staging"]  # nothing visible; the dead run's lock and staging
    again, token = start(config)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert entries(dataset_dir) == ["CHANGELOG.md", "README.md", "runs", "v1.0.0"]
    assert left_behind(token) == []


def test_sigterm_stops_like_ctrl_c(tmp_path, long_corpus):
    config = write_config(tmp_path / "c.yaml", [long_corpus], stages=STAGES, workers=2)
    process, token = start(config)
    wait_for_workers(process, 2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == ("interrupted: nothing was published; the finished work is kept: re-run the same command to resume, "
                           "or add --fresh to start over")
    assert entries(tmp_path / "out" / "test-set") == [".staging"]  # kept for the resume, the lock released
    assert left_behind(token) == []


def test_a_run_killed_after_a_segment_is_cleaned_up_by_the_next(tmp_path, long_corpus):
    config = write_config(tmp_path / "c.yaml", [long_corpus], stages=STAGES)
    process, _ = start(config, "after:segment-0")
    process.communicate(timeout=600)
    assert process.returncode == -signal.SIGKILL
    dataset_dir = tmp_path / "out" / "test-set"
    assert entries(dataset_dir) == [".lock", ".staging"]
    again, _ = start(config)
    assert again.communicate(timeout=600)[1] == "" and again.returncode == 0
    assert entries(dataset_dir) == ["CHANGELOG.md", "README.md", "runs", "v1.0.0"]


def test_an_interrupt_during_the_commit_waits_for_it_and_tells_the_truth(tmp_path, corpus):
    config = write_config(tmp_path / "c.yaml", [corpus])
    process, _ = start(config, "publish:committed:INT")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "nothing was published" not in err and "was published in full" in err
    dataset_dir = tmp_path / "out" / "test-set"
    assert entries(dataset_dir) == ["CHANGELOG.md", "README.md", "runs", "v1.0.0"]
    assert "v1.0.0" in (dataset_dir / "README.md").read_text(encoding="utf-8")


def test_a_kill_between_the_renames_leaves_a_whole_version(tmp_path, corpus):
    config = write_config(tmp_path / "c.yaml", [corpus])
    process, _ = start(config, "publish:committed")
    process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL
    dataset_dir = tmp_path / "out" / "test-set"
    verify = subprocess.run([sys.executable, "-m", "builder", "verify", str(dataset_dir / "v1.0.0")], capture_output=True, text=True, cwd=REPO)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    again, _ = start(config, None, "--version", "1.1.0")
    assert again.communicate(timeout=300)[1] == "" and again.returncode == 0
    card = (dataset_dir / "README.md").read_text(encoding="utf-8")
    assert "config_name: v1.0.0" in card and "config_name: v1.1.0" in card
    assert entries(dataset_dir) == ["CHANGELOG.md", "README.md", "runs", "v1.0.0", "v1.1.0"]


@pytest.fixture
def small_disk(tmp_path: Path):
    """A small tmpfs (root only, as in CI); mounted read-only on request."""
    mount = tmp_path / "disk"
    mount.mkdir()

    def make(options: str) -> Path:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        return mount

    yield make
    subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_full_disk_is_a_user_error_naming_the_path(tmp_path, long_corpus, small_disk):
    out = small_disk("size=64k")
    config = write_config(tmp_path / "c.yaml", [long_corpus], stages="  - type: normalize\n", root=out)
    process, _ = start(config)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    assert "No space left on device" in err and str(out) in err and "--output" in err and "Traceback" not in err
    assert entries(out / "test-set") == []


def test_a_read_only_output_is_a_user_error_naming_the_path(tmp_path, corpus, small_disk):
    out = small_disk("size=64k,ro")
    config = write_config(tmp_path / "c.yaml", [corpus], root=out)
    process, _ = start(config)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2, err
    assert "Read-only file system" in err and str(out) in err and "Traceback" not in err
