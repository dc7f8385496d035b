"""What a running task may ask of other runs, as Airflow's task instance asks it: runs and
task instances of any DAG counted or listed by state (``ti.get_dr_count``, ``get_ti_count``,
``get_task_states``), and the run or the instance of a task before a logical date
(``ti.get_previous_dagrun``, ``get_previous_ti``).

A task group is named by its id: its tasks are those whose ids it prefixes (``group.task``),
as the external task sensor reads a group. Airflow's ``"null"`` state is Conveyor's ``none``
(an instance its run made that has not been scheduled yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, or_, select

from conveyor.store.reads._rows import row_as
from conveyor.store.reads.tasks import INSTANCE_COLUMNS, InstanceRow, instance
from conveyor.store.runs import RunRow, get_run, run_row
from conveyor.store.tables import dag_run, task_instance

#: Airflow's name for an instance with no state yet, and Conveyor's.
NO_STATE = ("null", "none")


def run_count(
    conn: Connection,
    dag_id: str,
    *,
    logical_dates: Sequence[datetime] | None = None,
    run_ids: Sequence[str] | None = None,
    states: Sequence[str] | None = None,
) -> int:
    """How many runs of ``dag_id`` have one of the logical dates, run ids and states given
    (each filter applies when given and not empty)."""
    run = dag_run.c
    where = [run.dag_id == dag_id, *_run_filters(logical_dates, run_ids)]
    if states:
        where.append(run.state.in_([str(s) for s in states]))
    return int(conn.execute(select(func.count()).select_from(dag_run).where(*where)).scalar_one())


@dataclass(frozen=True)
class InstanceFilter:
    """Which task instances of ``dag_id`` a lookup reads: each filter applies when given
    (tasks by id and, within them, those of the group ``group_id``; a map index; runs by
    logical date or run id)."""

    dag_id: str
    map_index: int | None = None
    task_ids: Sequence[str] | None = None
    group_id: str | None = None
    logical_dates: Sequence[datetime] | None = None
    run_ids: Sequence[str] | None = None

    def where(self, *, either_task: bool = False) -> list[ColumnElement[bool]]:
        """The conditions; ``either_task``: an instance of the tasks or of the group."""
        where = [dag_run.c.dag_id == self.dag_id, *_run_filters(self.logical_dates, self.run_ids)]
        if self.map_index is not None:
            where.append(task_instance.c.map_index == self.map_index)
        tasks = [
            *([task_instance.c.task_id.in_(list(self.task_ids))] if self.task_ids else []),
            *([_in_group(self.group_id)] if self.group_id else []),
        ]
        if either_task and len(tasks) == 2:
            where.append(or_(*tasks))
        else:
            where.extend(tasks)
        return where


def instance_count(
    conn: Connection, which: InstanceFilter, states: Sequence[str | None] | None = None
) -> int:
    """How many task instances ``which`` names are in one of ``states`` (None or
    ``"null"``: no state yet), or in any."""
    where = which.where()
    if states:
        where.append(_state_is(states))
    query = select(func.count()).select_from(task_instance.join(dag_run, _run_of_instance()))
    return int(conn.execute(query.where(*where)).scalar_one())


def instance_states(conn: Connection, which: InstanceFilter) -> dict[str, dict[str, str | None]]:
    """The states of the task instances ``which`` names (its tasks or its group's), by run
    id, then by task id (``task_<map_index>`` for a mapped task's instance); None: no state
    yet."""
    rows = conn.execute(
        select(
            dag_run.c.run_id,
            task_instance.c.task_id,
            task_instance.c.map_index,
            task_instance.c.state,
        )
        .select_from(task_instance.join(dag_run, _run_of_instance()))
        .where(*which.where(either_task=True))
        .order_by(dag_run.c.run_id, task_instance.c.task_id, task_instance.c.map_index)
    ).all()
    states: dict[str, dict[str, str | None]] = {}
    for run_id, task_id, index, state in rows:
        name = task_id if index < 0 else f"{task_id}_{index}"
        states.setdefault(run_id, {})[name] = None if state == "none" else state
    return states


def latest_run(
    conn: Connection,
    dag_id: str,
    *,
    before: datetime | None = None,
    state: str | None = None,
    triggered_too: bool = True,
) -> RunRow | None:
    """The run of ``dag_id`` with the latest logical date (before ``before``, in ``state``,
    when given; of those the schedule, a backfill or an asset made, without
    ``triggered_too``), or None."""
    query = select(dag_run).where(dag_run.c.dag_id == dag_id)
    if before is not None:
        query = query.where(dag_run.c.logical_date < before)
    if state is not None:
        query = query.where(dag_run.c.state == str(state))
    if not triggered_too:
        query = query.where(dag_run.c.run_type != "manual")
    row = conn.execute(query.order_by(dag_run.c.logical_date.desc()).limit(1)).first()
    return None if row is None else run_row(row)


def instance_in_latest_run(
    conn: Connection, dag_id: str, task_id: str, **run_filters: Any
) -> tuple[RunRow, InstanceRow] | None:
    """The task's instance (unmapped) in the run ``latest_run(**run_filters)`` finds, with
    that run; None when there is no such run, or it has no such instance."""
    run = latest_run(conn, dag_id, **run_filters)
    row = None if run is None else instance(conn, run.id, task_id, -1)
    return None if run is None or row is None else (run, row)


def previous_instance(
    conn: Connection,
    dag_id: str,
    task_id: str,
    map_index: int,
    *,
    before: datetime | None = None,
    state: str | None = None,
) -> tuple[RunRow, InstanceRow] | None:
    """The instance of the task in the run with the latest logical date (before ``before``,
    when given) that has one (in ``state``, when given), with that run; or None."""
    which = InstanceFilter(dag_id, map_index, [task_id])
    query = (
        select(*INSTANCE_COLUMNS)
        .select_from(task_instance.join(dag_run, _run_of_instance()))
        .where(*which.where())
        .order_by(dag_run.c.logical_date.desc())
        .limit(1)
    )
    if before is not None:
        query = query.where(dag_run.c.logical_date < before)
    if state is not None:
        query = query.where(_state_is([state]))
    found = conn.execute(query).first()
    if found is None:
        return None
    return get_run(conn, found.run_pk), row_as(InstanceRow, found)


def _run_of_instance() -> ColumnElement[bool]:
    return dag_run.c.id == task_instance.c.run_pk


def _run_filters(
    logical_dates: Sequence[datetime] | None, run_ids: Sequence[str] | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if logical_dates:
        where.append(dag_run.c.logical_date.in_(list(logical_dates)))
    if run_ids:
        where.append(dag_run.c.run_id.in_(list(run_ids)))
    return where


def _in_group(group_id: str) -> ColumnElement[bool]:
    return task_instance.c.task_id.startswith(f"{group_id}.", autoescape=True)


def _state_is(states: Sequence[str | None]) -> ColumnElement[bool]:
    wanted = {"none" if s is None or str(s) in NO_STATE else str(s) for s in states}
    return task_instance.c.state.in_(sorted(wanted))
