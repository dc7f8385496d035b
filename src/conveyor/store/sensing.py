"""The SQL sensors need, asked through the task-instance handle: when a series of
reschedule pokes began, and the states of another DAG's run or tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from conveyor.states import TaskState
from conveyor.store.sql import column_values
from conveyor.store.tables import dag_run, task_instance, task_try


def reschedule_series_start(
    conn: Connection, run_pk: int, task_id: str, map_index: int, try_number: int
) -> datetime | None:
    """The start of the earliest try in the unbroken chain of reschedules that led to try
    ``try_number`` (a try that ended otherwise, a failure before a retry, breaks the chain);
    None when no try of the chain has a start recorded."""
    tries = conn.execute(
        select(task_try.c.try_number, task_try.c.state, task_try.c.start_date)
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .where(
            task_instance.c.run_pk == run_pk,
            task_instance.c.task_id == task_id,
            task_instance.c.map_index == map_index,
            task_try.c.try_number <= try_number,
        )
        .order_by(task_try.c.try_number.desc())
    ).all()
    first: datetime | None = None
    for number, state, start in tries:
        if number != try_number and state != TaskState.UP_FOR_RESCHEDULE.value:
            break
        first = start or first
    return first


def run_states(conn: Connection, dag_id: str, logical_date: datetime) -> list[str]:
    """The states of the DAG's runs at ``logical_date``."""
    run = dag_run.c
    return column_values(conn, run.state, run.dag_id == dag_id, run.logical_date == logical_date)


def task_states(
    conn: Connection,
    dag_id: str,
    logical_date: datetime,
    *,
    task_id: str | None = None,
    group_id: str | None = None,
) -> list[str]:
    """The states of one task (``task_id``), or of every task of a group (``group_id``), in
    the DAG's runs at ``logical_date``."""
    which = (
        task_instance.c.task_id.startswith(f"{group_id}.")
        if group_id
        else task_instance.c.task_id == task_id
    )
    return list(
        conn.execute(
            select(task_instance.c.state)
            .join(dag_run, dag_run.c.id == task_instance.c.run_pk)
            .where(dag_run.c.dag_id == dag_id, dag_run.c.logical_date == logical_date, which)
        ).scalars()
    )
