"""Reads of the timeline views: a run's tries in time (Gantt), runs by logical date (calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from conveyor.store.reads._rows import row_as
from conveyor.store.tables import dag_run, task_instance, task_try
from conveyor.store.try_numbers import ROW_TRY, SHOWN_TRY


@dataclass(frozen=True)
class TryTimes:
    """One try of a task instance, or the instance alone (``try_number`` None) when it has
    no try row yet (scheduled, queued, or never ran)."""

    task_id: str
    map_index: int
    instance_state: str
    instance_try: int  # the instance's current or last try
    queued_at: datetime | None  # when the instance's current try was queued
    try_number: int | None
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    hostname: str | None


def run_tries(conn: Connection, run_pk: int) -> list[TryTimes]:
    """Every task instance of the run with each of its tries, in task then try order; a
    try's dispatches (its pokes, its resumptions) as one, from the first's start to the
    last's end (``store/try_numbers.py``)."""
    rows = conn.execute(
        select(
            task_instance.c.id,
            task_instance.c.task_id,
            task_instance.c.map_index,
            task_instance.c.state.label("instance_state"),
            SHOWN_TRY.label("instance_try"),
            task_instance.c.queued_at,
            ROW_TRY.label("try_number"),
            task_try.c.state,
            task_try.c.start_date,
            task_try.c.end_date,
            task_try.c.hostname,
        )
        .select_from(task_instance)
        .outerjoin(task_try, task_try.c.ti_id == task_instance.c.id)
        .where(task_instance.c.run_pk == run_pk)
        .order_by(task_instance.c.id, task_try.c.try_number)
    )
    tries: dict[tuple[int, int | None], TryTimes] = {}
    for row in rows:
        values = dict(row._mapping)
        key = (values.pop("id"), row.try_number)
        found = tries.get(key)
        if found is not None:  # a later dispatch of the same try
            values["start_date"] = found.start_date
        tries[key] = TryTimes(**values)
    return list(tries.values())


@dataclass(frozen=True)
class DatedRun:
    run_id: str
    state: str
    logical_date: datetime


def runs_between(
    conn: Connection, dag_id: str, start: datetime, end: datetime, limit: int
) -> list[DatedRun]:
    """The DAG's runs of a logical date in [start, end), oldest first, at most ``limit``."""
    rows = conn.execute(
        select(dag_run.c.run_id, dag_run.c.state, dag_run.c.logical_date)
        .where(
            dag_run.c.dag_id == dag_id,
            dag_run.c.logical_date >= start,
            dag_run.c.logical_date < end,
        )
        .order_by(dag_run.c.logical_date, dag_run.c.id)
        .limit(limit)
    )
    return [row_as(DatedRun, r) for r in rows]


def run_years(conn: Connection, dag_id: str) -> tuple[datetime, datetime] | None:
    """The oldest and newest logical dates of the DAG's runs; None when it has none."""
    first = conn.execute(
        select(dag_run.c.logical_date)
        .where(dag_run.c.dag_id == dag_id)
        .order_by(dag_run.c.logical_date)
        .limit(1)
    ).scalar()
    last = conn.execute(
        select(dag_run.c.logical_date)
        .where(dag_run.c.dag_id == dag_id)
        .order_by(dag_run.c.logical_date.desc())
        .limit(1)
    ).scalar()
    return None if first is None or last is None else (first, last)
