"""Moving one run forward: the step shared by the scheduler loop and the fast path.

When a try finishes, the worker calls :func:`advance_run` in the same transaction that
records the outcome, so downstream tasks are queued at once instead of waiting for the next
scheduler loop. The loop calls it too, for runs nobody advanced (retries that came due,
new runs, anything a crash interrupted). The run's row is locked first on PostgreSQL, so
two tries of one run finishing at the same moment cannot both miss that a join is ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from conveyor import callbacks
from conveyor.clock import utcnow
from conveyor.engine.mapping import plan_mapped_run, ti_key
from conveyor.engine.planning import plan_run
from conveyor.serialized import SerializedDag
from conveyor.states import IN_FLIGHT, RunState, TaskState
from conveyor.store import hop, pools, runs, transitions
from conveyor.store.runs import RunRow, TiRow
from conveyor.store.tables import dag_run, task_instance
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
    map_index: int = -1


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
            ti.map_index,
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
            r.map_index,
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
    map_index: int = -1,
) -> QueuedTry:
    timeout = structure.tasks[task_id].execution_timeout
    return QueuedTry(
        map_index=map_index,
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
    locked_run: RunRow | None = None,
    read: runs.TasksAndRoom | None = None,
    announce: Callable[[list[QueuedTry]], None] | None = None,
) -> Advance:
    """Apply the plan for one running run; queue what became ready if ``queue_ready``.

    ``parallelism`` caps the tries in flight (queued or running) across the store: the fast
    path queues only into the room left, and the scheduler loop hands out the rest as tries
    finish, so a wide fan-out never floods the executor or the broker. ``locked_run``: the
    run's row, when the caller has locked it in this transaction already; ``read``: the
    run's task instances and room, when the caller read them after that lock; ``announce``:
    called with the tries about to be queued, before the statements that queue them (the
    caller publishes them then, inside this transaction).
    """
    now = now or utcnow()
    run = locked_run or runs.get_run(conn, run_pk, lock=True)
    if run.state is not RunState.RUNNING:
        return Advance([], run.state)
    if run.dag_paused:
        return Advance([], None)  # a paused DAG's running tries finish; nothing new starts
    structure = runs.serialized_dag(conn, run.version_hash)
    room: tuple[int, dict[str, int | None]] = (0, {})
    if queue_ready:  # the fast path: what queueing needs comes in the same round trip
        read = read or runs.task_instances_and_room(conn, run_pk)
        rows, room = read.tis, (read.busy, read.limits)
    else:
        rows = read.tis if read else runs.task_instances(conn, run_pk)
    tis = {ti_key(ti): ti for ti in rows}
    _schedule_due_retries(conn, tis, now, actor)
    states = {task_id: ti.state for task_id, ti in tis.items()}
    past = None
    if any(t.depends_on_past for t in structure.tasks.values()):
        past = runs.previous_run_states(conn, run)
    if structure.mapped:  # expands mapped tasks; the plan's moves name instances
        plan = plan_mapped_run(conn, run, structure, tis, past, actor)
    else:
        plan = plan_run(structure, states, past_states=past, explain=False)
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
    if plan.run_state is not None:
        if transitions.move_run(
            conn,
            run.id,
            expected=[RunState.RUNNING],
            to=plan.run_state,
            values={"end_date": now, "note": plan.run_reason},
        ):  # this process ended the run: it asks for the DAG's callback, exactly once
            callbacks.request_run_end(conn, run.id, structure, plan.run_state, plan.run_reason)
        return Advance([], plan.run_state)
    if not queue_ready:
        for task_id, reason in plan.to_schedule:
            ti = tis[task_id]
            transitions.schedule(conn, ti.id, TaskState.NONE, ti.try_number, reason, actor)
        return Advance([], None)
    return Advance(
        _schedule_and_queue(
            conn, run, structure, tis, plan.to_schedule, actor, parallelism, room, announce
        ),
        None,
    )


def _schedule_and_queue(
    conn: Connection,
    run: RunRow,
    structure: SerializedDag,
    tis: dict[str, TiRow],
    to_schedule: list[tuple[str, str]],
    actor: Actor,
    parallelism: int | None,
    room_read: tuple[int, dict[str, int | None]],
    announce: Callable[[list[QueuedTry]], None] | None = None,
) -> list[QueuedTry]:
    """The fast path: tries waiting for room and newly ready tasks, by priority, go straight
    to queued while there is room (newly ready ones in a single move); the rest wait as
    scheduled for the scheduler loop."""
    reasons = dict(to_schedule)
    waiting = [ti for ti in tis.values() if ti.state is TaskState.SCHEDULED]
    candidates = sorted(
        [*waiting, *(tis[task_id] for task_id in reasons)], key=lambda ti: -ti.priority_weight
    )
    if not candidates:
        return []
    room = structure.max_active_tasks - sum(1 for ti in tis.values() if ti.state in IN_FLIGHT)
    wanted = {ti.pool for ti in candidates}
    busy, limits = room_read
    if parallelism is not None:
        room = min(room, parallelism - busy)
    # Locked after the run's row (the caller's), so queueing never overfills a pool.
    room_in = pools.lock_pools(conn, wanted if room > 0 else (), run.id, limits=limits)
    ready: list[TiRow] = []  # fresh ones that fit: queued below in one move
    later: list[hop.Ready] = []  # fresh ones without room: scheduled below in one move
    waiting_fits: list[TiRow] = []  # scheduled ones that fit now
    for ti in candidates:
        key = ti_key(ti)
        fits = room > 0 and room_in.fits(ti.pool, ti.pool_slots, ti.priority_weight)
        if not fits:
            if room > 0:  # waits for a slot in its pool
                room_in.wait(ti.pool, ti.pool_slots, ti.priority_weight)
            if key in reasons:
                later.append(hop.Ready(ti.id, ti.try_number, reasons[key], ti.queue))
            continue
        room -= 1
        room_in.take(ti.pool, ti.pool_slots)
        (ready if key in reasons else waiting_fits).append(ti)
    # The tries as they will be queued; under the run's lock these moves do not lose (every
    # writer of a run takes it), and a receiver that comes early waits for that lock.
    planned = [replace(ti, try_number=ti.try_number + 1) for ti in ready] + waiting_fits
    planned.sort(key=lambda ti: -ti.priority_weight)
    queued = [
        _queued_try(
            structure,
            ti.id,
            ti.try_number,
            ti.queue,
            run.id,
            run.dag_id,
            run.run_id,
            ti.task_id,
            ti.map_index,
        )
        for ti in planned
    ]
    if announce is not None and queued:
        announce(queued)
    hop.schedule_ready(conn, later, actor)
    moved = hop.queue_ready(
        conn,
        [hop.Ready(ti.id, ti.try_number, reasons[ti_key(ti)], ti.queue) for ti in ready],
        actor,
    )
    moved |= {
        ti.id
        for ti in waiting_fits
        if transitions.queue(conn, ti.id, ti.try_number, ti.queue, actor)
    }
    return [work for work in queued if work.ti_id in moved]


def _schedule_due_retries(
    conn: Connection, tis: dict[str, TiRow], now: datetime, actor: Actor
) -> None:
    for task_id, ti in list(tis.items()):
        waiting = ti.state in (TaskState.UP_FOR_RETRY, TaskState.UP_FOR_RESCHEDULE)
        if waiting and (ti.retry_at is None or ti.retry_at <= now):
            reason = f"retry delay elapsed; try {ti.try_number + 1} of {ti.max_tries}"
            if ti.state is TaskState.UP_FOR_RESCHEDULE:
                reason = "sensor poke interval elapsed; poking again"
            if transitions.schedule(conn, ti.id, ti.state, ti.try_number, reason, actor):
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
        pool=ti.pool,
        pool_slots=ti.pool_slots,
        map_index=ti.map_index,
    )


def in_flight(conn: Connection) -> int:
    """Tries queued or running, in every run of every DAG."""
    return int(conn.execute(select(runs.IN_FLIGHT_COUNT)).scalar_one())


def queue_scheduled(
    conn: Connection,
    run: RunRow,
    structure: SerializedDag,
    tis: list[TiRow],
    actor: Actor,
    limit: int | None = None,
) -> list[QueuedTry]:
    """scheduled -> queued for this run, by priority, within max_active_tasks (and ``limit``)
    and the room in each task's pool."""
    active = sum(1 for ti in tis if ti.state in IN_FLIGHT)
    room = structure.max_active_tasks - active
    if limit is not None:
        room = min(room, limit)
    ready = sorted(
        (ti for ti in tis if ti.state is TaskState.SCHEDULED),
        key=lambda ti: -ti.priority_weight,
    )
    if room <= 0 or not ready:
        return []
    # Locked after the run's row (the caller claimed it), so queueing never overfills a pool.
    room_in = pools.lock_pools(conn, {ti.pool for ti in ready}, run.id)
    queued: list[QueuedTry] = []
    for ti in ready:
        if len(queued) >= room:
            break
        if not room_in.fits(ti.pool, ti.pool_slots, ti.priority_weight):
            room_in.wait(ti.pool, ti.pool_slots, ti.priority_weight)
            continue
        if transitions.queue(conn, ti.id, ti.try_number, ti.queue, actor):
            room_in.take(ti.pool, ti.pool_slots)
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
                    ti.map_index,
                )
            )
    return queued
