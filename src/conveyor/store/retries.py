"""Making a run's waiting retries due at once (``conveyor run --no-retry-delay``)."""

from __future__ import annotations

from sqlalchemy import Connection, update

from conveyor.clock import utcnow
from conveyor.states import TaskState
from conveyor.store.tables import task_instance


def make_retries_due(conn: Connection, run_pk: int) -> None:
    """Every task instance of the run waiting for its next try may start it now: the
    scheduler starts a retry as soon as its time has come."""
    now = utcnow()
    conn.execute(
        update(task_instance)
        .where(
            task_instance.c.run_pk == run_pk,
            task_instance.c.state == TaskState.UP_FOR_RETRY.value,
            task_instance.c.retry_at > now,
        )
        .values(retry_at=now)
    )
