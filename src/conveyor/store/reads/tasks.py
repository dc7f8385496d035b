"""Task instances, their tries and XCom as they are listed and shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, case, func, select

from conveyor.lifecycle import FAILED_TRY
from conveyor.states import TaskState
from conveyor.store.reads._rows import description, row_as
from conveyor.store.tables import task_instance, task_try, xcom
from conveyor.store.try_numbers import (
    ROW_TRY,
    SHOWN_MAX_TRIES,
    SHOWN_TRY,
    instance_columns,
    row_of_try,
    try_row_columns,
)
from conveyor.strict_json import shown


@dataclass(frozen=True)
class InstanceRow:
    """A task instance as it is shown: the one row type of a task instance, which
    ``/api/v1`` (the UI, the CLI) and ``/api/v2`` show under their names
    (``web/row_shapes.py``)."""

    id: int
    run_pk: int
    task_id: str
    map_index: int = field(metadata=description("instance of a mapped task: 0..n-1; else -1"))
    state: str
    try_number: int
    max_tries: int
    queue: str
    hostname: str | None
    pid: int | None
    scheduled_at: datetime | None
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    retry_at: datetime | None
    user_note: str | None = field(metadata=description("the note a person wrote on it"))
    rendered_map_index: str | None = field(
        metadata=description(
            "the task's map_index_template as the instance's last try rendered it "
            "(shown instead of map_index)"
        )
    )
    updated_at: datetime  # the last change of its row


class StateGroup(NamedTuple):
    """The task instances of one run in one state, as the grid reads them: one row a run and
    state (a 50-run grid of a 1,000-task DAG is about a hundred rows, not 50,000)."""

    run_pk: int
    state: str
    task_ids: list[str]  # the tasks whose one instance (map_index -1) is in the state
    mapped: list[str]  # a mapped task's id once for each of its instances in the state


@dataclass(frozen=True)
class TryRow:
    id: int
    ti_id: int
    try_number: int
    state: str
    hostname: str | None
    pid: int | None
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    exit_kind: str | None
    error: str | None
    log_path: str | None


@dataclass(frozen=True)
class FailedTry:
    """A try that ended failed or up for retry, and where its task instance is now."""

    try_id: int
    try_number: int
    exit_kind: str | None
    error: str | None
    log_path: str | None
    task_id: str
    map_index: int
    max_tries: int
    ti_state: str
    ti_try: int
    retry_at: datetime | None


@dataclass(frozen=True)
class XComRow:
    key: str
    value: Any
    created_at: datetime


#: The columns of a FailedTry: the try's, and its task instance's as they are now (the try
#: numbers as people see them: ``store/try_numbers.py``).
_FAILED_TRY_COLUMNS = (
    task_try.c.id.label("try_id"),
    ROW_TRY.label("try_number"),
    task_try.c.exit_kind,
    task_try.c.error,
    task_try.c.log_path,
    task_instance.c.task_id,
    task_instance.c.map_index,
    SHOWN_MAX_TRIES.label("max_tries"),
    task_instance.c.state.label("ti_state"),
    SHOWN_TRY.label("ti_try"),
    task_instance.c.retry_at,
)
#: A task instance's columns as people see them: its try and tries allowed as Airflow
#: numbers them.
INSTANCE_COLUMNS = instance_columns()
_TRY_ROW_COLUMNS = try_row_columns()


def instances(conn: Connection, run_pk: int) -> list[InstanceRow]:
    """The run's task instances in the order they were made."""
    rows = conn.execute(
        select(*INSTANCE_COLUMNS)
        .where(task_instance.c.run_pk == run_pk)
        .order_by(task_instance.c.id, task_instance.c.map_index)
    )
    return [row_as(InstanceRow, r) for r in rows]


def instance_by_id(conn: Connection, ti_id: int) -> InstanceRow | None:
    row = conn.execute(select(*INSTANCE_COLUMNS).where(task_instance.c.id == ti_id)).first()
    return None if row is None else row_as(InstanceRow, row)


