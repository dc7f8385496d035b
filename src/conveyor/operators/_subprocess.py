"""Run a command with its output copied line by line into the try's log (``sys.stdout``),
which works both when the log is the process's own file descriptors and when it is a Python
stream (``conveyor.testing``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence


def run_streaming(
    command: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None
) -> int:
    """Run ``command``, copy its output (stderr merged) to sys.stdout; return its status."""
    sys.stdout.flush()
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
        code = process.wait()
    sys.stdout.flush()
    return code
