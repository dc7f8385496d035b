"""What a backfill reads to plan and feed its runs: the run of a date, the states of its
runs, and whether it cleared a run already (so that running it again resumes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select

from conveyor.states import RunState
from conveyor.store.tables import dag_run, task_event, task_instance


def first_run_at(
    conn: Connection, dag_id: str, logical_date: datetime
) -> tuple[int, RunState] | None:
    """The oldest run of ``dag_id`` with that logical date (its key and state), if any."""
    row = conn.execute(
        select(dag_run.c.id, dag_run.c.state)
        .where(dag_run.c.dag_id == dag_id, dag_run.c.logical_date == logical_date)
        .order_by(dag_run.c.id)
        .limit(1)
    ).first()
    return None if row is None else (row.id, RunState(row.state))


def acted_on_run(conn: Connection, run_pk: int, actor: str) -> bool:
    """Whether ``actor`` left an entry in the timeline of any task of the run."""
    return (
        conn.execute(
            select(task_event.c.id)
            .join(task_instance, task_instance.c.id == task_event.c.ti_id)
            .where(task_instance.c.run_pk == run_pk, task_event.c.actor == actor)
            .limit(1)
        ).first()
        is not None
    )


def run_states(conn: Connection, run_pks: Iterable[int]) -> dict[int, RunState]:
    """The state of each of these runs (a run that no longer exists is absent)."""
    rows = conn.execute(
        select(dag_run.c.id, dag_run.c.state).where(dag_run.c.id.in_(list(run_pks)))
    )
    return {row.id: RunState(row.state) for row in rows}
