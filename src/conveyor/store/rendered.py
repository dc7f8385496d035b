"""The template fields a try rendered, kept with the try (see worker/rendered.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, update

from conveyor.clock import utcnow
from conveyor.store.hop import prepared
from conveyor.store.tables import task_instance, task_try

#: Built once: every try's record runs it, inside the store's write lock on SQLite.
_KEEP_RENDERED = (
    update(task_try)
    .where(task_try.c.ti_id == bindparam("of_ti"), task_try.c.try_number == bindparam("of_try"))
    .values(rendered=bindparam("fields", type_=task_try.c.rendered.type))
)


def keep_rendered(conn: Connection, ti_id: int, try_number: int, rendered: dict[str, Any]) -> None:
    """Keep ``rendered`` (already masked) with try ``try_number`` of the task instance."""
    prepared.execute(
        conn, _KEEP_RENDERED, {"of_ti": ti_id, "of_try": try_number, "fields": rendered}
    )


def keep_map_index(conn: Connection, ti_id: int, label: str) -> None:
    """Keep ``label`` (already masked), the instance's ``map_index_template`` as its try
    rendered it, shown instead of its bare map index."""
    conn.execute(
        update(task_instance)
        .where(task_instance.c.id == ti_id)
        .values(rendered_map_index=label, updated_at=utcnow())
    )
