"""The statements of backfill: what a backfill reads to plan its runs (the run of a date,
the states of its runs, whether it cleared a run already, so that running it again resumes),
and the backfill record (``backfill``): made, listed, paused, unpaused, completed, and what
the scheduler reads to pace its runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, exists, func, insert, select, update

from conveyor.clock import utcnow
from conveyor.exceptions import ConveyorError, NotFoundError
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store.tables import backfill, dag_run, task_event, task_instance


def first_run_at(
    conn: Connection, dag_id: str, logical_date: datetime, *, partition: bool = False
) -> tuple[int, RunState] | None:
    """The oldest run of ``dag_id`` with that logical date (its key and state), if any.
    ``partition``: the oldest run for the partition starting at that date instead: the
    date, not the key, names a partition whatever format its key was written in."""
    when = dag_run.c.partition_date if partition else dag_run.c.logical_date
    row = conn.execute(
        select(dag_run.c.id, dag_run.c.state)
        .where(dag_run.c.dag_id == dag_id, when == logical_date)
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


# -- the backfill record ---------------------------------------------------------------------
#
# A backfill is a row of ``backfill``; each run it made or reprocessed carries its id in
# ``dag_run.backfill_id``. A column on the run rather than a link table: a run belongs to at
# most one backfill at a time (the latest that reprocessed it), and the scheduler's count of
# a backfill's running runs is then one probe of ``ix_dag_run_backfill_id``, no join; a
# deleted run takes its link with it.


class BackfillCompletedError(ConveyorError):
    """A completed (ended or cancelled) backfill cannot be paused, unpaused or cancelled."""


@dataclass(frozen=True)
class BackfillRow:
    """A backfill as stored, with Airflow 3's field names."""

    id: int
    dag_id: str
    from_date: datetime
    to_date: datetime
    dag_run_conf: dict[str, Any]
    is_paused: bool
    reprocess_behavior: str  # Airflow's: none | failed | completed
    max_active_runs: int
    created_at: datetime
    completed_at: datetime | None
    updated_at: datetime
    triggering_user_name: str | None


_COLUMNS = [backfill.c[f.name] for f in fields(BackfillRow)]


def _row(found: Row[Any]) -> BackfillRow:
    values = dict(found._mapping)
    values["dag_run_conf"] = dict(values["dag_run_conf"] or {})
    values["is_paused"] = bool(values["is_paused"])
    return BackfillRow(**values)


def create(
    conn: Connection,
    *,
    dag_id: str,
    from_date: datetime,
    to_date: datetime,
    dag_run_conf: dict[str, Any],
    reprocess_behavior: str,
    max_active_runs: int,
    triggering_user_name: str | None,
) -> int:
    """Record a new backfill, not paused, not completed; its id."""
    now = utcnow()
    return int(
        conn.execute(
            insert(backfill)
            .values(
                dag_id=dag_id,
                from_date=from_date,
                to_date=to_date,
                dag_run_conf=dag_run_conf,
                is_paused=False,
                reprocess_behavior=reprocess_behavior,
                max_active_runs=max_active_runs,
                created_at=now,
                completed_at=None,
                updated_at=now,
                triggering_user_name=triggering_user_name,
            )
            .returning(backfill.c.id)
        ).scalar_one()
    )


def get(conn: Connection, backfill_id: int) -> BackfillRow | None:
    found = conn.execute(select(*_COLUMNS).where(backfill.c.id == backfill_id)).first()
    return None if found is None else _row(found)


def list_backfills(conn: Connection, dag_id: str | None = None) -> list[BackfillRow]:
    """The backfills of ``dag_id`` (of every DAG: None), oldest first."""
    query = select(*_COLUMNS).order_by(backfill.c.id)
    if dag_id is not None:
        query = query.where(backfill.c.dag_id == dag_id)
    return [_row(r) for r in conn.execute(query)]


def going_on(conn: Connection, dag_id: str) -> BackfillRow | None:
    """The DAG's backfill that has not completed, if any (Airflow allows one at a time)."""
    found = conn.execute(
        select(*_COLUMNS)
        .where(backfill.c.dag_id == dag_id, backfill.c.completed_at.is_(None))
        .order_by(backfill.c.id)
        .limit(1)
    ).first()
    return None if found is None else _row(found)


def of_run(conn: Connection, run_pk: int) -> BackfillRow | None:
    """The backfill the run belongs to, if any."""
    found = conn.execute(
        select(*_COLUMNS)
        .join(dag_run, dag_run.c.backfill_id == backfill.c.id)
        .where(dag_run.c.id == run_pk)
    ).first()
    return None if found is None else _row(found)