def instance(
    conn: Connection, run_pk: int, task_id: str, map_index: int | None = None
) -> InstanceRow | None:
    """The task's instance in the run (``map_index`` of a mapped task; None: its first
    one), if it has any."""
    query = (
        select(*INSTANCE_COLUMNS)
        .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == task_id)
        .order_by(task_instance.c.map_index)
    )
    if map_index is not None:
        query = query.where(task_instance.c.map_index == map_index)
    row = conn.execute(query).first()
    return None if row is None else row_as(InstanceRow, row)


def mapped_instances(conn: Connection, run_pk: int, task_id: str) -> list[InstanceRow]:
    """Every instance of a mapped task, by map_index; empty for any other task."""
    rows = conn.execute(
        select(*INSTANCE_COLUMNS)
        .where(
            task_instance.c.run_pk == run_pk,
            task_instance.c.task_id == task_id,
            task_instance.c.map_index >= 0,
        )
        .order_by(task_instance.c.map_index)
    )
    return [row_as(InstanceRow, r) for r in rows]


def count_mapped(conn: Connection, run_pk: int, task_id: str) -> int:
    """How many instances a mapped task has in the run (0 for any other task)."""
    query = select(func.count()).where(
        task_instance.c.run_pk == run_pk,
        task_instance.c.task_id == task_id,
        task_instance.c.map_index >= 0,
    )
    return int(conn.execute(query).scalar_one())


# What a grouped read joins a group's task ids with, and marks a mapped instance's with:
# neither may appear in a task id (TASK_ID_PATTERN: letters, digits, '_', '.', '-').
_SEPARATOR = ","
_MAPPED = "*"


def state_groups(
    conn: Connection, run_pks: list[int], task_ids: list[str] | None = None
) -> list[StateGroup]:
    """The states of every task instance of these runs (of these tasks only, when given),
    grouped by run and state in the one query. The store joins each group's task ids into
    one string, so the driver hands over a row a group instead of a row an instance: on
    SQLite, 50,000 instances read in about a tenth of the time. Served by
    ``ix_task_instance_run_state`` (run_pk, state), with no sort."""
    if not run_pks or task_ids == []:
        return []
    marked = case(
        (task_instance.c.map_index >= 0, task_instance.c.task_id + _MAPPED),
        else_=task_instance.c.task_id,
    )
    query = (
        select(
            task_instance.c.run_pk,
            task_instance.c.state,
            func.aggregate_strings(marked, _SEPARATOR),
        )
        .where(task_instance.c.run_pk.in_(run_pks))
        .group_by(task_instance.c.run_pk, task_instance.c.state)
    )
    if task_ids is not None:
        query = query.where(task_instance.c.task_id.in_(task_ids))
    groups = []
    for run_pk, state, joined in conn.execute(query):
        found = joined.split(_SEPARATOR)
        if _MAPPED in joined:
            plain = [t for t in found if not t.endswith(_MAPPED)]
            mapped = [t[:-1] for t in found if t.endswith(_MAPPED)]
        else:  # nearly every group: no mapped task
            plain, mapped = found, []
        groups.append(StateGroup(run_pk, state, plain, mapped))
    return groups


def tries(conn: Connection, ti_ids: list[int]) -> list[TryRow]:
    """Every try of these task instances, by instance and try: the rows of one try's
    dispatches (its pokes, its resumptions) as one (:func:`_one_try`)."""
    if not ti_ids:
        return []
    rows = conn.execute(
        select(*_TRY_ROW_COLUMNS)
        .where(task_try.c.ti_id.in_(ti_ids))
        .order_by(task_try.c.ti_id, task_try.c.try_number)
    )
    return _by_try(row_as(TryRow, r) for r in rows)


def _by_try(dispatches: Iterable[TryRow]) -> list[TryRow]:
    """Dispatch rows, in order by instance and dispatch, gathered into one row a try."""
    groups: dict[tuple[int, int], list[TryRow]] = {}
    for row in dispatches:
        groups.setdefault((row.ti_id, row.try_number), []).append(row)
    return [_one_try(rows) for rows in groups.values()]


def _one_try(rows: list[TryRow]) -> TryRow:
    """One try from its dispatches, oldest first: where and how its last one ran and ended,
    from the start of its first (as Airflow dates a rescheduled sensor's try)."""
    first, last = rows[0], rows[-1]
    if first is last:
        return last
    duration = last.duration
    if first.start_date is not None and last.end_date is not None:
        duration = (last.end_date - first.start_date).total_seconds()
    return replace(last, start_date=first.start_date, duration=duration)


