"""What the scheduler loop reads and writes besides state moves: its own heartbeat row, the
work each loop looks for (queued runs, running runs, scheduled and stuck tries), and the row
locks that keep two schedulers off the same run or DAG.

Every function takes an open transaction and returns plain values or small frozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)

from conveyor.lifecycle import WAITING_FOR_TIME
from conveyor.states import FINISHED, RUN_ACTIVE, RunState, TaskState
from conveyor.store.hop import prepared
from conveyor.store.sql import column_values, upsert
from conveyor.store.tables import callback_request, dag, dag_run, scheduler, task_instance

# -- the scheduler's own row -------------------------------------------------------------------


def record_heartbeat(
    conn: Connection, scheduler_id: str, hostname: str, pid: int, now: datetime
) -> None:
    """Insert this scheduler's row on its first beat, move its heartbeat on the next ones."""
    upsert(
        conn,
        scheduler,
        {
            "id": scheduler_id,
            "hostname": hostname,
            "pid": pid,
            "started_at": now,
            "heartbeat_at": now,
        },
        key=["id"],
        update=["heartbeat_at"],
    )


def record_stop(conn: Connection, scheduler_id: str, now: datetime) -> None:
    conn.execute(update(scheduler).where(scheduler.c.id == scheduler_id).values(stopped_at=now))


# -- runs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRef:
    """A run as the loop lists it: enough to claim it and to name it in a problem."""

    id: int
    dag_id: str
    version_hash: str


@dataclass(frozen=True)
class RunningSince(RunRef):
    start_date: datetime | None


@dataclass(frozen=True)
class QueuedRun(RunRef):
    backfill_id: int | None  # the backfill that paces it (None: the DAG's max_active_runs)


def dags_with_queued_runs(conn: Connection) -> list[str]:
    """Unpaused DAGs that have a queued run."""
    return list(
        conn.execute(
            select(dag_run.c.dag_id)
            .join(dag, dag.c.dag_id == dag_run.c.dag_id)
            .where(dag_run.c.state == RunState.QUEUED.value, dag.c.is_paused.is_(False))
            .group_by(dag_run.c.dag_id)
        ).scalars()
    )


def queued_runs(conn: Connection, dag_id: str) -> list[QueuedRun]:
    """A DAG's queued runs, oldest logical date first: the order they start in."""
    return [
        QueuedRun(row.id, dag_id, row.version_hash, row.backfill_id)
        for row in prepared.execute(conn, _QUEUED_RUNS, {"of_dag": dag_id})
    ]


def count_running_runs(conn: Connection, dag_id: str) -> int:
    """What the DAG's ``max_active_runs`` caps: its running runs that belong to no backfill
    (a backfill's runs count against its own ``max_active_runs``, as in Airflow 3)."""
    return int(prepared.execute(conn, _RUNNING_RUNS, {"of_dag": dag_id}).scalar_one())


# Read for every DAG with queued runs in each loop: built once.
_QUEUED_RUNS = (
    select(dag_run.c.id, dag_run.c.version_hash, dag_run.c.backfill_id)
    .where(dag_run.c.dag_id == bindparam("of_dag"), dag_run.c.state == RunState.QUEUED.value)
    .order_by(dag_run.c.logical_date, dag_run.c.id)
)
_RUNNING_RUNS = select(func.count()).where(
    dag_run.c.dag_id == bindparam("of_dag"),
    dag_run.c.state == RunState.RUNNING.value,
    dag_run.c.backfill_id.is_(None),
)


def active_run_count(conn: Connection, dag_id: str) -> int:
    """The DAG's queued and running runs, a backfill's included: what an asset-triggered
    run waits on before it is made (Airflow defers such a DAG while these reach its
    ``max_active_runs``)."""
    return int(
        conn.execute(
            select(func.count()).where(
                dag_run.c.dag_id == dag_id, dag_run.c.state.in_(_ACTIVE_RUN_STATES)
            )
        ).scalar_one()
    )