def link_run(conn: Connection, run_pk: int, backfill_id: int) -> None:
    """The run now belongs to the backfill (made by it, or reprocessed by it)."""
    conn.execute(
        update(dag_run)
        .where(dag_run.c.id == run_pk)
        .values(backfill_id=backfill_id, updated_at=utcnow())
    )


def change(conn: Connection, backfill_id: int, **values: Any) -> BackfillRow:
    """Set ``values`` (``is_paused``, ``max_active_runs``) on a backfill still going on; the
    row as it is then. A completed one is refused (:class:`BackfillCompletedError`), a
    missing one is :class:`NotFoundError`; the guard is in the statement, so a cancel or an
    end that committed first wins."""
    changed = conn.execute(
        update(backfill)
        .where(backfill.c.id == backfill_id, backfill.c.completed_at.is_(None))
        .values(updated_at=utcnow(), **values)
    ).rowcount
    found = get(conn, backfill_id)
    if found is None:
        raise NotFoundError(f"backfill {backfill_id} does not exist")
    if changed != 1:
        raise BackfillCompletedError(
            f"backfill {backfill_id} of DAG {found.dag_id!r} is already completed "
            f"(at {found.completed_at})"
        )
    return found


def complete(conn: Connection, backfill_id: int, now: datetime, *, if_ended: bool = False) -> bool:
    """Mark a backfill completed (nothing of it starts any more); True if this call did,
    False if it was completed already. ``if_ended``: only if none of its runs is queued or
    running, checked in the statement itself, so a run that joined it meanwhile (the same
    backfill resumed with a run to reprocess) keeps it going."""
    guard = [backfill.c.id == backfill_id, backfill.c.completed_at.is_(None)]
    if if_ended:
        guard.append(~_unfinished_run())
    return (
        conn.execute(
            update(backfill).where(*guard).values(completed_at=now, updated_at=now)
        ).rowcount
        == 1
    )


def _unfinished_run() -> Any:
    """A run of the backfill (of the outer statement's row) that is still queued or running."""
    return (
        exists()
        .where(dag_run.c.backfill_id == backfill.c.id)
        .where(dag_run.c.state.not_in([s.value for s in RUN_FINISHED]))
    )


def runs_in_state(conn: Connection, backfill_id: int, state: RunState) -> list[tuple[int, str]]:
    """(key, run id) of the backfill's runs in ``state``, oldest logical date first."""
    rows = conn.execute(
        select(dag_run.c.id, dag_run.c.run_id)
        .where(dag_run.c.backfill_id == backfill_id, dag_run.c.state == state.value)
        .order_by(dag_run.c.logical_date, dag_run.c.id)
    )
    return [(r.id, r.run_id) for r in rows]


def run_counts(conn: Connection, backfill_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """How many runs of each backfill are in each state."""
    ids = list(backfill_ids)
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return counts
    rows = conn.execute(
        select(dag_run.c.backfill_id, dag_run.c.state, func.count().label("n"))
        .where(dag_run.c.backfill_id.in_(ids))
        .group_by(dag_run.c.backfill_id, dag_run.c.state)
    )
    for r in rows:
        counts[r.backfill_id][r.state] = int(r.n)
    return counts


def ended_backfills(conn: Connection) -> list[int]:
    """Backfills going on none of whose runs is still queued or running: they are done."""
    return list(
        conn.execute(
            select(backfill.c.id).where(backfill.c.completed_at.is_(None), ~_unfinished_run())
        ).scalars()
    )


@dataclass(frozen=True)
class Pace:
    """What the scheduler reads of a backfill to start its queued runs."""

    is_paused: bool
    max_active_runs: int
    running: int


def paces(conn: Connection, backfill_ids: Iterable[int]) -> dict[int, Pace]:
    """Each backfill's pause, limit and running runs. On PostgreSQL the rows are read
    FOR SHARE: a pause or a cancel (an update of the row) waits for the scheduler's start to
    commit, and the scheduler reads a pause that committed first, so no run of a paused
    backfill starts after the pause answered."""
    ids = sorted(set(backfill_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(
            backfill.c.id, backfill.c.is_paused, backfill.c.completed_at, backfill.c.max_active_runs
        )
        .where(backfill.c.id.in_(ids))
        .order_by(backfill.c.id)
        .with_for_update(read=True)
    ).all()
    running: dict[int, int] = {
        row.backfill_id: int(row.n)
        for row in conn.execute(
            select(dag_run.c.backfill_id, func.count().label("n"))
            .where(dag_run.c.backfill_id.in_(ids), dag_run.c.state == RunState.RUNNING.value)
            .group_by(dag_run.c.backfill_id)
        )
    }
    return {
        r.id: Pace(
            is_paused=bool(r.is_paused) or r.completed_at is not None,
            max_active_runs=int(r.max_active_runs),
            running=int(running.get(r.id, 0)),
        )
        for r in rows
    }
