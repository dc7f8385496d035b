"""A run's deadlines (``deadline=`` alerts): made with the run, decided once when they pass.

The run's maker (:func:`conveyor.store.runs.create_run`) adds one row per alert whose
reference has a time for the run. The scheduler asks for the pending rows whose time has
come (:func:`due`, a partial index: the cost of a loop with nothing due is one index probe)
and decides each (:func:`decide`) by a guarded ``pending -> met | missed``: of two
schedulers only one moves a row, and only the one that moves it to ``missed`` requests the
alert's callback, in the same transaction (``callback_request``, kind ``deadline``, whose
``task_id`` is the alert's place in the DAG's list).

A deadline is met when the run succeeded at or before it (as Airflow, which drops a run's
deadlines when it succeeds in time); a run still going, or failed, misses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, and_, cast, insert, select, update

from conveyor.clock import utcnow
from conveyor.model.deadlines import REFERENCE_TYPE_FIELD, Facts, deadline_time, needs_durations
from conveyor.states import RunState
from conveyor.stats import airflow as stats
from conveyor.store import callback_requests
from conveyor.store.engine import after_commit
from conveyor.store.tables import callback_request, dag_run, run_deadline

#: The ``callback_request.kind`` of a missed deadline's callback.
KIND = "deadline"

PENDING, MET, MISSED = "pending", "met", "missed"


def add_for_run(
    conn: Connection,
    run_pk: int,
    dag_id: str,
    alerts: Sequence[dict[str, Any]],
    *,
    now: datetime,
    logical_date: datetime | None,
) -> int:
    """The run's deadline rows, one per alert that has a time for it; how many."""
    limit = needs_durations(alerts)
    facts = Facts(
        now=now,
        queued_at=now,
        logical_date=logical_date,
        durations=_durations(conn, dag_id, run_pk, limit) if limit else (),
    )
    rows = []
    for index, alert in enumerate(alerts):
        when = deadline_time(alert, facts)
        if when is None:
            continue
        rows.append(
            {
                "run_pk": run_pk,
                "alert_index": index,
                "name": alert.get("name"),
                "reference": str(alert["reference"][REFERENCE_TYPE_FIELD]),
                "deadline_at": when,
                "state": PENDING,
            }
        )
    if rows:
        conn.execute(insert(run_deadline), rows)
        after_commit(conn, lambda: stats.deadlines_made(dag_id, len(rows)))
    return len(rows)


def _durations(conn: Connection, dag_id: str, run_pk: int, limit: int) -> list[float]:
    """Seconds each of the DAG's latest finished runs took, newest (by logical date) first."""
    r = dag_run.c
    found = conn.execute(
        select(r.start_date, r.end_date)
        .where(
            r.dag_id == dag_id,
            r.id != run_pk,
            r.start_date.is_not(None),
            r.end_date.is_not(None),
        )
        .order_by(r.logical_date.desc())
        .limit(limit)
    )
    return [(row.end_date - row.start_date).total_seconds() for row in found]


def settle_met(conn: Connection, run_pk: int) -> int:
    """Before a succeeded run is reopened (cleared): its pending deadlines that success met
    are decided met now, as Airflow drops them when the run succeeds in time, so running it
    again never misses them. How many."""
    d, r = run_deadline.c, dag_run.c
    ended = select(r.end_date).where(r.id == run_pk, r.state == RunState.SUCCESS.value)
    settled: int = conn.execute(
        update(run_deadline)
        .where(d.run_pk == run_pk, d.state == PENDING, d.deadline_at >= ended.scalar_subquery())
        .values(state=MET, decided_at=utcnow())
    ).rowcount
    if settled:
        dag_id, run_id = conn.execute(select(r.dag_id, r.run_id).where(r.id == run_pk)).one()
        after_commit(conn, lambda: stats.deadlines_decided(dag_id, run_id, False, settled))
    return settled


def due(conn: Connection, now: datetime, limit: int = 200) -> list[int]:
    """The pending deadlines whose time has come, earliest first (the partial index)."""
    d = run_deadline.c
    return list(
        conn.execute(
            select(d.id)
            .where(d.state == PENDING, d.deadline_at <= now)
            .order_by(d.deadline_at)
            .limit(limit)
        ).scalars()
    )


