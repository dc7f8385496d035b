"""Is a scheduler, a worker, a triggerer or a try alive? One rule for every place that asks.

A process is alive while it has not recorded its stop and its last heartbeat is younger
than a threshold: for schedulers and workers, ``STALE_AFTER_BEATS`` heartbeat periods (a
process that missed that many beats is taken for dead). ``conveyor health``, the metrics,
the web and CLI cluster views, ``conveyor backfill`` and the scheduler's own checks all read
it here, so they never disagree about the same row.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, Table, select

from conveyor.clock import utcnow
from conveyor.store.reads._rows import row_as
from conveyor.store.tables import scheduler, triggerer, worker

#: A scheduler or worker that missed this many heartbeats is no longer alive.
STALE_AFTER_BEATS = 3


def identity(kind: str) -> tuple[str, str, str]:
    """How a scheduler or triggerer (``kind``) in this process names itself: its host, the id
    of its row (host, pid and a random part, since a pid comes back after a restart) and the
    actor its moves are recorded under."""
    hostname = socket.gethostname()
    pid = os.getpid()
    return hostname, f"{hostname}-{pid}-{uuid.uuid4().hex[:6]}", f"{kind}@{hostname}:{pid}"


def stale_after(heartbeat_seconds: float) -> timedelta:
    """How old a scheduler's or worker's heartbeat may be while it still counts as alive."""
    return timedelta(seconds=STALE_AFTER_BEATS * heartbeat_seconds)


def is_alive(
    heartbeat_at: datetime | None,
    now: datetime,
    threshold: timedelta,
    stopped_at: datetime | None = None,
) -> bool:
    """The rule: not stopped, and a heartbeat younger than ``threshold`` at ``now``."""
    return stopped_at is None and heartbeat_at is not None and now - heartbeat_at < threshold


@dataclass(frozen=True)
class ProcessBeat:
    """What every process row records: where it runs, since when, its last heartbeat and its
    stop, which is all the liveness rule reads."""

    hostname: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None

    def alive(self, now: datetime, threshold: timedelta) -> bool:
        return is_alive(self.heartbeat_at, now, threshold, self.stopped_at)


@dataclass(frozen=True)
class SchedulerBeat(ProcessBeat):
    """A scheduler process as its row in the store shows it."""

    id: str


@dataclass(frozen=True)
class WorkerBeat(ProcessBeat):
    """A Celery worker as its row in the store shows it."""

    queues: list[str]
    concurrency: int
    running: list[int]  # the task instance ids it runs now


@dataclass(frozen=True)
class TriggererBeat(ProcessBeat):
    """A triggerer process as its row in the store shows it."""

    id: str
    capacity: int
    running: int  # the triggers it runs now


def scheduler_beat(row: Any) -> SchedulerBeat:
    return row_as(SchedulerBeat, row)


def worker_beat(row: Any) -> WorkerBeat:
    return row_as(WorkerBeat, row, queues=list(row.queues or []), running=list(row.running or []))


def triggerer_beat(row: Any) -> TriggererBeat:
    return row_as(TriggererBeat, row)


def running_schedulers(conn: Connection, since: datetime | None = None) -> list[SchedulerBeat]:
    """Schedulers that have not recorded a stop (alive or crashed), with a heartbeat after
    ``since`` if given."""
    rows = conn.execute(_not_stopped(scheduler, since).order_by(scheduler.c.id))
    return [scheduler_beat(row) for row in rows]


def live_schedulers(conn: Connection, now: datetime, threshold: timedelta) -> list[SchedulerBeat]:
    """Schedulers alive at ``now``."""
    return running_schedulers(conn, since=now - threshold)


def any_live_scheduler(conn: Connection, threshold: timedelta) -> bool:
    """Whether a scheduler is running against this store right now."""
    return bool(live_schedulers(conn, utcnow(), threshold))


def running_workers(conn: Connection, since: datetime | None = None) -> list[WorkerBeat]:
    """Workers that have not recorded a stop, with a heartbeat after ``since`` if given."""
    rows = conn.execute(_not_stopped(worker, since).order_by(worker.c.hostname))
    return [worker_beat(row) for row in rows]


def live_workers(conn: Connection, now: datetime, threshold: timedelta) -> list[WorkerBeat]:
    """Workers alive at ``now``."""
    return running_workers(conn, since=now - threshold)


def running_triggerers(conn: Connection, since: datetime | None = None) -> list[TriggererBeat]:
    """Triggerers that have not recorded a stop (alive or crashed), with a heartbeat after
    ``since`` if given."""
    rows = conn.execute(_not_stopped(triggerer, since).order_by(triggerer.c.id))
    return [triggerer_beat(row) for row in rows]


def _not_stopped(table: Table, since: datetime | None) -> Select[Any]:
    """A process table's rows with no stop recorded, with a heartbeat after ``since`` if given."""
    stmt = select(table).where(table.c.stopped_at.is_(None))
    return stmt if since is None else stmt.where(table.c.heartbeat_at > since)


def live_triggerers(conn: Connection, now: datetime, threshold: timedelta) -> list[TriggererBeat]:
    """Triggerers alive at ``now``."""
    return running_triggerers(conn, since=now - threshold)
