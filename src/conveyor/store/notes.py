"""Notes: the short text a person writes on a run or on a task instance.

A note is the user's; the run's ``note`` column stays the reason the system gives for its
state. Setting an empty note removes it.
"""

from __future__ import annotations

from sqlalchemy import Connection, update

from conveyor.clock import utcnow
from conveyor.exceptions import NotFoundError
from conveyor.store import runs
from conveyor.store.tables import dag_run, task_instance

#: The longest note kept, in characters: a note, not a document.
MAX_NOTE = 1000


def _clean(text: str | None) -> str | None:
    found = (text or "").strip()
    if len(found) > MAX_NOTE:
        raise ValueError(f"a note is at most {MAX_NOTE} characters; this one has {len(found)}")
    return found or None


def set_run_note(conn: Connection, dag_id: str, run_id: str, text: str | None) -> str | None:
    """Write (or with an empty text remove) the note of a run; the note as kept."""
    run = runs.find_run(conn, dag_id, run_id)
    note = _clean(text)
    conn.execute(
        update(dag_run).where(dag_run.c.id == run.id).values(user_note=note, updated_at=utcnow())
    )
    return note


def set_task_note(
    conn: Connection,
    dag_id: str,
    run_id: str,
    task_id: str,
    text: str | None,
    map_index: int = -1,
) -> str | None:
    """Write (or remove) the note of a task instance (``map_index``: an instance of a
    mapped task; -1: any other task); the note as kept."""
    run = runs.find_run(conn, dag_id, run_id)
    note = _clean(text)
    done = conn.execute(
        update(task_instance)
        .where(
            task_instance.c.run_pk == run.id,
            task_instance.c.task_id == task_id,
            task_instance.c.map_index == map_index,
        )
        .values(user_note=note, updated_at=utcnow())
    )
    if done.rowcount == 0:
        instance = f" instance {map_index}" if map_index >= 0 else ""
        raise NotFoundError(f"run {run_id!r} of DAG {dag_id!r} has no task {task_id!r}{instance}")
    return note
