"""The SQL of a try's XComs: what a running task pushes (pulling is in store.mapping)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from conveyor.clock import utcnow
from conveyor.store.sql import upsert
from conveyor.store.tables import xcom
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