def rendered_fields(conn: Connection, ti_id: int, try_number: int) -> Any:
    """The template fields try ``try_number`` rendered (masked; at its last dispatch that
    rendered them), or None: not stored."""
    return conn.execute(
        select(task_try.c.rendered)
        .where(
            task_try.c.ti_id == ti_id,
            row_of_try(try_number),
            task_try.c.rendered.is_not(None),
        )
        .order_by(task_try.c.try_number.desc())
        .limit(1)
    ).scalar()


def get_try(conn: Connection, ti_id: int, try_number: int) -> TryRow | None:
    """Try ``try_number`` of the task instance (as people number it), if it has started."""
    rows = conn.execute(
        select(*_TRY_ROW_COLUMNS)
        .where(task_try.c.ti_id == ti_id, row_of_try(try_number))
        .order_by(task_try.c.try_number)
    )
    found = [row_as(TryRow, r) for r in rows]
    return _one_try(found) if found else None


def get_dispatch(conn: Connection, ti_id: int, dispatch: int) -> TryRow | None:
    """The row of one dispatch (``task_instance.try_number`` as the engine numbers it)."""
    row = conn.execute(
        select(*_TRY_ROW_COLUMNS).where(
            task_try.c.ti_id == ti_id, task_try.c.try_number == dispatch
        )
    ).first()
    return None if row is None else row_as(TryRow, row)


def latest_try(
    conn: Connection,
    run_pk: int,
    task_id: str,
    *,
    try_number: int | None = None,
    map_index: int | None = None,
) -> TryRow | None:
    """The task's newest try in the run (or try ``try_number``; of instance ``map_index``)."""
    query = (
        select(task_try.c.ti_id, ROW_TRY.label("shown"))
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == task_id)
        .order_by(task_try.c.try_number.desc())
    )
    if try_number is not None:
        query = query.where(row_of_try(try_number))
    if map_index is not None:
        query = query.where(task_instance.c.map_index == map_index)
    newest = conn.execute(query.limit(1)).first()
    return None if newest is None else get_try(conn, newest.ti_id, newest.shown)


def failed_tries(conn: Connection, run_pk: int) -> list[FailedTry]:
    """The run's tries that ended failed or up for retry, oldest first."""
    rows = conn.execute(
        select(*_FAILED_TRY_COLUMNS)
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .where(
            task_instance.c.run_pk == run_pk,
            task_try.c.end_date.is_not(None),
            task_try.c.state.in_([state.value for state in FAILED_TRY]),
        )
        .order_by(task_try.c.id)
    )
    return [row_as(FailedTry, r) for r in rows]


def failed_instances_last_tries(conn: Connection, run_pk: int) -> list[FailedTry]:
    """The run's failed task instances, each with its last try, in the order they were made."""
    rows = conn.execute(
        select(*_FAILED_TRY_COLUMNS)
        .select_from(task_instance)
        .join(
            task_try,
            (task_try.c.ti_id == task_instance.c.id)
            & (task_try.c.try_number == task_instance.c.try_number),
        )
        .where(
            task_instance.c.run_pk == run_pk,
            task_instance.c.state == TaskState.FAILED.value,
        )
        .order_by(task_instance.c.id)
    )
    return [row_as(FailedTry, r) for r in rows]


def xcom_values(
    conn: Connection, run_pk: int, task_id: str, map_index: int | None = None
) -> list[XComRow]:
    """What the task pushed in the run, by key, as readers see it: a value that holds a
    secret its try read is its masked copy (``shown``), never the value itself; a value stored
    before strict JSON has its bad parts marked (``strict_json.shown``). ``map_index``: only
    what that instance of a mapped task pushed."""
    query = (
        select(xcom.c.key, xcom.c.value, xcom.c.shown, xcom.c.created_at)
        .where(xcom.c.run_pk == run_pk, xcom.c.task_id == task_id)
        .order_by(xcom.c.key)
    )
    if map_index is not None:
        query = query.where(xcom.c.map_index == map_index)
    rows = conn.execute(query)
    return [row_as(XComRow, r, value=shown(r.value if r.shown is None else r.shown)) for r in rows]
