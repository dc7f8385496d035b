"""The ``worker`` table: each Celery worker records itself, and the scheduler reads who is gone.

A worker's main process upserts its row on every heartbeat and stamps ``stopped_at`` when it
stops. A worker killed outright stamps nothing: its heartbeat just goes stale, which is how
the scheduler tells that the messages it had taken from the broker (and not yet started) are
lost with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from conveyor.clock import utcnow
from conveyor.store import liveness
from conveyor.store.sql import upsert
from conveyor.store.tables import task_instance, worker


def record_heartbeat(
    conn: Connection,
    hostname: str,
    *,
    queues: list[str],
    concurrency: int,
    pid: int,
    started_at: datetime,
    running: list[int],
) -> None:
    """This worker is alive now, running these task instances."""
    upsert(
        conn,
        worker,
        {
            "hostname": hostname,
            "queues": queues,
            "concurrency": concurrency,
            "pid": pid,
            "started_at": started_at,
            "heartbeat_at": utcnow(),
            "running": running,
            "stopped_at": None,
        },
        key=["hostname"],
    )


def record_stopped(conn: Connection, hostname: str) -> None:
    conn.execute(worker.update().where(worker.c.hostname == hostname).values(stopped_at=utcnow()))


@dataclass(frozen=True)
class GoneWorker:
    """A worker that stopped, or whose heartbeat went stale, and since when it is gone."""

    hostname: str
    started_at: datetime
    gone_at: datetime


def gone_workers(
    conn: Connection, *, now: datetime, threshold: timedelta, since: datetime, beat_seconds: float
) -> list[GoneWorker]:
    """Workers no longer alive at ``now`` (the liveness rule, with ``threshold``) that were
    still beating at ``since``. A silent worker is taken to have died one heartbeat after its
    last one."""
    rows = conn.execute(
        select(
            worker.c.hostname, worker.c.started_at, worker.c.heartbeat_at, worker.c.stopped_at
        ).where(worker.c.heartbeat_at >= since)
    ).all()
    beat = timedelta(seconds=beat_seconds)
    return [
        GoneWorker(
            row.hostname,
            row.started_at,
            row.stopped_at if row.stopped_at is not None else row.heartbeat_at + beat,
        )
        for row in rows
        if not liveness.is_alive(row.heartbeat_at, now, threshold, row.stopped_at)
    ]


def run_of_task_instance(conn: Connection, ti_id: int) -> int:
    return int(
        conn.execute(select(task_instance.c.run_pk).where(task_instance.c.id == ti_id)).scalar_one()
    )
