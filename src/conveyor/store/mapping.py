"""The SQL of dynamic task mapping: a mapped task's instances and its collected XComs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from conveyor.clock import utcnow
from conveyor.states import TaskState
from conveyor.store.tables import task_instance, xcom


def xcom_value(conn: Connection, run_pk: int, task_id: str, key: str) -> Any:
    """A task's XCom; for a mapped task, the list of its instances' values by map_index."""
    rows = conn.execute(
        select(xcom.c.value, xcom.c.map_index)
        .where(xcom.c.run_pk == run_pk, xcom.c.task_id == task_id, xcom.c.key == key)
        .order_by(xcom.c.map_index)
    ).all()
    if not rows:
        return None
    if rows[0].map_index < 0:
        return rows[0].value
    return [row.value for row in rows]


def expand_instances(conn: Connection, placeholder_id: int, count: int) -> dict[int, int] | None:
    """Turn a mapped task's single unexpanded instance into ``count`` (>= 1) instances.

    The placeholder (map_index -1, state none) becomes instance 0, so its id, timeline and
    place in the run stay; instances 1..count-1 are copies of it.

    Returns the instances' ids by map_index, or None if someone expanded it first.
    """
    now = utcnow()
    won = (
        conn.execute(
            update(task_instance)
            .where(
                task_instance.c.id == placeholder_id,
                task_instance.c.map_index == -1,
                task_instance.c.state == TaskState.NONE.value,
            )
            .values(map_index=0, updated_at=now)
        ).rowcount
        == 1
    )
    if not won:
        return None
    if count == 1:
        return {0: placeholder_id}
    row = conn.execute(select(task_instance).where(task_instance.c.id == placeholder_id)).one()
    template = {k: v for k, v in row._mapping.items() if k != "id"}
    conn.execute(
        insert(task_instance),
        [{**template, "map_index": i, "updated_at": now} for i in range(1, count)],
    )
    ids = conn.execute(
        select(task_instance.c.map_index, task_instance.c.id).where(
            task_instance.c.run_pk == row.run_pk, task_instance.c.task_id == row.task_id
        )
    ).all()
    return {r.map_index: r.id for r in ids}
