"""The cluster's processes as the store records them: workers, schedulers, triggerers.

Each row is the liveness module's own (``WorkerBeat``, ``SchedulerBeat``, ``TriggererBeat``),
so the web and the CLI tell who is alive by the one rule (``.alive(now, threshold)``).
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from conveyor.store.liveness import (
    SchedulerBeat,
    TriggererBeat,
    WorkerBeat,
    scheduler_beat,
    triggerer_beat,
    worker_beat,
)
from conveyor.store.tables import scheduler, triggerer, worker


def workers(conn: Connection) -> list[WorkerBeat]:
    """Every worker that ever reported, by node name."""
    return [worker_beat(r) for r in conn.execute(select(worker).order_by(worker.c.hostname))]


def schedulers(conn: Connection, limit: int = 100) -> list[SchedulerBeat]:
    """The ``limit`` schedulers that started last, newest first."""
    rows = conn.execute(select(scheduler).order_by(scheduler.c.started_at.desc()).limit(limit))
    return [scheduler_beat(r) for r in rows]


def triggerers(conn: Connection, limit: int = 100) -> list[TriggererBeat]:
    """The ``limit`` triggerers that started last, newest first."""
    rows = conn.execute(select(triggerer).order_by(triggerer.c.started_at.desc()).limit(limit))
    return [triggerer_beat(r) for r in rows]