@dataclass(frozen=True)
class Decision:
    deadline_id: int
    run_pk: int
    dag_id: str
    run_id: str
    alert_index: int
    state: str  # met | missed
    deadline_at: datetime


def decide(conn: Connection, deadline_id: int, now: datetime) -> Decision | None:
    """Decide one due deadline: met or missed (its callback requested). None when another
    scheduler decided it first, or it is not due."""
    d, r = run_deadline.c, dag_run.c
    row = conn.execute(
        select(d.run_pk, d.alert_index, d.name, d.reference, d.deadline_at, r.dag_id, r.run_id)
        .add_columns(r.state.label("run_state"), r.end_date)
        .join(dag_run, r.id == d.run_pk)
        .where(d.id == deadline_id, d.state == PENDING, d.deadline_at <= now)
    ).first()
    if row is None:
        return None
    met = (
        row.run_state == RunState.SUCCESS.value
        and row.end_date is not None
        and row.end_date <= row.deadline_at
    )
    state = MET if met else MISSED
    won = conn.execute(
        update(run_deadline)
        .where(d.id == deadline_id, d.state == PENDING)
        .values(state=state, decided_at=now)
    ).rowcount
    if won != 1:
        return None
    if not met:
        callback_requests.request(
            conn,
            row.run_pk,
            KIND,
            missed_reason(row.name, row.reference, row.deadline_at, row.run_state),
            str(row.alert_index),
        )
    return Decision(
        deadline_id, row.run_pk, row.dag_id, row.run_id, row.alert_index, state, row.deadline_at
    )


def missed_reason(name: str | None, reference: str, deadline_at: datetime, run_state: str) -> str:
    """What a missed deadline's callback request (and its log line) says."""
    which = f"deadline {name!r}" if name else "deadline"
    return f"{which} ({reference}) passed at {deadline_at.isoformat()}; the run was {run_state}"


@dataclass(frozen=True)
class RunDeadline:
    """A run's deadline as users see it, with its callback's outcome once it was missed."""

    id: int
    alert_index: int
    name: str | None
    reference: str
    deadline_at: datetime
    state: str  # pending | met | missed
    decided_at: datetime | None
    callback_state: str | None  # pending | running | done | failed; None: no callback asked
    callback_error: str | None


def of_run(conn: Connection, run_pk: int) -> list[RunDeadline]:
    """A run's deadlines in the DAG's order."""
    d, c = run_deadline.c, callback_request.c
    rows = conn.execute(
        select(run_deadline, c.state.label("callback_state"), c.error.label("callback_error"))
        .outerjoin(
            callback_request,
            and_(
                c.run_pk == d.run_pk,
                c.kind == KIND,
                c.task_id == cast(d.alert_index, String),
            ),
        )
        .where(d.run_pk == run_pk)
        .order_by(d.alert_index)
    )
    return [
        RunDeadline(
            row.id,
            row.alert_index,
            row.name,
            row.reference,
            row.deadline_at,
            row.state,
            row.decided_at,
            row.callback_state,
            row.callback_error,
        )
        for row in rows
    ]


def runs_that_missed(conn: Connection, run_pks: Sequence[int]) -> set[int]:
    """Which of these runs missed a deadline (one statement, for a page of the grid)."""
    if not run_pks:
        return set()
    d = run_deadline.c
    rows = conn.execute(
        select(d.run_pk).where(d.run_pk.in_(list(run_pks)), d.state == "missed").distinct()
    )
    return {int(run_pk) for run_pk in rows.scalars()}


def one(conn: Connection, run_pk: int, alert_index: int) -> RunDeadline | None:
    """One of a run's deadlines, by the alert's place in the DAG's list."""
    for found in of_run(conn, run_pk):
        if found.alert_index == alert_index:
            return found
    return None


def run_record(conn: Connection, run_pk: int) -> dict[str, Any]:
    """The run's row, by column name, for a deadline callback's ``context["dag_run"]``."""
    row = conn.execute(select(dag_run).where(dag_run.c.id == run_pk)).one()
    return dict(row._mapping)
