"""Fault injection for tests of crashes: `BUILDER_FAULT=POINT[:SIGNAL]` kills the build at POINT.

The build calls `fault_point(name)` at a few named places (`segment-0/batch-2`: after the
second result of segment 0 is absorbed, with workers still busy; `after:segment-0/unit-1`: once
the second unit of segment 0 is recorded (see builder/checkpoint.py); `after:segment-0`: once a
segment's units are all recorded; `publish:committed`: right after the version folder is
renamed into place). When the variable names that place, the process sends itself the
signal (KILL by default, or e.g. TERM, INT), exactly as an operator or the OOM killer would.
Unset, it costs one dictionary lookup.
"""
from __future__ import annotations

import os
import signal


def fault_point(name: str) -> None:
    wanted = os.environ.get("BUILDER_FAULT")
    if not wanted:
        return
    point, _, signal_name = wanted.rpartition(":") if wanted.rsplit(":", 1)[-1].isupper() else (wanted, "", "")
    if point == name:
        signum = getattr(signal, f"SIG{signal_name or 'KILL'}")
        if signum == signal.SIGKILL:
            os.kill(os.getpid(), signum)
        else:
            # Raised in this (the main) thread: handled at the very next bytecode, at exactly this point.
            # os.kill lets the kernel pick any thread (Arrow's, the spinner's), so a loaded machine could
            # run the handler later, past the place the test means to hit.
            signal.raise_signal(signum)
