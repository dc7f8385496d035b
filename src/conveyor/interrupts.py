"""Ctrl-C and SIGTERM for the long-running commands: stop at a safe point, and within 5 s.

Python's own Ctrl-C raises ``KeyboardInterrupt`` wherever the main thread happens to be. In
a scheduler loop that is often inside SQLAlchemy, and when it lands while a connection is
being handed back to its pool (the rollback of a ``BEGIN IMMEDIATE`` transaction), that
connection keeps SQLite's write lock, referenced from the exception's traceback. The stop
that follows then waits SQLite's whole busy timeout (30 s) to record itself: ``conveyor run``
took more than 30 s to exit after a Ctrl-C now and then on a busy machine.

So :func:`install` replaces that behaviour. SIGTERM or a first Ctrl-C only asks for a stop
(:func:`requested`); the loops look at it between their steps and wake for it at once from
their waits (:func:`wait`, :func:`sleep`), and the stop that follows runs from a known
place, giving running tries a shorter grace after a Ctrl-C (:func:`stop_grace`).

A Python signal handler runs only when the main thread comes back to Python code, and a
thread in a C call (SQLite waiting for another process's lock, a database round trip) may
not for many seconds. So the signals are watched from a thread of their own too, through
the interpreter's wakeup file descriptor, which is written at the moment a signal arrives.
That thread forces the exit on a second Ctrl-C, or when the stop a first one asked for is
not done within :data:`FORCE_AFTER_SECONDS`: every child process Conveyor started and its
fork server get SIGKILL, and the process ends with status 130 without cleaning up. Tries
killed that way are found lost by the next scheduler.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing import connection
from types import FrameType
from typing import Any

from conveyor._processes import kill_children

#: Seconds running tries get to finish after a Ctrl-C before they are killed (SIGTERM gives
#: them ``kill_grace_seconds``): whoever pressed it is waiting at the terminal.
INTERRUPT_GRACE_SECONDS = 1.0
#: Seconds after a Ctrl-C at which a stop still under way is cut short: the exit that
#: follows, children killed, is quick, and Conveyor promises a stop within 5 s.
FORCE_AFTER_SECONDS = 4.0
#: Exit status after a forced stop, as a shell reports a process ended by SIGINT.
INTERRUPTED_EXIT_STATUS = 130

_state: dict[str, Any] = {"signal": None, "wake": None, "done": None}


def install() -> None:
    """Handle SIGINT and SIGTERM as described above, from now on, in this process.

    Only the main thread may set signal handlers; elsewhere (a command run by a test's
    ``CliRunner`` in a thread) the handlers stay as they are."""
    if threading.current_thread() is not threading.main_thread() or _state["wake"]:
        return
    _state["wake"] = _pipe()
    arrived_read, arrived_write = _pipe()
    signal.set_wakeup_fd(arrived_write)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    threading.Thread(
        target=_watch, args=(arrived_read,), name="conveyor-signals", daemon=True
    ).start()
    atexit.register(_end_children_after_a_stop)


def requested() -> bool:
    """Whether SIGTERM or Ctrl-C asked this process to stop."""
    return _state["signal"] is not None


def interrupted() -> bool:
    """Whether the stop was asked with Ctrl-C (SIGINT), not SIGTERM."""
    return bool(_state["signal"] == signal.SIGINT)


def stop_grace(configured: float) -> float:
    """Seconds running tries get to finish now: ``configured``, less after a Ctrl-C."""
    return min(configured, INTERRUPT_GRACE_SECONDS) if interrupted() else configured


def stop_done(status: int) -> None:
    """The command has stopped and will exit with ``status``: what it printed is flushed, and
    if the interpreter's own exit (a second or more on a busy machine) is still going on at
    the deadline, the process ends there with this status, not as a stop cut short."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    _state["done"] = status


def wait(objects: Sequence[Any], timeout: float) -> list[Any]:
    """``multiprocessing.connection.wait``, returning early (with nothing) on a stop request."""
    if requested():
        return []
    wake = _state["wake"]
    if wake is None:
        return connection.wait(objects, timeout=timeout)
    ready = connection.wait([*objects, wake[0]], timeout=timeout)
    return [r for r in ready if r != wake[0]]


def sleep(timeout: float) -> None:
    """``time.sleep``, ended early by a stop request."""
    wait([], timeout)


def _pipe() -> tuple[int, int]:
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    return read, write


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    """In the main thread: the watching thread has seen it already; nothing is raised."""
    _ask_to_stop(signum)


def _ask_to_stop(signum: int) -> None:
    if _state["signal"] != signal.SIGINT:  # a Ctrl-C after a SIGTERM still cuts it short
        _state["signal"] = signum
    with contextlib.suppress(OSError):  # a byte is there already: the waits wake anyway
        os.write(_state["wake"][1], b"x")


def _watch(arrived: int) -> None:
    """The signals as they arrive, even while the main thread is in a long C call."""
    interrupted_at: float | None = None
    while True:
        timeout = None
        if interrupted_at is not None:
            timeout = max(interrupted_at + FORCE_AFTER_SECONDS - time.monotonic(), 0.0)
        if not select.select([arrived], [], [], timeout)[0]:
            if _state["done"] is not None:
                os._exit(_state["done"])
            _force_exit(f"not stopped {FORCE_AFTER_SECONDS:g}s after Ctrl-C; stopped at once")
        with contextlib.suppress(BlockingIOError):
            for signum in os.read(arrived, 512):
                if signum == signal.SIGINT and interrupted_at is not None:
                    _force_exit("second Ctrl-C: stopped at once")
                if signum == signal.SIGINT:
                    interrupted_at = time.monotonic()
                if signum in (signal.SIGINT, signal.SIGTERM):
                    _ask_to_stop(signum)


def _force_exit(why: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"\n{why}\n".encode())
    with contextlib.suppress(Exception):
        kill_children()
    os._exit(INTERRUPTED_EXIT_STATUS)


def _end_children_after_a_stop() -> None:
    """After a stop request, end what is left at exit: the fork server, still importing its
    preload if the stop came early, would otherwise hold this process's stdout open for
    seconds after it exited (a caller reading to its end waits for it)."""
    if requested():
        kill_children()
