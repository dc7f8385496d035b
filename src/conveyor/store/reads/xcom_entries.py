"""XComs of many runs and tasks, as readers see them: the read behind ``/api/v2``'s XCom
entries. A value that holds a secret is its masked copy (``shown``), as everywhere a person
reads XComs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from conveyor.store.reads._rows import row_as
from conveyor.store.tables import dag_run, xcom
from conveyor.strict_json import shown


@dataclass(frozen=True)
class XComEntryRow:
    run_pk: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    value: Any
    created_at: datetime


@dataclass(frozen=True)
class XComEntryFilter:
    """Each field None matches any."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    key: str | None = None
    map_index: int | None = None


def _query(where: XComEntryFilter, *columns: Any) -> Any:
    query = select(*columns).select_from(xcom.join(dag_run, dag_run.c.id == xcom.c.run_pk))
    if where.dag_id is not None:
        query = query.where(dag_run.c.dag_id == where.dag_id)
    if where.run_id is not None:
        query = query.where(dag_run.c.run_id == where.run_id)
    if where.task_id is not None:
        query = query.where(xcom.c.task_id == where.task_id)
    if where.key is not None:
        query = query.where(xcom.c.key == where.key)
    if where.map_index is not None:
        query = query.where(xcom.c.map_index == where.map_index)
    return query


def count_entries(conn: Connection, where: XComEntryFilter) -> int:
    return int(conn.execute(_query(where, func.count())).scalar_one())


def list_entries(
    conn: Connection, where: XComEntryFilter, *, limit: int | None = None, offset: int = 0
) -> list[XComEntryRow]:
    """The XComs that match, by DAG, run, task, map index and key; values as shown."""
    query = _query(
        where,
        xcom.c.run_pk,
        dag_run.c.dag_id,
        dag_run.c.run_id,
        xcom.c.task_id,
        xcom.c.map_index,
        xcom.c.key,
        xcom.c.value,
        xcom.c.shown,
        xcom.c.created_at,
    ).order_by(dag_run.c.dag_id, xcom.c.task_id, dag_run.c.run_id, xcom.c.map_index, xcom.c.key)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [
        row_as(XComEntryRow, r, value=shown(r.value if r.shown is None else r.shown))
        for r in conn.execute(query)
    ]
