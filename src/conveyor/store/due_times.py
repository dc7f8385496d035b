"""When each DAG next needs the scheduler: the due-time index on the ``dag`` table.

The scheduler reads only the DAGs whose ``next_dagrun_create_after`` has come, so an idle
loop costs one indexed query however many DAGs there are. The due time is set to "now" when
a DAG is registered, changed or unpaused (the scheduler then works out the real one), and,
each time the scheduler has looked, to the next run's time, or NULL when no further
scheduled run will ever come (manual-only and dataset schedules, a passed end_date).

A DAG whose active runs fill its ``max_active_runs`` while a run is due is held: its
``next_run_after`` stays that run's time and its due time goes past it, to the scheduler's
last-resort look (``hold``). A run of it that ends gives the DAG back its due time
(``wake_held``), so the next loop makes the run that waited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Integer, bindparam, func, select, update

from conveyor.states import RUN_ACTIVE
from conveyor.store.hop import prepared
from conveyor.store.tables import UtcDateTime, dag, dag_run

#: What a DAG's ``max_active_runs`` counts before a scheduled run is made: its queued and
#: running runs of any type but a backfill's (a backfill paces its own runs).
_ACTIVE = sorted(state.value for state in RUN_ACTIVE)


@dataclass(frozen=True)
class DueDag:
    """A DAG whose scheduled runs the scheduler has to look at now."""

    dag_id: str
    version_hash: str
    next_run_after: datetime | None
    active_runs: int = 0  # queued and running, backfills' apart: what max_active_runs caps


#: Built once, as the loop sends it every loop: building it cost more than running it.
_DUE = (
    select(
        dag.c.dag_id,
        dag.c.version_hash,
        dag.c.next_run_after,
        select(func.count())
        .where(
            dag_run.c.state.in_(_ACTIVE),
            dag_run.c.dag_id == dag.c.dag_id,
            dag_run.c.backfill_id.is_(None),
        )
        .scalar_subquery()
        .label("active"),
    )
    .where(
        dag.c.next_dagrun_create_after <= bindparam("now", type_=UtcDateTime),
        dag.c.is_active.is_(True),
        dag.c.is_paused.is_(False),
    )
    .order_by(dag.c.next_dagrun_create_after, dag.c.dag_id)
)


def due_dags(conn: Connection, now: datetime) -> list[DueDag]:
    """Active, unpaused DAGs whose due time has come, the longest overdue first, each with
    its active runs (counted in the same read, through the (state, dag_id) index, and only
    for the DAGs that are due)."""
    rows = conn.execute(_DUE, {"now": now}).all()
    return [DueDag(r.dag_id, r.version_hash, r.next_run_after, int(r.active)) for r in rows]


_NEXT_DUE = (
    select(dag.c.next_dagrun_create_after)
    .where(
        dag.c.next_dagrun_create_after > bindparam("now", type_=UtcDateTime),
        dag.c.is_active.is_(True),
        dag.c.is_paused.is_(False),
    )
    .order_by(dag.c.next_dagrun_create_after)
    .limit(1)
)


def next_due(conn: Connection, now: datetime) -> datetime | None:
    """The earliest due time after ``now`` of an active, unpaused DAG (an indexed read):
    when the scheduler next has runs to make, if nothing else wakes it first."""
    found: datetime | None = conn.execute(_NEXT_DUE, {"now": now}).scalar()
    return found


_LAST_SCHEDULED = (
    select(dag_run.c.data_interval_start, dag_run.c.data_interval_end)
    .where(dag_run.c.dag_id == bindparam("of_dag"), dag_run.c.run_type == "scheduled")
    # Of two runs of one logical date (an imported Airflow 3 run of no length, and the
    # interval from it), the later end: the schedule goes on from it.
    .order_by(dag_run.c.logical_date.desc(), dag_run.c.data_interval_end.desc())
    .limit(1)
)


def last_scheduled_interval(conn: Connection, dag_id: str) -> tuple[datetime, datetime] | None:
    """The data interval of a DAG's latest scheduled run; None before its first."""
    row = prepared.execute(conn, _LAST_SCHEDULED, {"of_dag": dag_id}).first()
    return (row.data_interval_start, row.data_interval_end) if row else None