_ACTIVE_RUN_STATES = sorted(state.value for state in RUN_ACTIVE)


def running_runs(conn: Connection) -> list[RunningSince]:
    """Every running run, by id, with when it started."""
    return [
        RunningSince(row.id, row.dag_id, row.version_hash, row.start_date)
        for row in conn.execute(
            select(dag_run.c.id, dag_run.c.dag_id, dag_run.c.version_hash, dag_run.c.start_date)
            .where(dag_run.c.state == RunState.RUNNING.value)
            .order_by(dag_run.c.id)
        )
    ]


_WAITING = sorted(state.value for state in WAITING_FOR_TIME)
#: States in which an instance is still moving: a try waits, runs or will come again.
_ACTIVE = [s.value for s in TaskState if s is not TaskState.NONE and s not in FINISHED]


def runs_with_due_retries(conn: Connection, now: datetime) -> set[int]:
    """Runs with a retry or a sensor's next poke whose time has come (read through the index
    on state: only the instances waiting for a next try)."""
    ti = task_instance.c
    return set(
        conn.execute(
            select(ti.run_pk)
            .where(ti.state.in_(_WAITING), or_(ti.retry_at.is_(None), ti.retry_at <= now))
            .distinct()
        ).scalars()
    )


def quiet_runs(conn: Connection) -> set[int]:
    """Running runs none of whose instances is moving any more: they must end, or wait for
    something outside them. One probe of the (run, state) index per running run."""
    ti = task_instance.c
    moving = exists().where(ti.run_pk == dag_run.c.id, ti.state.in_(_ACTIVE))
    return set(
        conn.execute(
            select(dag_run.c.id).where(dag_run.c.state == RunState.RUNNING.value, ~moving)
        ).scalars()
    )


def runs_with_scheduled_tries(conn: Connection) -> list[tuple[int, str]]:
    """(run pk, dag id) of running runs with scheduled tries, the highest priority first,
    then the earliest logical date (Airflow's order)."""
    return [(row.run_pk, row.dag_id) for row in prepared.execute(conn, _WITH_SCHEDULED_TRIES)]


# Read each time a slot frees: built once.
_WITH_SCHEDULED_TRIES = (
    select(task_instance.c.run_pk, dag_run.c.dag_id)
    .join(dag_run, dag_run.c.id == task_instance.c.run_pk)
    .where(
        task_instance.c.state == TaskState.SCHEDULED.value,
        dag_run.c.state == RunState.RUNNING.value,
    )
    .group_by(task_instance.c.run_pk, dag_run.c.dag_id, dag_run.c.logical_date)
    .order_by(
        func.max(task_instance.c.priority_weight).desc(),
        dag_run.c.logical_date,
        task_instance.c.run_pk,
    )
)


def _scheduled_above_elsewhere() -> tuple[Select[Any], Select[tuple[int]]]:
    """Two statements: a quick look at the index alone, on the fast path at every end that
    frees the last slot; and, only when it finds something, the same tries in running runs
    of unpaused DAGs."""
    ti = task_instance.c
    run_pk, above = bindparam("run_pk", type_=Integer), bindparam("above", type_=Integer)

    def side(joined: bool, *where: Any) -> Select[tuple[int]]:
        found = select(func.max(ti.priority_weight))
        if joined:
            found = (
                found.join(dag_run, dag_run.c.id == ti.run_pk)
                .join(dag, dag.c.dag_id == dag_run.c.dag_id)
                .where(dag_run.c.state == RunState.RUNNING.value, dag.c.is_paused.is_(False))
            )
        return found.where(
            ti.state == TaskState.SCHEDULED.value, *where, ti.priority_weight > above
        )

    # Two ranges of run keys on the (state, run_pk, ...) index: a wide run's own scheduled
    # tries are never scanned.
    def both(joined: bool) -> Select[Any]:
        lower = side(joined, ti.run_pk < run_pk).scalar_subquery()
        upper = side(joined, ti.run_pk > run_pk).scalar_subquery()
        return select(lower, upper)

    return both(False), both(True)


