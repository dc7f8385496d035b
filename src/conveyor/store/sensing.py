"""The SQL sensors need, asked through the task-instance handle: when a series of
reschedule pokes began, and the states of another DAG's run or tasks; and the try a chain of
waiting tries began with (OpenLineage's run of them, as Airflow numbers it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from conveyor.lifecycle import NOT_A_RETRY
from conveyor.states import TaskState
from conveyor.store.sql import column_values
from conveyor.store.tables import dag_run, task_instance, task_try


def reschedule_series_start(
    conn: Connection, run_pk: int, task_id: str, map_index: int, try_number: int
) -> datetime | None:
    """The start of the earliest try in the unbroken chain of reschedules that led to try
    ``try_number`` (a try that ended otherwise, a failure before a retry, breaks the chain);
    None when no try of the chain has a start recorded."""
    return _series(conn, run_pk, task_id, map_index, try_number)[1]


def waiting_series_first_try(
    conn: Connection, run_pk: int, task_id: str, map_index: int, try_number: int
) -> int:
    """The number of the earliest try in the unbroken chain of tries that ended waiting
    (rescheduled, deferred, awaiting input) and led to try ``try_number``: the try Airflow
    would still be in, since its waits do not number a new try (``try_number`` itself when
    the try before it ended otherwise)."""
    waits = frozenset(state.value for state in NOT_A_RETRY)
    return _series(conn, run_pk, task_id, map_index, try_number, waits)[0]


def _series(
    conn: Connection,
    run_pk: int,
    task_id: str,
    map_index: int,
    try_number: int,
    waits: frozenset[str] = frozenset({TaskState.UP_FOR_RESCHEDULE.value}),
) -> tuple[int, datetime | None]:
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
    first_number, first_start = try_number, None
    for number, state, start in tries:
        if number != try_number and state not in waits:
            break
        first_number, first_start = number, start or first_start
    return first_number, first_start


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
