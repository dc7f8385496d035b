"""The statements of deferral: a deferred try's trigger, and the triggerers that run them.

A trigger row lives from the deferral's record to the move out of ``deferred`` (its event,
its timeout, or a person's clear or mark). Triggerers claim rows as schedulers claim runs:
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer at a time), taking rows no
live triggerer holds, so a killed triggerer's triggers go to the next one whose claim finds
its heartbeat stale (the one liveness rule, ``store/liveness.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, not_, or_, select, update

from conveyor.states import TaskState
from conveyor.store.reads._rows import row_as
from conveyor.store.sql import upsert
from conveyor.store.tables import dag_run, task_instance, trigger, triggerer

_T = trigger.c
_TI = task_instance.c
_DEFERRED = TaskState.DEFERRED.value


@dataclass(frozen=True)
class TriggerRow:
    """A trigger as a triggerer runs it: what to build, and whose try it wakes."""

    id: int
    ti_id: int
    try_number: int
    classpath: str
    kwargs: dict[str, Any]
    method_name: str
    method_kwargs: dict[str, Any] | None
    run_pk: int
    dag_id: str
    task_id: str
    version_hash: str


def add(
    conn: Connection,
    ti_id: int,
    try_number: int,
    classpath: str,
    kwargs: dict[str, Any],
    method_name: str,
    method_kwargs: dict[str, Any] | None,
    timeout_at: datetime | None,
    now: datetime,
) -> int:
    """Store the trigger of a try that deferred; its id."""
    conn.execute(delete(trigger).where(_T.ti_id == ti_id))  # an earlier deferral's, if left
    inserted = conn.execute(
        trigger.insert().values(
            ti_id=ti_id,
            try_number=try_number,
            classpath=classpath,
            kwargs=kwargs,
            method_name=method_name,
            method_kwargs=method_kwargs,
            timeout_at=timeout_at,
            created_at=now,
        )
    ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


_REMOVE = delete(trigger).where(_T.id.in_(bindparam("trigger_ids", expanding=True)))


def remove(conn: Connection, *trigger_ids: int) -> None:
    if trigger_ids:
        conn.execute(_REMOVE, {"trigger_ids": list(trigger_ids)})


def _waiting() -> Any:
    """Triggers whose try still waits for them."""
    return (
        select(_T.id)
        .join(task_instance, _TI.id == _T.ti_id)
        .where(_TI.state == _DEFERRED, _TI.try_number == _T.try_number)
    )


@dataclass(frozen=True)
class NextCall:
    """What a try resuming a deferral calls, and when the try started (the task instance
    keeps its first dispatch's start through the wait, as Airflow does)."""

    method: str
    kwargs: dict[str, Any] | None
    try_started: datetime | None


def next_call(conn: Connection, ti_id: int) -> NextCall | None:
    """The method and arguments a try resuming a deferral calls (None: it runs ``execute``)."""
    row = conn.execute(
        select(_TI.next_method, _TI.next_kwargs, _TI.start_date).where(_TI.id == ti_id)
    ).first()
    if row is None or row.next_method is None:
        return None
    return NextCall(row.next_method, row.next_kwargs, row.start_date)


def remove_orphans(conn: Connection) -> int:
    """Triggers whose try left ``deferred`` without them (cleared, marked, its run deleted)."""
    return conn.execute(delete(trigger).where(_T.id.not_in(_waiting()))).rowcount or 0


# -- triggerers ---------------------------------------------------------------------------------


def record_heartbeat(
    conn: Connection,
    triggerer_id: str,
    hostname: str,
    pid: int,
    capacity: int,
    running: int,
    now: datetime,
) -> None:
    """Insert this triggerer's row on its first beat, move its heartbeat on the next ones."""
    upsert(
        conn,
        triggerer,
        {
            "id": triggerer_id,
            "hostname": hostname,
            "pid": pid,
            "capacity": capacity,
            "running": running,
            "started_at": now,
            "heartbeat_at": now,
        },
        key=["id"],
        update=["heartbeat_at", "running"],
    )


def record_stop(conn: Connection, triggerer_id: str, now: datetime) -> None:
    """This triggerer stops: its triggers are free for the others at once."""
    conn.execute(update(triggerer).where(triggerer.c.id == triggerer_id).values(stopped_at=now))
    conn.execute(update(trigger).where(_T.triggerer_id == triggerer_id).values(triggerer_id=None))


def claim(
    conn: Connection, triggerer_id: str, now: datetime, threshold: timedelta, limit: int
) -> int:
    """Take up to ``limit`` waiting triggers that no live triggerer holds; how many."""
    if limit <= 0:
        return 0
    alive = select(triggerer.c.id).where(
        triggerer.c.stopped_at.is_(None), triggerer.c.heartbeat_at > now - threshold
    )
    free = (
        select(_T.id)
        .where(
            or_(_T.triggerer_id.is_(None), not_(_T.triggerer_id.in_(alive))),
            _T.id.in_(_waiting()),
        )
        .order_by(_T.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        free = free.with_for_update(skip_locked=True)
    ids = list(conn.execute(free).scalars())
    if not ids:
        return 0
    conn.execute(update(trigger).where(_T.id.in_(ids)).values(triggerer_id=triggerer_id))
    return len(ids)


def held_ids(conn: Connection, triggerer_id: str) -> list[int]:
    """The ids of the waiting triggers this triggerer holds: its periodic check reads only
    these, so holding 10,000 triggers costs a read of their ids, not of their rows."""
    return list(
        conn.execute(
            select(_T.id)
            .join(task_instance, _TI.id == _T.ti_id)
            .where(
                _T.triggerer_id == triggerer_id,
                _TI.state == _DEFERRED,
                _TI.try_number == _T.try_number,
            )
            .order_by(_T.id)
        ).scalars()
    )


#: Ids per statement when rows are read by id (well under SQLite's bound on parameters).
_IDS_PER_READ = 500

_HELD_ROWS = (
    select(
        _T.id,
        _T.ti_id,
        _T.try_number,
        _T.classpath,
        _T.kwargs,
        _T.method_name,
        _T.method_kwargs,
        _TI.run_pk,
        _TI.dag_id,
        _TI.task_id,
        dag_run.c.version_hash,
    )
    .join(task_instance, _TI.id == _T.ti_id)
    .join(dag_run, dag_run.c.id == _TI.run_pk)
    .where(
        _T.triggerer_id == bindparam("triggerer_id"),
        _TI.state == _DEFERRED,
        _TI.try_number == _T.try_number,
        _T.id.in_(bindparam("trigger_ids", expanding=True)),
    )
    .order_by(_T.id)
)


def held_by(conn: Connection, triggerer_id: str, trigger_ids: Sequence[int]) -> list[TriggerRow]:
    """Of these triggers, the waiting ones this triggerer holds, with what it needs to run
    each (the ones it has not started yet: those it already runs need no second read)."""
    found: list[TriggerRow] = []
    for start in range(0, len(trigger_ids), _IDS_PER_READ):
        chunk = list(trigger_ids[start : start + _IDS_PER_READ])
        rows = conn.execute(_HELD_ROWS, {"triggerer_id": triggerer_id, "trigger_ids": chunk})
        found.extend(row_as(TriggerRow, row, kwargs=dict(row.kwargs or {})) for row in rows)
    return found


def one(conn: Connection, trigger_id: int) -> TriggerRow | None:
    """A trigger that still waits, by id (None: it fired, timed out, or its try moved on)."""
    row = conn.execute(
        select(_T.triggerer_id).where(_T.id == trigger_id, _T.id.in_(_waiting()))
    ).first()
    if row is None or row.triggerer_id is None:
        return None
    return next(iter(held_by(conn, row.triggerer_id, [trigger_id])), None)


@dataclass(frozen=True)
class Overdue:
    """A deferred try whose deferral's timeout passed."""

    trigger_id: int
    ti_id: int
    try_number: int
    run_pk: int
    dag_id: str
    classpath: str
    timeout_at: datetime


def overdue(conn: Connection, now: datetime) -> list[Overdue]:
    """Deferred tries past their deferral's timeout."""
    rows = conn.execute(
        select(_T.id, _T.ti_id, _T.try_number, _TI.run_pk, _TI.dag_id, _T.classpath, _T.timeout_at)
        .join(task_instance, and_(_TI.id == _T.ti_id, _TI.try_number == _T.try_number))
        .where(_TI.state == _DEFERRED, _T.timeout_at.is_not(None), _T.timeout_at <= now)
        .order_by(_T.timeout_at)
    )
    return [
        Overdue(r.id, r.ti_id, r.try_number, r.run_pk, r.dag_id, r.classpath, r.timeout_at)
        for r in rows
    ]


@dataclass(frozen=True)
class Waiting:
    """What a deferred try waits for, for ``tasks why`` and the API."""

    trigger_id: int
    classpath: str
    kwargs: dict[str, Any]
    timeout_at: datetime | None
    triggerer_id: str | None


def waiting_for(conn: Connection, ti_id: int) -> Waiting | None:
    row = conn.execute(
        select(_T.id, _T.classpath, _T.kwargs, _T.timeout_at, _T.triggerer_id)
        .where(_T.ti_id == ti_id)
        .order_by(_T.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return Waiting(row.id, row.classpath, dict(row.kwargs or {}), row.timeout_at, row.triggerer_id)


def count_by_triggerer(conn: Connection) -> dict[str | None, int]:
    """Waiting triggers per triggerer (None: not claimed), for metrics and the cluster view."""
    rows = conn.execute(
        select(_T.triggerer_id, func.count()).where(_T.id.in_(_waiting())).group_by(_T.triggerer_id)
    )
    return {row[0]: int(row[1]) for row in rows}