#: Built once (the fast path asks them often).
_ANY_ABOVE_ELSEWHERE, _ABOVE_ELSEWHERE_RUNNING = _scheduled_above_elsewhere()


def highest_scheduled_elsewhere(
    conn: Connection, run_pk: int, above: int, *, looked: bool = False
) -> int | None:
    """The highest priority above ``above`` of a scheduled try in another running run of an
    unpaused DAG, if any: the try a freed executor slot goes to before one of run
    ``run_pk`` of priority ``above``. ``looked``: the caller's read found such a try in some
    run already (the hop's counts), so the quick look is skipped."""
    values = {"run_pk": run_pk, "above": above}
    if not looked and all(v is None for v in conn.execute(_ANY_ABOVE_ELSEWHERE, values).one()):
        return None
    found = [v for v in conn.execute(_ABOVE_ELSEWHERE_RUNNING, values).one() if v is not None]
    return max(found) if found else None


def active_dag_version(conn: Connection, dag_id: str) -> tuple[str, bool] | None:
    """(version hash, is paused) of an active DAG; None for a DAG gone from its folder."""
    row = conn.execute(
        select(dag.c.version_hash, dag.c.is_paused).where(
            dag.c.dag_id == dag_id, dag.c.is_active.is_(True)
        )
    ).first()
    return None if row is None else (row.version_hash, bool(row.is_paused))


# -- tries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunningTry:
    id: int  # the task instance
    dag_id: str
    run_pk: int
    try_number: int
    hostname: str | None
    pid: int | None
    heartbeat_at: datetime | None
    task_id: str = ""


def queued_at(conn: Connection, ti_ids: list[int]) -> dict[int, datetime]:
    """When each of these task instances was queued."""
    if not ti_ids:
        return {}
    return {
        row.id: row.queued_at
        for row in conn.execute(
            select(task_instance.c.id, task_instance.c.queued_at).where(
                task_instance.c.id.in_(ti_ids)
            )
        )
    }


def first_round_waits(conn: Connection, ti_ids: list[int]) -> list[tuple[str, str, float]]:
    """Of these task instances just queued, those on their first try (try 1 as users number
    tries: a deferred try resumed is still on it, as Airflow, whose test is an end date, which
    a deferral does not set): (task id, queue, seconds from scheduled to queued), both times
    set by the store in the statements that moved them."""
    if not ti_ids:
        return []
    ti = task_instance.c
    rows = conn.execute(
        select(ti.task_id, ti.queue, ti.scheduled_at, ti.queued_at).where(
            ti.id.in_(ti_ids),
            ti.try_number - ti.resumptions == 1,
            ti.scheduled_at.is_not(None),
            ti.queued_at.is_not(None),
        )
    )
    return [(r.task_id, r.queue, (r.queued_at - r.scheduled_at).total_seconds()) for r in rows]


def running_tries(conn: Connection) -> list[RunningTry]:
    """Every running try with its host, pid and last heartbeat: what the zombie check reads."""
    ti = task_instance.c
    return [
        RunningTry(
            row.id,
            row.dag_id,
            row.run_pk,
            row.try_number,
            row.hostname,
            row.pid,
            row.heartbeat_at,
            row.task_id,
        )
        for row in conn.execute(
            select(
                ti.id,
                ti.dag_id,
                ti.run_pk,
                ti.try_number,
                ti.hostname,
                ti.pid,
                ti.heartbeat_at,
                ti.task_id,
            ).where(ti.state == TaskState.RUNNING.value)
        )
    ]


def requested_callback_tasks(conn: Connection, run_pk: int, kind: str) -> set[str]:
    """Task ids of a run for which a ``kind`` callback (e.g. ``sla_miss``) was requested."""
    request = callback_request.c
    return set(column_values(conn, request.task_id, request.run_pk == run_pk, request.kind == kind))
