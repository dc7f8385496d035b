"""Task instances of every DAG and run, filtered and paged: the read behind ``/task-instances``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select

from conveyor.store.reads._rows import row_as
from conveyor.store.reads.runs import Window, id_part, list_filters, order_by
from conveyor.store.reads.tasks import INSTANCE_COLUMNS, InstanceRow
from conveyor.store.tables import dag_run, task_instance
from conveyor.store.try_numbers import SHOWN_TRY


@dataclass(frozen=True)
class TaskInstanceFilter:
    """What a list of task instances keeps; the window's logical date is its run's."""

    dag_id: str | None = None
    dag_id_pattern: str | None = None
    run_id: str | None = None
    task_id_pattern: str | None = None
    states: tuple[str, ...] = ()
    window: Window = field(default_factory=Window)
    dag_ids: frozenset[str] | None = None  # only these DAGs (those the user may read)
    # Any of these (empty: any at all); try numbers as people see them.
    task_ids: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    map_indexes: tuple[int, ...] = ()
    try_numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class ListedInstance(InstanceRow):
    """A task instance with what a list across runs needs of its run."""

    dag_id: str
    run_id: str
    run_state: str
    logical_date: datetime


#: How a list of task instances may be ordered ("-" first: descending). ``run``: by run,
#: newest last with ``run`` and first with ``-run``; within a run, in the order they were made.
TI_ORDERS = ("run", "start_date", "end_date", "dag_id", "task_id", "state", "map_index")


def _filters(where: TaskInstanceFilter) -> list[ColumnElement[bool]]:
    found = list_filters(where, task_instance, dag_run.c.logical_date)
    if where.run_id is not None:
        found.append(task_instance.c.run_id == where.run_id)
    if where.task_id_pattern:
        found.append(id_part(task_instance.c.task_id, where.task_id_pattern))
    chosen: tuple[tuple[ColumnElement[Any], tuple[Any, ...]], ...] = (
        (task_instance.c.task_id, where.task_ids),
        (task_instance.c.queue, where.queues),
        (task_instance.c.map_index, where.map_indexes),
        (SHOWN_TRY, where.try_numbers),
    )
    found += [column.in_(values) for column, values in chosen if values]
    return found


def _joined(query: Select[Any]) -> Select[Any]:
    return query.select_from(task_instance.join(dag_run, dag_run.c.id == task_instance.c.run_pk))


def count_instances(conn: Connection, where: TaskInstanceFilter) -> int:
    query = _joined(select(func.count())).where(*_filters(where))
    return int(conn.execute(query).scalar_one())


def list_instances(
    conn: Connection,
    where: TaskInstanceFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    order: str = "-run",
) -> list[ListedInstance]:
    """The task instances that match, in ``order`` (a name of :data:`TI_ORDERS`)."""
    name = order.lstrip("-")
    descending = order.startswith("-")
    if name not in TI_ORDERS:
        raise ValueError(f"cannot order task instances by {order!r}")
    first: ColumnElement[Any]
    if name == "run":
        first = task_instance.c.run_pk.desc() if descending else task_instance.c.run_pk.asc()
    else:
        first = order_by(task_instance.c[name], descending)
    query = _joined(
        select(
            *INSTANCE_COLUMNS,
            dag_run.c.state.label("run_state"),
            dag_run.c.logical_date,
        )
    )
    rows = conn.execute(
        query.where(*_filters(where))
        .order_by(first, task_instance.c.run_pk.desc(), task_instance.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [row_as(ListedInstance, r) for r in rows]
