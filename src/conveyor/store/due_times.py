"""When each DAG next needs the scheduler: the due-time index on the ``dag`` table.

The scheduler reads only the DAGs whose ``next_dagrun_create_after`` has come, so an idle
loop costs one indexed query however many DAGs there are. The due time is set to "now" when
a DAG is registered, changed or unpaused (the scheduler then works out the real one), and,
each time the scheduler has looked, to the next run's time, or NULL when no further
scheduled run will ever come (manual-only and dataset schedules, a passed end_date).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from conveyor.store.tables import dag, dag_run


@dataclass(frozen=True)
class DueDag:
    """A DAG whose scheduled runs the scheduler has to look at now."""

    dag_id: str
    version_hash: str
    next_run_after: datetime | None


def due_dags(conn: Connection, now: datetime) -> list[DueDag]:
    """Active, unpaused DAGs whose due time has come, the longest overdue first."""
    rows = conn.execute(
        select(dag.c.dag_id, dag.c.version_hash, dag.c.next_run_after)
        .where(
            dag.c.next_dagrun_create_after <= now,
            dag.c.is_active.is_(True),
            dag.c.is_paused.is_(False),
        )
        .order_by(dag.c.next_dagrun_create_after, dag.c.dag_id)
    ).all()
    return [DueDag(r.dag_id, r.version_hash, r.next_run_after) for r in rows]


def last_scheduled_interval(conn: Connection, dag_id: str) -> tuple[datetime, datetime] | None:
    """The data interval of a DAG's latest scheduled run; None before its first."""
    row = conn.execute(
        select(dag_run.c.data_interval_start, dag_run.c.data_interval_end)
        .where(dag_run.c.dag_id == dag_id, dag_run.c.run_type == "scheduled")
        # Of two runs of one logical date (an imported Airflow 3 run of no length, and the
        # interval from it), the later end: the schedule goes on from it.
        .order_by(dag_run.c.logical_date.desc(), dag_run.c.data_interval_end.desc())
        .limit(1)
    ).first()
    return (row.data_interval_start, row.data_interval_end) if row else None


def set_due_time(
    conn: Connection,
    dag_id: str,
    *,
    version_hash: str,
    create_after: datetime | None,
    next_run_after: datetime | None,
) -> bool:
    """Record when the scheduler next looks at a DAG (``create_after``; None: never) and the
    next run's time shown to users. Only while the DAG is still at ``version_hash``: a DAG
    changed meanwhile keeps the "due now" its registration set, so its new schedule is
    worked out in the next loop. Returns whether the DAG was still at that version."""
    done = conn.execute(
        update(dag)
        .where(dag.c.dag_id == dag_id, dag.c.version_hash == version_hash)
        .values(next_dagrun_create_after=create_after, next_run_after=next_run_after)
    )
    return done.rowcount > 0


def mark_due(conn: Connection, dag_ids: Sequence[str], now: datetime) -> None:
    """Make DAGs due now, so the scheduler works out their runs in its next loop."""
    if dag_ids:
        conn.execute(
            update(dag).where(dag.c.dag_id.in_(list(dag_ids))).values(next_dagrun_create_after=now)
        )