_SET_DUE_TIME = (
    update(dag)
    .where(dag.c.dag_id == bindparam("of_dag"), dag.c.version_hash == bindparam("at_version"))
    .values(
        next_dagrun_create_after=bindparam("after", type_=UtcDateTime),
        next_run_after=bindparam("next", type_=UtcDateTime),
    )
)


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
    done = prepared.execute(
        conn,
        _SET_DUE_TIME,
        {
            "of_dag": dag_id,
            "at_version": version_hash,
            "after": create_after,
            "next": next_run_after,
        },
    )
    return done.rowcount > 0


def mark_due(conn: Connection, dag_ids: Sequence[str], now: datetime) -> None:
    """Make DAGs due now, so the scheduler works out their runs in its next loop."""
    if dag_ids:
        conn.execute(
            update(dag).where(dag.c.dag_id.in_(list(dag_ids))).values(next_dagrun_create_after=now)
        )


def hold(
    conn: Connection, dag_id: str, *, version_hash: str, waiting: datetime, recheck: datetime
) -> bool:
    """A run due at ``waiting`` has no room under ``max_active_runs``: keep its time as the
    DAG's next run, and look again at ``recheck`` at the latest (a run's end wakes it first).
    Held is told by the due time lying past the next run's time, which nothing else leaves."""
    return set_due_time(
        conn, dag_id, version_hash=version_hash, create_after=recheck, next_run_after=waiting
    )


_HELD = dag.c.next_dagrun_create_after > dag.c.next_run_after
#: Built once: a run's end sends it. The inner SELECT skips a DAG row another scheduler
#: holds (it is making or starting that DAG's runs right now), so a run's end never waits
#: for a scheduler that may wait for it; the hold's recheck covers that rare miss.
_WAKE = (
    update(dag)
    .where(
        dag.c.dag_id.in_(
            select(dag.c.dag_id)
            .join(dag_run, dag_run.c.dag_id == dag.c.dag_id)
            .where(
                dag_run.c.id == bindparam("run_pk", type_=Integer),
                dag_run.c.backfill_id.is_(None),
                _HELD,
            )
            .with_for_update(of=dag, skip_locked=True, key_share=True)
        )
    )
    .values(next_dagrun_create_after=dag.c.next_run_after)
)


def active_runs(conn: Connection, dag_ids: Sequence[str]) -> dict[str, int]:
    """Each DAG's queued and running runs, a backfill's apart (DAGs with none left out)."""
    if not dag_ids:
        return {}
    rows = conn.execute(
        select(dag_run.c.dag_id, func.count())
        .where(
            dag_run.c.dag_id.in_(list(dag_ids)),
            dag_run.c.state.in_(_ACTIVE),
            dag_run.c.backfill_id.is_(None),
        )
        .group_by(dag_run.c.dag_id)
    ).all()
    return {dag_id: int(count) for dag_id, count in rows}


def wake(conn: Connection, dag_ids: Sequence[str]) -> None:
    """Make these DAGs due at their waiting run's time, those still held."""
    if dag_ids:
        conn.execute(
            update(dag)
            .where(dag.c.dag_id.in_(list(dag_ids)), _HELD)
            .values(next_dagrun_create_after=dag.c.next_run_after)
        )


def wake_held(conn: Connection, run_pk: int) -> None:
    """A run left queued or running: if its DAG was held at ``max_active_runs``, make it due
    again at its waiting run's time. Writes nothing (and locks nothing) when it was not held."""
    prepared.execute(conn, _WAKE, {"run_pk": run_pk})
