"""The hop in this process: while a try is being started or its end recorded, work of the
process's own background threads (sending lineage events) waits, so that their share of the
interpreter's lock does not land between two tasks, nor their CPU on a burst of tries.

On these small machines a sending thread that is handed an event as a try ends takes the
interpreter's lock from the thread recording that end for up to a switch interval (5 ms) at a
time, and the next task waits for the record. A try's own code is not the hop once it has run
for :data:`SETTLE` seconds: a task that quick ends before its events would be sent, and its
end is the hop again. A process whose hop ended counts as quiet only after :data:`AFTER_HOP`
seconds without another: a burst of tries (a fan-out, a chain) hands it the next try sooner,
and its events wait for the burst's end. A thread never waits longer than the bound it gives,
so a hop that hangs delays the events, never loses them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds a try's code runs before background work goes beside it.
SETTLE = 0.02
#: Seconds after a hop before background work goes, unless another hop began.
AFTER_HOP = 0.05

_changed = threading.Condition()
_in_hop = 0  # threads of this process in a try's hop (a thread pool runs several tries)
_quiet_from = 0.0  # when (monotonic) the process is quiet, if no try is in its hop by then


@contextmanager
def hop() -> Iterator[None]:
    """This thread starts a try or records its end: background work waits."""
    _step(1)
    try:
        yield
    finally:
        _step(-1)


@contextmanager
def task_code() -> Iterator[None]:
    """Inside :func:`hop`: the try's own code runs, background work may go once it has run
    for :data:`SETTLE` seconds."""
    _step(-1, code_starts=True)
    try:
        yield
    finally:
        _step(1)


def wait_for_quiet(timeout: float) -> bool:
    """Wait until no try of this process is in its hop, at most ``timeout`` seconds; whether
    it is quiet now."""
    deadline = time.monotonic() + timeout
    with _changed:
        while True:
            now = time.monotonic()
            left = deadline - now
            if _in_hop <= 0:
                settling = _quiet_from - now
                if settling <= 0:
                    return True
                left = min(left, settling)
            if left <= 0:
                return False
            _changed.wait(left)


def _step(step: int, *, code_starts: bool = False) -> None:
    global _in_hop, _quiet_from
    with _changed:
        _in_hop += step
        if code_starts:
            _quiet_from = time.monotonic() + SETTLE
        elif step < 0 and _in_hop <= 0:
            _quiet_from = time.monotonic() + AFTER_HOP
        if _in_hop <= 0:
            _changed.notify_all()


def _forget_in_child() -> None:
    """A forked child runs none of its parent's tries, and a lock its parent held while it
    forked would never be released in it."""
    global _changed, _in_hop, _quiet_from
    _changed = threading.Condition()
    _in_hop = 0
    _quiet_from = 0.0


os.register_at_fork(after_in_child=_forget_in_child)
