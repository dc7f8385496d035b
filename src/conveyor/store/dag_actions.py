"""What is done to a DAG as a whole: pause or unpause it (one or many), set when its next
run is due.

One function per action, so the API, the UI and the CLI (and the scheduler, for the next
run) write the same statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from conveyor.clock import utcnow
from conveyor.exceptions import NotFoundError
from conveyor.store import plan_requests
from conveyor.store.tables import dag


def set_paused(conn: Connection, dag_id: str, paused: bool) -> None:
    """Pause (no new runs, no tries started) or unpause a DAG; NotFoundError if there is
    no such DAG. An unpaused DAG is due at once, so the scheduler works out the runs it
    missed (with catchup) or its latest one in its next loop."""
    values: dict[str, Any] = {"is_paused": paused}
    if not paused:
        values["next_dagrun_create_after"] = utcnow()
    changed = conn.execute(update(dag).where(dag.c.dag_id == dag_id).values(**values)).rowcount
    if not changed:
        raise NotFoundError(f"no DAG {dag_id!r}")
    if not paused:  # tries that ended while it was paused queued nothing after them
        plan_requests.request_plans_of_dag(conn, dag_id)


def set_paused_many(conn: Connection, dag_ids: Iterable[str], paused: bool) -> list[str]:
    """:func:`set_paused` for each DAG not already in that state, in id order, in the
    caller's transaction; returns the ids changed. A DAG id no DAG has is skipped (the caller
    chose them from the store)."""
    wanted = sorted(set(dag_ids))
    if not wanted:
        return []
    rows = conn.execute(
        select(dag.c.dag_id)
        .where(dag.c.dag_id.in_(wanted), dag.c.is_paused.is_(not paused))
        .order_by(dag.c.dag_id)
        .with_for_update()
    )
    changed = list(rows.scalars())
    for dag_id in changed:
        set_paused(conn, dag_id, paused)
    return changed


def set_next_run(conn: Connection, dag_id: str, next_run_after: datetime | None) -> None:
    """Record when the DAG's schedule makes its next run (None: never again)."""
    conn.execute(update(dag).where(dag.c.dag_id == dag_id).values(next_run_after=next_run_after))
