"""Moving one run forward: the step shared by the scheduler loop and the fast path.

When a try finishes, the worker calls :func:`advance_run` in the same transaction that
records the outcome, so downstream tasks are queued at once instead of waiting for the next
scheduler loop. The loop calls it too, for runs nobody advanced (retries that came due,
new runs, anything a crash interrupted). The run's row is locked first on PostgreSQL, so
two tries of one run finishing at the same moment cannot both miss that a join is ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from conveyor.loading.serialize import SerializedDag
from conveyor.scheduler.planning import plan_run
from conveyor.states import IN_FLIGHT, RunState, TaskState
from conveyor.store import runs, transitions
from conveyor.store.runs import RunRow, TiRow
from conveyor.store.tables import dag, dag_run, task_instance, utcnow
from conveyor.store.transitions import Actor


@dataclass(frozen=True)
class QueuedTry:
    """A try handed to an executor: what a broker message carries, plus local hints."""

    ti_id: int
    try_number: int
    queue: str
    run_pk: int
    dag_id: str
    run_id: str
    task_id: str
    timeout_seconds: float | None


def queued_tries(conn: Connection, *conditions: Any) -> list[QueuedTry]:
    """Queued task instances matching ``conditions``, as executors take them."""
    ti = task_instance.c
    rows = conn.execute(
        select(
            ti.id,
            ti.try_number,
            ti.queue,
            ti.run_pk,
            ti.dag_id,
            ti.run_id,
            ti.task_id,
            dag_run.c.version_hash,
        )
        .join(dag_run, dag_run.c.id == ti.run_pk)
        .where(ti.state == TaskState.QUEUED.value, *conditions)
        .order_by(ti.priority_weight.desc(), ti.id)
    ).all()
    return [
        _queued_try(
            runs.serialized_dag(conn, r.version_hash),
            r.id,
            r.try_number,
            r.queue,
            r.run_pk,
            r.dag_id,
            r.run_id,
            r.task_id,
        )
        for r in rows
    ]


def _queued_try(
    structure: SerializedDag,
    ti_id: int,
    try_number: int,
    queue: str,
    run_pk: int,
    dag_id: str,
    run_id: str,
    task_id: str,
) -> QueuedTry:
    timeout = structure.tasks[task_id].execution_timeout
    return QueuedTry(
        ti_id=ti_id,
        try_number=try_number,
        queue=queue,
        run_pk=run_pk,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        timeout_seconds=timeout.total_seconds() if timeout else None,
    )


@dataclass
class Advance:
    queued: list[QueuedTry]
    run_state: RunState | None


def advance_run(
    conn: Connection,
    run_pk: int,
    actor: Actor,
    *,
    queue_ready: bool,
    parallelism: int | None = None,
    now: datetime | None = None,
) -> Advance:
    """Apply the plan for one running run; queue what became ready if ``queue_ready``.

    ``parallelism`` caps the tries in flight (queued or running) across the store: the fast
    path queues only into the room left, and the scheduler loop hands out the rest as tries
    finish, so a wide fan-out never floods the executor or the broker.
    """
    now = now or utcnow()
    run = runs.get_run(conn, run_pk, lock=True)
    if run.state is not RunState.RUNNING:
        return Advance([], run.state)
    if conn.execute(select(dag.c.is_paused).where(dag.c.dag_id == run.dag_id)).scalar():
        return Advance([], None)  # a paused DAG's running tries finish; nothing new starts
    structure = runs.serialized_dag(conn, run.version_hash)
    tis = {ti.task_id: ti for ti in runs.task_instances(conn, run_pk)}
    _schedule_due_retries(conn, tis, now, actor)
    states = {task_id: ti.state for task_id, ti in tis.items()}
    past = None
    if any(t.depends_on_past for t in structure.tasks.values()):
        past = runs.previous_run_states(conn, run)
    plan = plan_run(structure, states, past_states=past)
    for task_id, reason in plan.to_skip:
        ti = tis[task_id]
        transitions.finish_without_running(
            conn, ti.id, TaskState.SKIPPED, ti.try_number, reason, actor
        )
    for task_id, reason in plan.to_upstream_fail:
        ti = tis[task_id]
        transitions.finish_without_running(
            conn, ti.id, TaskState.UPSTREAM_FAILED, ti.try_number, reason, actor
        )
    for task_id, reason in plan.to_schedule:
        ti = tis[task_id]
        if transitions.schedule(conn, ti.id, TaskState.NONE, ti.try_number, reason, actor):
            tis[task_id] = _bumped(ti, TaskState.SCHEDULED)
    if plan.run_state is not None:
        transitions.move_run(
            conn,
            run.id,
            expected=[RunState.RUNNING],
            to=plan.run_state,
            values={"end_date": now, "note": plan.run_reason},
        )
        return Advance([], plan.run_state)
    queued: list[QueuedTry] = []
    if queue_ready:
        room = None if parallelism is None else parallelism - in_flight(conn)
        queued = queue_scheduled(conn, run, structure, list(tis.values()), actor, limit=room)
    return Advance(queued, None)


def _schedule_due_retries(
    conn: Connection, tis: dict[str, TiRow], now: datetime, actor: Actor
) -> None:
    for task_id, ti in list(tis.items()):
        if ti.state is TaskState.UP_FOR_RETRY and (ti.retry_at is None or ti.retry_at <= now):
            reason = f"retry delay elapsed; try {ti.try_number + 1} of {ti.max_tries}"
            if transitions.schedule(
                conn, ti.id, TaskState.UP_FOR_RETRY, ti.try_number, reason, actor
            ):
                tis[task_id] = _bumped(ti, TaskState.SCHEDULED)


def _bumped(ti: TiRow, state: TaskState) -> TiRow:
    return TiRow(
        id=ti.id,
        task_id=ti.task_id,
        state=state,
        try_number=ti.try_number + 1,
        max_tries=ti.max_tries,
        retry_at=None,
        queue=ti.queue,
        priority_weight=ti.priority_weight,
    )


def in_flight(conn: Connection) -> int:
    """Tries queued or running, in every run of every DAG."""
    return int(
        conn.execute(
            select(func.count()).where(task_instance.c.state.in_([s.value for s in IN_FLIGHT]))
        ).scalar_one()
    )


def queue_scheduled(
    conn: Connection,
    run: RunRow,
    structure: SerializedDag,
    tis: list[TiRow],
    actor: Actor,
    limit: int | None = None,
) -> list[QueuedTry]:
    """scheduled -> queued for this run, by priority, within max_active_tasks (and ``limit``)."""
    active = sum(1 for ti in tis if ti.state in IN_FLIGHT)
    room = structure.max_active_tasks - active
    if limit is not None:
        room = min(room, limit)
    ready = sorted(
        (ti for ti in tis if ti.state is TaskState.SCHEDULED),
        key=lambda ti: -ti.priority_weight,
    )
    queued: list[QueuedTry] = []
    for ti in ready[: max(room, 0)]:
        if transitions.queue(conn, ti.id, ti.try_number, ti.queue, actor):
            queued.append(
                _queued_try(
                    structure,
                    ti.id,
                    ti.try_number,
                    ti.queue,
                    run.id,
                    run.dag_id,
                    run.run_id,
                    ti.task_id,
                )
            )
    return queued
