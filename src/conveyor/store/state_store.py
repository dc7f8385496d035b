"""The SQL of Airflow 3.3's state stores: a task instance's values and an asset's values.

A task instance's values are keyed by run, task and map index, so every try of the instance
(and a try after a clear) reads what an earlier one wrote; another run starts empty. An
asset's values are keyed by its dataset row, so every run of every DAG naming the asset
shares them. Values are strict JSON and never null (``NotStrictJson`` / ``ValueError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Connection, delete, func, select

from conveyor.clock import utcnow
from conveyor.store.engine import Store
from conveyor.store.sql import upsert
from conveyor.store.tables import asset_state_store, task_state_store
from conveyor.strict_json import check

#: The longest key either store keeps (Airflow's column).
MAX_KEY = 512
#: Who wrote an asset's value last: a task's try, or a person through the API (Airflow's
#: kinds; its triggers' "watcher" writes none in Conveyor).
WriterKind = Literal["task", "watcher", "api"]
BY_TASK: WriterKind = "task"
BY_API: WriterKind = "api"


@dataclass(frozen=True)
class TaskStateEntry:
    key: str
    value: Any
    updated_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Writer:
    """Who writes an asset's value: ``kind`` BY_TASK with the task instance, or BY_API."""

    kind: WriterKind
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None


API_WRITER = Writer(BY_API)


@dataclass(frozen=True)
class AssetStateEntry:
    key: str
    value: Any
    updated_at: datetime
    writer: Writer | None


def checked(key: str, value: Any, what: str) -> None:
    """ValueError / NotStrictJson unless ``key`` and ``value`` can be kept."""
    if not key:
        raise ValueError(f"{what}: the key is empty")
    if len(key) > MAX_KEY:
        raise ValueError(f"{what}: the key is {len(key)} characters; at most {MAX_KEY}")
    if value is None:
        raise ValueError(f"{what} {key!r}: the value cannot be None (delete the key instead)")
    check(value, f"{what} {key!r}")


# --- a task instance's values -------------------------------------------------------------


def _task_where(run_pk: int, task_id: str, map_index: int | None) -> list[Any]:
    where = [task_state_store.c.run_pk == run_pk, task_state_store.c.task_id == task_id]
    if map_index is not None:
        where.append(task_state_store.c.map_index == map_index)
    return where


def _task_entry(row: Any) -> TaskStateEntry:
    return TaskStateEntry(row.key, row.value, row.updated_at, row.expires_at)


def task_entry(
    conn: Connection, run_pk: int, task_id: str, map_index: int, key: str
) -> TaskStateEntry | None:
    row = conn.execute(
        select(task_state_store).where(
            *_task_where(run_pk, task_id, map_index), task_state_store.c.key == key
        )
    ).first()
    return None if row is None else _task_entry(row)


def task_entries(
    conn: Connection,
    run_pk: int,
    task_id: str,
    map_index: int,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[TaskStateEntry], int]:
    """A page of the instance's values in key order, and how many it has."""
    where = _task_where(run_pk, task_id, map_index)
    total = conn.execute(select(func.count()).select_from(task_state_store).where(*where))
    rows = conn.execute(
        select(task_state_store)
        .where(*where)
        .order_by(task_state_store.c.key)
        .limit(limit)
        .offset(offset)
    ).all()
    return [_task_entry(r) for r in rows], int(total.scalar_one())


def set_task_value(
    conn: Connection,
    run_pk: int,
    task_id: str,
    map_index: int,
    key: str,
    value: Any,
    expires_at: datetime | None,
) -> None:
    checked(key, value, f"task state of task {task_id!r}")
    upsert(
        conn,
        task_state_store,
        {
            "run_pk": run_pk,
            "task_id": task_id,
            "map_index": map_index,
            "key": key,
            "value": value,
            "updated_at": utcnow(),
            "expires_at": expires_at,
        },
        key=["run_pk", "task_id", "map_index", "key"],
    )


