"""Run a command with its output copied line by line into the try's log (``sys.stdout``),
which works both when the log is the process's own file descriptors and when it is a Python
stream (``conveyor.testing``).

Each command runs in a process group of its own, as Airflow's subprocess hook runs it (a
``kill 0`` in the command reaches only the command): stopping the try (``on_kill``, see
``worker/stopping.py``) sends that group SIGTERM, so the shell's children stop too, and an
exception out of the wait (an in-process timeout) ends the group before it is raised.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import NamedTuple

#: The command groups this process runs now, by process group id.
_groups: dict[int, subprocess.Popen[str]] = {}


class Finished(NamedTuple):
    status: int
    last_line: str | None  # the last line of output that was not blank


def run_streaming(
    command: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None
) -> Finished:
    """Run ``command``, copy its output (stderr merged) to sys.stdout as it comes."""
    sys.stdout.flush()
    last_line: str | None = None
    with subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        text=True,
        errors="replace",
        process_group=0,
    ) as process:
        _groups[process.pid] = process
        try:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                if line.strip():
                    last_line = line.rstrip("\n")
            code = process.wait()
        except BaseException:
            # Popen's exit waits for the command: end it first, children and all.
            end_groups(wait=1.0)
            raise
        finally:
            _groups.pop(process.pid, None)
    sys.stdout.flush()
    return Finished(code, last_line)


def signal_groups(sig: int = signal.SIGTERM) -> list[int]:
    """Send ``sig`` to the process group of every command running now; their ids."""
    sent = []
    for pgid in list(_groups):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
            sent.append(pgid)
    return sent


def end_groups(wait: float) -> None:
    """SIGTERM to every command's group; SIGKILL to what is left of them after ``wait``."""
    groups = signal_groups(signal.SIGTERM)
    deadline = time.monotonic() + wait
    while groups and time.monotonic() < deadline:
        for pgid in list(groups):
            process = _groups.get(pgid)
            if process is not None:
                process.poll()  # reap the shell, so only a live group answers below
            if not _alive(pgid):
                groups.remove(pgid)
        if groups:
            time.sleep(0.05)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
