"""What a task instance went through, as ``conveyor tasks why`` and the web explain it: its
row, the events of its timeline, its tries; and the few facts around it that say what it
waits for (is its DAG paused, which workers are alive and on which queues).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Connection, select

from conveyor.states import TaskState
from conveyor.store.reads import tasks as task_reads
from conveyor.store.reads._rows import row_as
from conveyor.store.reads.tasks import TryRow
from conveyor.store.tables import dag, task_event, task_instance
from conveyor.store.try_numbers import EVENT_TRY, SHOWN_MAX_TRIES, SHOWN_TRY, events_with_tries

#: The kind of the timeline entry a task callback that raised leaves on its try (written by
#: ``conveyor.callbacks``; here so that ``tasks why`` reads it without loading the callbacks).
CALLBACK_FAILED = "callback_failed"


@dataclass(frozen=True)
class InstanceRow:
    """A task instance with the columns that say where it is in its life (each field is
    read from the column of its name)."""

    id: int
    task_id: str
    state: TaskState
    try_number: int
    max_tries: int
    map_index: int
    queue: str
    pool: str
    pool_slots: int
    queued_at: datetime | None
    retry_at: datetime | None
    #: A mapped instance's name from its task's ``map_index_template``, once rendered.
    rendered_map_index: str | None = None


@dataclass(frozen=True)
class EventRow:
    try_number: int
    at: datetime
    kind: str
    actor: str | None
    message: str | None


def find_instance(
    conn: Connection, run_pk: int, task_id: str, map_index: int | None = None
) -> InstanceRow | None:
    """A task's instance in a run: the one of ``map_index``, else the first."""
    ti = task_instance.c
    shown = {"try_number": SHOWN_TRY, "max_tries": SHOWN_MAX_TRIES}  # as people count them
    query = select(
        *(
            shown[f.name].label(f.name) if f.name in shown else ti[f.name]
            for f in fields(InstanceRow)
        )
    ).where(ti.run_pk == run_pk, ti.task_id == task_id)
    if map_index is not None:
        query = query.where(ti.map_index == map_index)
    row = conn.execute(query.order_by(ti.map_index)).first()
    if row is None:
        return None
    return row_as(InstanceRow, row, state=TaskState(row.state))


def events(conn: Connection, ti_id: int) -> list[EventRow]:
    """A task instance's timeline, oldest first, each entry with its try."""
    return [
        EventRow(row.try_number, row.at, row.kind, row.actor, row.message)
        for row in conn.execute(
            select(
                EVENT_TRY.label("try_number"),
                task_event.c.at,
                task_event.c.kind,
                task_event.c.actor,
                task_event.c.message,
            )
            .select_from(events_with_tries())
            .where(task_event.c.ti_id == ti_id)
            .order_by(task_event.c.id)
        )
    ]


def tries(conn: Connection, ti_id: int) -> list[TryRow]:
    """The records of a task instance's tries, in order (the read model's rows)."""
    return sorted(task_reads.tries(conn, [ti_id]), key=lambda row: row.try_number)


def dag_is_paused(conn: Connection, dag_id: str) -> bool:
    return bool(conn.execute(select(dag.c.is_paused).where(dag.c.dag_id == dag_id)).scalar())


@dataclass(frozen=True)
class RunEvent:
    """A timeline entry of one of a run's task instances."""

    id: int
    task_id: str
    map_index: int
    try_number: int
    message: str | None


def run_events(conn: Connection, run_pk: int, kind: str) -> list[RunEvent]:
    """The timeline entries of one kind of every task instance of a run, oldest first."""
    ti, ev = task_instance.c, task_event.c
    rows = conn.execute(
        select(ev.id, ti.task_id, ti.map_index, EVENT_TRY.label("try_number"), ev.message)
        .select_from(events_with_tries())
        .where(ti.run_pk == run_pk, ev.kind == kind)
        .order_by(ev.id)
    )
    return [RunEvent(r.id, r.task_id, r.map_index, r.try_number, r.message) for r in rows]
