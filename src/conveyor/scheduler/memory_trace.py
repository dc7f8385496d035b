"""The scheduler's memory, traced on request: Airflow's ``[scheduler] enable_tracemalloc``.

With the setting on (``scheduler_tracemalloc``), the scheduler starts :mod:`tracemalloc`
and, on SIGUSR1, logs at error level the ten lines of code holding the most memory, as
Airflow's scheduler does. It also logs the ten lines whose memory grew the most since the
previous SIGUSR1 (or since the start): what grows is what a leak hunt looks for, and two
signals some minutes apart say it without a heap dump. Tracing costs the process CPU and
memory of its own; it is for finding a leak, not for every day.
"""

from __future__ import annotations

import logging
import signal
import threading
import tracemalloc
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

#: Lines of code each report names, as Airflow's.
TOP = 10
#: Frames kept for each allocation: one names the line, as Airflow's ``statistics("lineno")``.
FRAMES = 1

_state: dict[str, Any] = {"previous": None, "handler": None}


def start() -> bool:
    """Trace from now on and report on SIGUSR1; whether the signal's handler was set (only
    the main thread may set one: a scheduler run in a thread of a test is traced but reports
    only when :func:`report` is called)."""
    if not tracemalloc.is_tracing():
        tracemalloc.start(FRAMES)
    _state["previous"] = tracemalloc.take_snapshot()
    if threading.current_thread() is not threading.main_thread():
        return False
    _state["handler"] = signal.signal(signal.SIGUSR1, _on_signal)
    return True


def stop() -> None:
    """Stop tracing and give SIGUSR1 back its earlier handler."""
    if _state["handler"] is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR1, _state["handler"])
    _state["handler"] = None
    _state["previous"] = None
    tracemalloc.stop()


def report() -> str:
    """Log (error level) and return the lines holding the most memory and the lines that
    grew the most since the last report."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),)
    )
    top = snapshot.statistics("lineno")[:TOP]
    text = f"scheduler memory usage:\n Top {TOP}\n " + "\n\t".join(map(str, top))
    previous = _state["previous"]
    if previous is not None:
        grown = [s for s in snapshot.compare_to(previous, "lineno") if s.size_diff > 0][:TOP]
        text += "\n grown the most since the last report\n " + "\n\t".join(map(str, grown))
    _state["previous"] = snapshot
    log.error("%s", text)
    return text


def _on_signal(_signum: int, _frame: FrameType | None) -> None:
    report()
