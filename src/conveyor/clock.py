"""The one clock: aware UTC "now", for every layer (the store's columns and the sensors alike).

On a cluster the clock is the PostgreSQL server's: heartbeats, leases and "lost after"
compare times that different hosts wrote, so each process adds the offset it measured
against the server (``store/server_clock.py``) to its own clock. A host whose clock runs
minutes ahead or behind then writes and judges the same times as its peers.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

# Set while the scheduler asks a user's own timetable for its next run (scheduler/due.py): a
# timetable that reads the clock must decide as of the moment asked about.
_frozen: ContextVar[datetime | None] = ContextVar("conveyor_frozen_now", default=None)
#: How far the store's server clock is ahead of this host's (negative: behind).
_offset = timedelta(0)
#: The fault tests' way to run one process as on a host whose clock is this many seconds off
#: (tests/fault/test_clock_skew.py). libfaketime would be the outside way, but it breaks
#: Python's sleeps and timed waits (EINVAL, or a wait that never ends).
_host_skew = float(os.environ.get("CONVEYOR_FAULT_HOST_CLOCK_SKEW", "") or 0)


def host_time() -> float:
    """This host's wall clock, in seconds since the epoch (``time.time()``)."""
    return time.time() + _host_skew


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (the store refuses naive ones), on the store's clock."""
    frozen = _frozen.get()
    if frozen is not None:
        return frozen
    if _host_skew:
        return datetime.fromtimestamp(host_time(), UTC) + _offset
    return datetime.now(UTC) + _offset


def set_offset(seconds: float) -> None:
    """Take the store server's clock to be ``seconds`` ahead of this host's from now on."""
    global _offset
    _offset = timedelta(seconds=seconds)


def offset_seconds() -> float:
    """The offset :func:`utcnow` adds to this host's clock, in seconds."""
    return _offset.total_seconds()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Within the block, :func:`utcnow` (and so Airflow's ``timezone.utcnow``) is ``moment``."""
    token = _frozen.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _frozen.reset(token)


def context_moment(value: datetime | None) -> datetime | None:
    """A date as a task's context gives it: a pendulum ``DateTime`` where pendulum is installed
    (the ``airflow`` extra brings it), as Airflow gives them, so that Airflow code calling
    ``.add()`` or ``.to_date_string()`` works; it is a ``datetime`` all the same."""
    if value is None:
        return None
    try:
        pendulum: Any = importlib.import_module("pendulum")
    except ImportError:  # Conveyor's own DAGs need no pendulum
        return value
    moment: datetime = pendulum.instance(value)
    return moment
