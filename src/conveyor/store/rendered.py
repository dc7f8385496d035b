"""The template fields a try rendered, kept with the try (see worker/rendered.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, update

from conveyor.clock import utcnow
from conveyor.store.tables import task_instance, task_try


def keep_rendered(conn: Connection, ti_id: int, try_number: int, rendered: dict[str, Any]) -> None:
    """Keep ``rendered`` (already masked) with try ``try_number`` of the task instance."""
    conn.execute(
        update(task_try)
        .where(task_try.c.ti_id == ti_id, task_try.c.try_number == try_number)
        .values(rendered=rendered)
    )


def keep_map_index(conn: Connection, ti_id: int, label: str) -> None:
    """Keep ``label`` (already masked), the instance's ``map_index_template`` as its try
    rendered it, shown instead of its bare map index."""
    conn.execute(
        update(task_instance)
        .where(task_instance.c.id == ti_id)
        .values(rendered_map_index=label, updated_at=utcnow())
    )
