"""The one clock: aware UTC "now", for every layer (the store's columns and the sensors alike)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

# Set while the scheduler asks a user's own timetable for its next run (scheduler/due.py): a
# timetable that reads the clock must decide as of the moment asked about.
_frozen: ContextVar[datetime | None] = ContextVar("conveyor_frozen_now", default=None)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (the store refuses naive ones)."""
    frozen = _frozen.get()
    return datetime.now(UTC) if frozen is None else frozen


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Within the block, :func:`utcnow` (and so Airflow's ``timezone.utcnow``) is ``moment``."""
    token = _frozen.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _frozen.reset(token)
