"""In a try's process: SIGTERM stops the task as Airflow stops it.

The executor (or Celery worker) that stops a try, because a person marked or cleared it,
its run timed out, or it ran past its ``execution_timeout``, sends the try's process group
SIGTERM, and SIGKILL after ``kill_grace_seconds``. While the task runs, SIGTERM here calls the
operator's ``on_kill()`` in this process, with the task's state (the container, pod or query
it started is cancelled), then ends the commands the task started (each in a process group
of its own, ``operators/_subprocess.py``: SIGTERM, SIGKILL to what is left after half the
grace), and the process ends by SIGTERM, as it would have without a handler: its executor
records or has recorded how the try ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from types import FrameType
from typing import Any

from conveyor.operators._subprocess import end_groups


def call_on_kill(task: Any) -> None:
    """The task's ``on_kill()``; what it raises is written to the try's log, never raised."""
    on_kill = getattr(task, "on_kill", None)
    if on_kill is None:
        return
    try:
        on_kill()
    except Exception:
        print(
            f"[conveyor] on_kill of {getattr(task, 'task_id', task)!r} failed:\n"
            f"{traceback.format_exc()}",
            file=sys.stderr,
            flush=True,
        )


@contextlib.contextmanager
def stopped_by_sigterm(task: Any, grace: float) -> Iterator[None]:
    """While the body runs, SIGTERM stops ``task`` as the module says. Only the main thread
    may set a handler; elsewhere (a test's thread) SIGTERM stays as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the group's other SIGTERMs: once
        print(
            "[conveyor] SIGTERM: the try is being stopped; calling the task's on_kill()",
            file=sys.stderr,
            flush=True,
        )
        call_on_kill(task)
        end_groups(wait=grace / 2)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        os._exit(128 + signal.SIGTERM)  # not reached: the signal ends the process

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
