"""The cluster's processes as the store records them: workers and schedulers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from conveyor.store.tables import scheduler, worker


@dataclass(frozen=True)
class WorkerRow:
    hostname: str
    queues: list[str]
    concurrency: int
    pid: int
    running: list[int]  # the task instance ids it runs now
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None


@dataclass(frozen=True)
class SchedulerRow:
    id: str
    hostname: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None


def workers(conn: Connection) -> list[WorkerRow]:
    """Every worker that ever reported, by node name."""
    return [
        WorkerRow(
            hostname=r.hostname,
            queues=list(r.queues or []),
            concurrency=r.concurrency,
            pid=r.pid,
            running=list(r.running or []),
            started_at=r.started_at,
            heartbeat_at=r.heartbeat_at,
            stopped_at=r.stopped_at,
        )
        for r in conn.execute(select(worker).order_by(worker.c.hostname))
    ]


def schedulers(conn: Connection, limit: int = 100) -> list[SchedulerRow]:
    """The ``limit`` schedulers that started last, newest first."""
    rows = conn.execute(select(scheduler).order_by(scheduler.c.started_at.desc()).limit(limit))
    return [
        SchedulerRow(
            id=r.id,
            hostname=r.hostname,
            pid=r.pid,
            started_at=r.started_at,
            heartbeat_at=r.heartbeat_at,
            stopped_at=r.stopped_at,
        )
        for r in rows
    ]