def delete_task_value(
    conn: Connection, run_pk: int, task_id: str, map_index: int, key: str
) -> None:
    conn.execute(
        delete(task_state_store).where(
            *_task_where(run_pk, task_id, map_index), task_state_store.c.key == key
        )
    )


def clear_task_values(conn: Connection, run_pk: int, task_id: str, map_index: int | None) -> int:
    """Delete the instance's values (``map_index`` None: of every instance of the task)."""
    found = conn.execute(delete(task_state_store).where(*_task_where(run_pk, task_id, map_index)))
    return int(found.rowcount or 0)


#: Rows deleted per transaction by :func:`clean_expired`.
CLEAN_BATCH = 5000


def clean_expired(store: Store, *, dry_run: bool = False, now: datetime | None = None) -> int:
    """Delete the task state values whose ``expires_at`` has passed (never an asset's, and
    never one without an expiry), in short transactions; returns how many (``dry_run``:
    would be). ``conveyor db clean`` runs it."""
    expired = task_state_store.c.expires_at < (now or utcnow())
    if dry_run:
        with store.read() as conn:
            count = select(func.count()).select_from(task_state_store).where(expired)
            return int(conn.execute(count).scalar_one())
    deleted = 0
    while True:
        with store.write() as conn:
            ids = select(task_state_store.c.id).where(expired).limit(CLEAN_BATCH)
            found = list(conn.execute(ids).scalars())
            if found:
                conn.execute(delete(task_state_store).where(task_state_store.c.id.in_(found)))
        deleted += len(found)
        if len(found) < CLEAN_BATCH:
            return deleted


# --- an asset's values --------------------------------------------------------------------


def _asset_entry(row: Any) -> AssetStateEntry:
    writer = (
        None
        if row.last_updated_by_kind is None
        else Writer(
            cast(WriterKind, row.last_updated_by_kind),
            row.last_updated_by_dag_id,
            row.last_updated_by_run_id,
            row.last_updated_by_task_id,
            row.last_updated_by_map_index,
        )
    )
    return AssetStateEntry(row.key, row.value, row.updated_at, writer)


def asset_entry(conn: Connection, dataset_id: int, key: str) -> AssetStateEntry | None:
    row = conn.execute(
        select(asset_state_store).where(
            asset_state_store.c.dataset_id == dataset_id, asset_state_store.c.key == key
        )
    ).first()
    return None if row is None else _asset_entry(row)


def asset_entries(
    conn: Connection, dataset_id: int, limit: int | None = None, offset: int = 0
) -> tuple[list[AssetStateEntry], int]:
    """A page of the asset's values in key order, and how many it has."""
    where = asset_state_store.c.dataset_id == dataset_id
    total = conn.execute(select(func.count()).select_from(asset_state_store).where(where))
    rows = conn.execute(
        select(asset_state_store)
        .where(where)
        .order_by(asset_state_store.c.key)
        .limit(limit)
        .offset(offset)
    ).all()
    return [_asset_entry(r) for r in rows], int(total.scalar_one())


def set_asset_value(conn: Connection, dataset_id: int, key: str, value: Any, by: Writer) -> None:
    checked(key, value, "asset state")
    upsert(
        conn,
        asset_state_store,
        {
            "dataset_id": dataset_id,
            "key": key,
            "value": value,
            "updated_at": utcnow(),
            "last_updated_by_kind": by.kind,
            "last_updated_by_dag_id": by.dag_id,
            "last_updated_by_run_id": by.run_id,
            "last_updated_by_task_id": by.task_id,
            "last_updated_by_map_index": by.map_index,
        },
        key=["dataset_id", "key"],
    )


def delete_asset_value(conn: Connection, dataset_id: int, key: str) -> None:
    conn.execute(
        delete(asset_state_store).where(
            asset_state_store.c.dataset_id == dataset_id, asset_state_store.c.key == key
        )
    )


def clear_asset_values(conn: Connection, dataset_id: int) -> int:
    found = conn.execute(
        delete(asset_state_store).where(asset_state_store.c.dataset_id == dataset_id)
    )
    return int(found.rowcount or 0)
