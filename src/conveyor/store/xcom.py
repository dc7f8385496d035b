"""The SQL of a try's XComs: what a running task pushes (pulling is in store.mapping)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from conveyor.clock import utcnow
from conveyor.store.sql import upsert
from conveyor.store.tables import dag_run, xcom
from conveyor.strict_json import check


def upsert_xcom(
    conn: Connection,
    run_pk: int,
    task_id: str,
    key: str,
    value: Any,
    map_index: int = -1,
    *,
    shown: Any = None,
) -> None:
    """Insert or replace one XCom value (of one instance, for a mapped task). ``shown`` is
    what readers see instead when the value holds a secret (None: the value itself).

    The value must be strict JSON (``NotStrictJson`` otherwise): the try's own process checks
    it first with a message for the task's author; this is the last line."""
    check(key, f"an XCom key of task {task_id!r}")
    check(value, f"XCom {key!r} of task {task_id!r}")
    upsert(
        conn,
        xcom,
        {
            "run_pk": run_pk,
            "task_id": task_id,
            "key": key,
            "value": value,
            "created_at": utcnow(),
            "map_index": map_index,
            "shown": shown,
        },
        key=["run_pk", "task_id", "key", "map_index"],
    )


def instance_xcom(conn: Connection, run_pk: int, task_id: str, map_index: int, key: str) -> Any:
    """One task instance's own value under ``key`` (None when it has none)."""
    return conn.execute(
        select(xcom.c.value).where(
            xcom.c.run_pk == run_pk,
            xcom.c.task_id == task_id,
            xcom.c.map_index == map_index,
            xcom.c.key == key,
        )
    ).scalar()


def delete_instance_xcom(
    conn: Connection, run_pk: int, task_id: str, map_index: int, key: str
) -> None:
    conn.execute(
        delete(xcom).where(
            xcom.c.run_pk == run_pk,
            xcom.c.task_id == task_id,
            xcom.c.map_index == map_index,
            xcom.c.key == key,
        )
    )


@dataclass(frozen=True)
class XComEntry:
    """One stored XCom with the run it belongs to: what Airflow's ``XCom`` rows carry."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    value: Any
    timestamp: datetime
    logical_date: datetime


@dataclass(frozen=True)
class XComQuery:
    """Which XComs to find: each field None matches any. ``up_to``: runs of the DAG dated at
    or before it (Airflow's ``include_prior_dates``) instead of ``run_id``'s run alone."""

    dag_ids: tuple[str, ...] | None = None
    run_id: str | None = None
    up_to: datetime | None = None
    task_ids: tuple[str, ...] | None = None
    key: str | None = None
    map_indexes: tuple[int, ...] | None = None


def find_xcoms(conn: Connection, where: XComQuery, limit: int | None = None) -> list[XComEntry]:
    """The XComs that match, newest run first (then task, map index, key). The values are
    what the pushing task stored (a later task reads what ``xcom_pull`` would)."""
    query = select(
        dag_run.c.dag_id,
        dag_run.c.run_id,
        dag_run.c.logical_date,
        xcom.c.task_id,
        xcom.c.map_index,
        xcom.c.key,
        xcom.c.value,
        xcom.c.created_at.label("timestamp"),
    ).join(dag_run, dag_run.c.id == xcom.c.run_pk)
    if where.dag_ids is not None:
        query = query.where(dag_run.c.dag_id.in_(where.dag_ids))
    if where.up_to is not None:
        query = query.where(dag_run.c.logical_date <= where.up_to)
    elif where.run_id is not None:
        query = query.where(dag_run.c.run_id == where.run_id)
    if where.task_ids is not None:
        query = query.where(xcom.c.task_id.in_(where.task_ids))
    if where.key is not None:
        query = query.where(xcom.c.key == where.key)
    if where.map_indexes is not None:
        query = query.where(xcom.c.map_index.in_(where.map_indexes))
    query = query.order_by(
        dag_run.c.logical_date.desc(),
        dag_run.c.id.desc(),
        xcom.c.task_id,
        xcom.c.map_index,
        xcom.c.key,
    )
    if limit is not None:
        query = query.limit(limit)
    return [XComEntry(**r._mapping) for r in conn.execute(query)]


def delete_xcoms(
    conn: Connection, run_pk: int, task_id: str | None = None, map_index: int | None = None
) -> int:
    """Delete the run's XComs (of one task, one map index, when given); how many went."""
    query = delete(xcom).where(xcom.c.run_pk == run_pk)
    if task_id is not None:
        query = query.where(xcom.c.task_id == task_id)
    if map_index is not None:
        query = query.where(xcom.c.map_index == map_index)
    return conn.execute(query).rowcount
