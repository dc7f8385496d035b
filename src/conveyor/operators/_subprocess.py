"""Run a command with its output copied line by line into the try's log (``sys.stdout``),
which works both when the log is the process's own file descriptors and when it is a Python
stream (``conveyor.testing``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import NamedTuple


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
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            if line.strip():
                last_line = line.rstrip("\n")
        code = process.wait()
    sys.stdout.flush()
    return Finished(code, last_line)
