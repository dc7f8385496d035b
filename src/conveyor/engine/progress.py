"""Moving one run forward: the step shared by the scheduler loop and the fast path.

When a try finishes, its end (``engine.tries``) calls :func:`advance_run` in the same
transaction that records the outcome, so downstream tasks are queued at once instead of
waiting for the next scheduler loop. The loop calls :func:`plan_whole_run` for the runs its
safety net picks (new runs, retries that came due, changes made outside a try's end, the
periodic sweep), and :func:`queue_scheduled` to hand out the tries that waited for room. Each
works on a run whose row is locked first (a :class:`~conveyor.store.run_lock.LockedRun`), so two
tries of one run finishing at the same moment cannot both miss that a join is ready. What
may be queued is ``engine.admission``'s decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from conveyor.clock import utcnow
from conveyor.engine import admission, fail_fast, frontier
from conveyor.engine.kept import Handoff
from conveyor.engine.mapping import plan_mapped_run, ti_key
from conveyor.engine.planning import RunPlan, plan_run
from conveyor.engine.policy import Point, Rule, always, follow, register
from conveyor.engine.runs import end_run
from conveyor.lifecycle import NOT_A_RETRY, WAITING_FOR_TIME, Actor
from conveyor.serialized import SerializedDag
from conveyor.states import RunState, TaskState
from conveyor.stats import airflow as stats
from conveyor.store import (
    frontier_reads,
    plan_requests,
    pools,
    runs,
    scheduling,
    task_limits,
    transitions,
)
from conveyor.store.engine import Connection, after_commit
from conveyor.store.hop import run_lock, steps
from conveyor.store.hop.run_lock import LockedRun
from conveyor.store.runs import TiRow


@dataclass(frozen=True)
class QueuedTry(runs.QueuedKey):
    """A try handed to an executor: what a broker message carries, plus local hints."""

    timeout_seconds: float | None
    map_index: int = -1


def queued_tries(
    conn: Connection, *, run_pk: int | None = None, queued_before: datetime | None = None
) -> list[QueuedTry]:
    """Queued tries (of one run, or queued before a time), as executors take them."""
    return [
        _queued_try(
            runs.serialized_dag(conn, row.version_hash),
            QueuedTry(
                row.ti_id,
                row.try_number,
                row.queue,
                row.run_pk,
                row.dag_id,
                row.run_id,
                row.task_id,
                None,
                row.map_index,
            ),
        )
        for row in runs.queued_task_instances(conn, run_pk=run_pk, queued_before=queued_before)
    ]


def _queued_try(structure: SerializedDag, work: QueuedTry) -> QueuedTry:
    """``work`` with the time limit its task has in ``structure``."""
    timeout = structure.tasks[work.task_id].execution_timeout
    return replace(work, timeout_seconds=timeout.total_seconds() if timeout else None)


@dataclass
class Advance:
    queued: list[QueuedTry]
    run_state: RunState | None
    skipped: bool = False  # another writer held the run: nothing was done
    idle: bool = False  # the run was planned and nothing of it could move


@dataclass(frozen=True)
class Mover:
    """Who moves a run, and with what: ``parallelism`` caps the tries in flight (queued or
    running) across the store: the fast path queues only into the room left, and the
    scheduler loop hands out the rest as tries finish, so a wide fan-out never floods the
    executor or the broker. ``now``: the time the plan is made at. ``handoff``: what the
    transaction does with the tries it queues (publishes them, and may keep one; see
    ``engine.kept``); None: the caller hands out ``Advance.queued``."""

    actor: Actor
    parallelism: int | None = None
    now: datetime = field(default_factory=utcnow)
    handoff: Handoff | None = None


def advance_run(
    conn: Connection,
    run: LockedRun,
    actor: Actor,
    *,
    parallelism: int | None = None,
    now: datetime | None = None,
    read: runs.TasksAndRoom | None = None,
    handoff: Handoff | None = None,
) -> Advance:
    """Apply the plan for one running run, locked in this transaction, and queue what became
    ready (the fast path; see :class:`Mover` for the rest). ``read``: the run's task
    instances and room, when the caller read them under the lock."""
    mover = Mover(actor, parallelism, now or utcnow(), handoff)
    return _advance_and_queue(conn, run, mover, read, ended=True)


def plan_started_run(
    conn: Connection, run_pk: int, actor: Actor, *, parallelism: int | None
) -> Advance | None:
    """The first plan of a run the scheduler loop started in this transaction: what is ready
    is queued at once into the room left under ``parallelism`` (none -> queued in one move,
    as the fast path queues; the caller hands ``Advance.queued`` out), the rest scheduled.
    None if another writer holds the run."""
    run = run_lock.claim_run(conn, run_pk)
    if run is None:
        return None
    return _advance_and_queue(conn, run, Mover(actor, parallelism), None, ended=False)


def plan_whole_run(
    conn: Connection, run: LockedRun, actor: Actor, *, now: datetime | None = None
) -> Advance:
    """The scheduler loop's safety net: apply the plan for one running run, locked in this
    transaction, and leave what became ready scheduled for the loop to hand out."""
    mover = Mover(actor, None, now or utcnow())
    planned = _plan_whole(conn, run, mover, None, ended=False)
    if isinstance(planned, Advance):
        return planned
    tis, plan = planned.tis, planned.planned
    for task_id, reason in plan.to_schedule:
        ti = tis[task_id]
        transitions.schedule(conn, ti.id, TaskState.NONE, ti.try_number, reason, actor)
    moved = planned.retried or plan.to_schedule or plan.to_skip or plan.to_upstream_fail
    return Advance([], None, idle=not moved)


def lock_and_advance(
    conn: Connection, run_pk: int, actor: Actor, *, parallelism: int | None = None
) -> Advance:
    """:func:`advance_run` of run ``run_pk``, locked here: waits while another writer holds
    it."""
    return advance_run(conn, run_lock.lock_run(conn, run_pk), actor, parallelism=parallelism)


def plan_claimed_run(
    conn: Connection, run_pk: int, actor: Actor, *, now: datetime | None = None
) -> Advance | None:
    """:func:`plan_whole_run` of run ``run_pk`` if this call can claim it; None if another
    writer holds it (another scheduler, or a finishing try, which moves it on itself)."""
    run = run_lock.claim_run(conn, run_pk)
    return None if run is None else plan_whole_run(conn, run, actor, now=now)


def _advance_and_queue(
    conn: Connection, run: LockedRun, mover: Mover, read: runs.TasksAndRoom | None, *, ended: bool
) -> Advance:
    # The fast path: what queueing needs comes in the same round trip.
    if run.state is RunState.RUNNING and not run.dag_paused:
        read = read or runs.task_instances_and_room(conn, run.id)
    planned = _plan_whole(conn, run, mover, read, ended=ended)
    if isinstance(planned, Advance):
        return planned
    assert read is not None
    structure, tis, plan = planned.structure, planned.tis, planned.planned
    cap = None if mover.parallelism is None else mover.parallelism - read.busy
    reasons = dict(plan.to_schedule)
    waiting = [ti for ti in tis.values() if ti.state is TaskState.SCHEDULED]
    candidates = [*waiting, *(tis[task_id] for task_id in reasons)]
    if not candidates:
        return Advance([], None)
    room = admission.run_room(structure.max_active_tasks, tis.values(), cap)
    admitting = _Admitting(run, structure, reasons, read.limits, cap)
    return Advance(_queue_admitted(conn, admitting, candidates, room, mover), None)


@dataclass
class _Planning:
    """One run's whole plan being made and applied: what :data:`PLAN_WHOLE` reads, and
    what its rules found so far."""

    conn: Connection
    run: LockedRun
    mover: Mover
    #: A try of the run just ended (the fast path), or the scheduler plans it (its net).
    ended: bool
    structure: SerializedDag
    tis: dict[str, TiRow]
    #: The previous run's task states, for ``depends_on_past`` (read before the list).
    past: dict[str, TaskState] | None
    retried: int = 0
    plan: RunPlan | None = None
    #: The state the plan ended the run in, if it did.
    ended_in: RunState | None = None

    @property
    def planned(self) -> RunPlan:
        assert self.plan is not None, "a rule planned the run before"
        return self.plan


def _plan_whole(
    conn: Connection,
    run: LockedRun,
    mover: Mover,
    read: runs.TasksAndRoom | None,
    *,
    ended: bool,
) -> Advance | _Planning:
    """Plan the whole run and make the plan's moves but scheduling (:data:`PLAN_WHOLE`):
    its due retries, skips and upstream failures, and the run's end. An :class:`Advance`
    when nothing is left to schedule (the run is not running, paused, or ended now); else
    what scheduling needs."""
    if run.state is not RunState.RUNNING:
        return Advance([], run.state)
    if run.dag_paused:  # a paused DAG's running tries finish; nothing new starts
        return Advance([], None, idle=True)
    # The reads the rules plan with, under the run's lock.
    structure = runs.serialized_dag(conn, run.version_hash)
    rows = read.tis if read else runs.task_instances(conn, run.id)
    past = runs.previous_run_states(conn, run) if structure.any_depends_on_past else None
    tis = {ti_key(ti): ti for ti in rows}
    planning = follow(PLAN_WHOLE, _Planning(conn, run, mover, ended, structure, tis, past))
    if planning.ended_in is not None:
        return Advance([], planning.ended_in)
    return planning


def _schedule_due(p: _Planning) -> None:
    p.retried = _schedule_due_retries(p.conn, p.tis, p.mover.now, p.mover.actor)


def _fail_fast_after_an_end(p: _Planning) -> bool:
    return p.ended and p.structure.fail_fast


def _stop_others(p: _Planning) -> None:
    fail_fast.stop_others(p.conn, p.run, p.structure, p.tis, p.mover.actor)


def _mapped(p: _Planning) -> bool:
    return bool(p.structure.mapped)


def _unmapped(p: _Planning) -> bool:
    return not p.structure.mapped


def _plan_expanding(p: _Planning) -> None:
    # Expands mapped tasks; the plan's moves name instances.
    p.plan = plan_mapped_run(p.conn, p.run, p.structure, p.tis, p.past, p.mover.actor)


def _plan(p: _Planning) -> None:
    states = {task_id: ti.state for task_id, ti in p.tis.items()}
    p.plan = plan_run(p.structure, states, past_states=p.past, explain=False)


def _depends_on_past(p: _Planning) -> bool:
    return p.structure.any_depends_on_past


def _ask_next_run(p: _Planning) -> None:
    _ask_next_run_to_look(p.conn, p.run, p.planned, p.ended)


def _finish_what_cannot_run(p: _Planning) -> None:
    _finish_unrun(p.conn, p.planned, p.tis, p.mover.actor)


def _plan_ends_the_run(p: _Planning) -> bool:
    return p.planned.run_state is not None


def _end_the_run(p: _Planning) -> None:
    plan = p.planned
    assert plan.run_state is not None
    end_run(p.conn, p.run, p.structure, plan.run_state, plan.run_reason, p.mover.now)
    p.ended_in = plan.run_state


#: A run planned whole (:func:`advance_run`, :func:`plan_whole_run`), after the run's lock
#: and its reads, in order; what became ready is then queued, or left scheduled.
PLAN_WHOLE: tuple[Rule[_Planning], ...] = register(
    Point("progress.plan_whole", ("advances a running run",)),
    (
        Rule("schedule the retries that came due", always, _schedule_due),
        Rule("stop the others of a fail_fast run", _fail_fast_after_an_end, _stop_others),
        Rule("plan the run, expanding mapped tasks", _mapped, _plan_expanding),
        Rule("plan the run", _unmapped, _plan),
        Rule("ask the next run to look", _depends_on_past, _ask_next_run),
        Rule("skip, or fail upstream, what cannot run", always, _finish_what_cannot_run),
        Rule("end the run, as its plan says", _plan_ends_the_run, _end_the_run),
    ),
)  # fmt: skip


def advance_from_frontier(
    conn: Connection,
    run: LockedRun,
    structure: SerializedDag,
    finished: Mapping[str, TaskState],
    mover: Mover,
    read: tuple[frontier_reads.FrontierReads, frontier_reads.HopRead] | None = None,
) -> Advance:
    """The fast path for a DAG the frontier can plan (``frontier.plans_incrementally``): only
    what ``finished`` (task id -> the state it just reached) touches is read and planned,
    with the tries waiting for room and the retries that came due. Once nothing of the run is
    moving any more, the run is planned whole, once, to end it (or find it deadlocked).

    ``read``: the hop's read, when the caller made it already (with the finish, in one
    statement: ``steps.finish_and_read_hop``), bounded by :func:`waiting_bound`, at
    ``mover.now``."""
    if run.state is not RunState.RUNNING:
        return Advance([], run.state)
    if run.dag_paused:
        return Advance([], None)  # a paused DAG's running tries finish; nothing new starts
    reads, hop_read = read or _read_hop(conn, run, structure, finished, mover)
    due = {ti_key(ti): ti for ti in hop_read.due}
    _schedule_due_retries(conn, due, mover.now, mover.actor)  # moved ones come back scheduled
    plan = frontier.plan_after(structure, finished, reads)
    assert plan is not None, "the caller checked frontier.plans_incrementally"
    rows = reads.rows
    _finish_unrun(conn, plan, rows, mover.actor)
    reasons = dict(plan.to_schedule)
    fresh = [rows[task_id] for task_id in reasons]
    retried = [ti for ti in due.values() if ti.state is TaskState.SCHEDULED]
    waiting_ids = {w.id for w in hop_read.waiting}
    waiting = [*hop_read.waiting, *(ti for ti in retried if ti.id not in waiting_ids)]
    candidates = [*waiting, *fresh]
    room, cap = _frontier_room(conn, run, structure, hop_read, mover.parallelism)
    # Every candidate's row came with its pool's slots, unless a cascade read it afterwards.
    limits = hop_read.limits if all(ti.pool in hop_read.limits for ti in candidates) else None
    queued = []
    if (waiting or fresh) and (room > 0 or fresh):
        admitting = _Admitting(run, structure, reasons, limits, cap, _Elsewhere.of(hop_read))
        queued = _queue_admitted(conn, admitting, candidates, room, mover)
    if (
        not reasons
        and not queued
        and not hop_read.saw_the_run_moving()
        and not frontier_reads.anything_active(conn, run.id)
    ):
        return _advance_and_queue(conn, run, mover, None, ended=True)
    return Advance(queued, None)


def _read_hop(
    conn: Connection,
    run: LockedRun,
    structure: SerializedDag,
    finished: Mapping[str, TaskState],
    mover: Mover,
) -> tuple[frontier_reads.FrontierReads, frontier_reads.HopRead]:
    reads = frontier_reads.FrontierReads(conn, run.id)
    hop_read = reads.read_hop(
        frontier.first_reads(structure, finished),
        mover.now,
        waiting_bound(structure, mover.parallelism),
        sample=frontier.reaches_wide_fan_in(structure, finished),
    )
    return reads, hop_read


def _frontier_room(
    conn: Connection,
    run: LockedRun,
    structure: SerializedDag,
    hop_read: frontier_reads.HopRead,
    parallelism: int | None,
) -> tuple[int, int | None]:
    """How many more tries of the run may be in flight, in the run and across the store;
    and across the store alone (None: no ``parallelism``)."""
    in_flight_of_run = hop_read.in_flight_of_run
    if in_flight_of_run is None:  # no row came back to carry the counts
        in_flight_of_run = frontier_reads.in_flight_of_run(conn, run.id)
    room = structure.max_active_tasks - in_flight_of_run
    if parallelism is None:
        return room, None
    busy = hop_read.in_flight if hop_read.in_flight is not None else runs.in_flight(conn)
    return min(room, parallelism - busy), parallelism - busy


def waiting_bound(structure: SerializedDag, parallelism: int | None) -> int:
    """How many of a run's tries waiting for room a hop reads: as many as could be queued."""
    bound = structure.max_active_tasks
    return bound if parallelism is None else min(bound, parallelism)


def _ask_next_run_to_look(conn: Connection, run: LockedRun, plan: RunPlan, ended: bool) -> None:
    """``depends_on_past``: the next run's tasks wait on this run's, which just moved (a try
    ``ended``, or the plan ends some), so the scheduler plans that run whole next loop."""
    if ended or plan.to_skip or plan.to_upstream_fail or plan.run_state is not None:
        plan_requests.request_plan_of_next_run(conn, run)


def _finish_unrun(conn: Connection, plan: RunPlan, tis: Mapping[str, TiRow], actor: Actor) -> None:
    """The plan's skips and upstream failures: tasks that end without running."""
    for moves, state in (
        (plan.to_skip, TaskState.SKIPPED),
        (plan.to_upstream_fail, TaskState.UPSTREAM_FAILED),
    ):
        for task_id, reason in moves:
            ti = tis[task_id]
            transitions.finish_without_running(conn, ti.id, state, ti.try_number, reason, actor)


@dataclass(frozen=True)
class _Admitting:
    """A run's tries being admitted: the newly ready ones are named in ``reasons`` (task id
    -> why), ``limits`` are the pools' slots when read with the rows, ``cap`` the room
    left under ``parallelism`` (None: no limit), ``elsewhere`` what the hop's read saw of
    other runs' scheduled tries."""

    run: LockedRun
    structure: SerializedDag
    reasons: dict[str, str]
    limits: dict[str, int | None] | None
    cap: int | None = None
    elsewhere: _Elsewhere | None = None


@dataclass(frozen=True)
class _Elsewhere:
    """The highest priority of another run's scheduled try, as the hop's one read saw it
    (of any run and DAG: the engine asks again which of them run, only when one is higher
    than the candidates)."""

    highest: int | None

    @staticmethod
    def of(read: frontier_reads.HopRead) -> _Elsewhere | None:
        counted = read.in_flight is not None  # the counts come with every row read
        return _Elsewhere(read.scheduled_elsewhere) if counted else None


def _queue_admitted(
    conn: Connection, admitting: _Admitting, candidates: list[TiRow], room: int, mover: Mover
) -> list[QueuedTry]:
    """The fast path: admit ``candidates`` (scheduled ones waiting for room, and the newly
    ready ones) into ``room``, by priority; queue the admitted (newly ready ones in a single
    move), schedule the newly ready rest for the scheduler loop."""
    run, reasons = admitting.run, admitting.reasons
    elsewhere = _ahead_elsewhere(conn, admitting, candidates, room)
    admitted = _admit_into(
        conn, run, admitting.structure, candidates, room, admitting.limits, elsewhere
    )
    fresh = [ti for ti in admitted.now if ti_key(ti) in reasons]  # queued below in one move
    waiting_fits = [ti for ti in admitted.now if ti_key(ti) not in reasons]
    later = [  # fresh ones without room: scheduled below in one move
        steps.Ready(ti.id, ti.try_number, reasons[ti_key(ti)], ti.queue)
        for ti in admitted.later
        if ti_key(ti) in reasons
    ]
    # The tries as they will be queued; under the run's lock these moves do not lose (every
    # writer of a run takes it), and a receiver that comes early waits for that lock.
    planned = admission.by_priority(
        [*(replace(ti, try_number=ti.try_number + 1) for ti in fresh), *waiting_fits]
    )
    queued = [_queued_try_of(admitting.structure, run, ti) for ti in planned]
    handoff = mover.handoff
    kept = handoff.choose(queued) if handoff is not None and queued else None
    kept_id = None if kept is None else kept.ti_id
    fresh_ready = [steps.Ready(ti.id, ti.try_number, reasons[ti_key(ti)], ti.queue) for ti in fresh]
    waiting_ready = [steps.Ready(ti.id, ti.try_number, "", ti.queue) for ti in waiting_fits]
    actor = mover.actor
    steps.schedule_ready(conn, run, later, actor)
    moved = steps.queue_ready(conn, run, [r for r in fresh_ready if r.ti_id != kept_id], actor)
    moved |= steps.queue_waiting(conn, run, [r for r in waiting_ready if r.ti_id != kept_id], actor)
    if handoff is not None and kept is not None:
        by_state = ((TaskState.NONE, fresh_ready), (TaskState.SCHEDULED, waiting_ready))
        for from_state, readies in by_state:
            for ready in readies:
                if ready.ti_id == kept_id and handoff.start(conn, run, ready, from_state, actor):
                    moved.add(ready.ti_id)
    queued = [work for work in queued if work.ti_id in moved]
    _time_scheduled(conn, run, queued, fresh={ready.ti_id for ready in fresh_ready})
    return queued


def _time_scheduled(
    conn: Connection, run: LockedRun, queued: list[QueuedTry], fresh: set[int]
) -> None:
    """Airflow's ``task.scheduled_duration`` of each first try of ``queued``, sent once the
    transaction commits: a try queued the moment it was ready (``fresh``) spent no time
    scheduled; how long one that waited for room did is read."""
    if not queued or not stats.on():
        return
    waits = [(w.task_id, w.queue, 0.0) for w in queued if w.ti_id in fresh and w.try_number == 1]
    waits += scheduling.first_round_waits(conn, [w.ti_id for w in queued if w.ti_id not in fresh])
    if waits:
        after_commit(conn, lambda: stats.scheduled_durations(run.dag_id, waits))


def _ahead_elsewhere(
    conn: Connection, admitting: _Admitting, candidates: list[TiRow], room: int
) -> admission.AheadElsewhere | None:
    """Another run's scheduled try that the freed executor slot goes to before these
    candidates, when the slot is contested: read only when one slot is left under
    ``parallelism`` (the one the ending try freed). With more left before the end, tries of
    other runs still scheduled wait for something else (their pool, their run's room), or
    for the dispatch the scheduler makes as soon as a slot frees."""
    cap = admitting.cap
    if cap != 1 or room <= 0 or not candidates:
        return None
    lowest = min(ti.priority_weight for ti in candidates)
    seen = admitting.elsewhere
    if seen is not None and (seen.highest is None or seen.highest <= lowest):
        return None  # the hop's read saw no higher try in another run: nothing to ask
    run_pk = admitting.run.id
    highest = scheduling.highest_scheduled_elsewhere(conn, run_pk, lowest, looked=seen is not None)
    return None if highest is None else admission.AheadElsewhere(cap, [highest])


def queue_scheduled(
    conn: Connection, run_pk: int, actor: Actor, *, limit: int | None = None
) -> list[QueuedTry]:
    """The scheduler loop's dispatch of one run: scheduled -> queued, as admission lets them
    (``limit``: the executor's free slots). A run another writer holds is left to it.

    Only as many scheduled tries are read as could be queued, the first by priority; more
    only while some of those wait on a pool and room is left, so that a fan-out of 10,000
    costs a dispatch the same few rows as one of 200 and admission decides as over them all."""
    run = run_lock.claim_run(conn, run_pk)
    if run is None:
        return []
    structure = runs.serialized_dag(conn, run.version_hash)
    room = structure.max_active_tasks - frontier_reads.in_flight_of_run(conn, run.id)
    room = room if limit is None else min(room, limit)
    if room <= 0:
        return []
    wanted = room
    while True:
        ready = frontier_reads.waiting_for_room(conn, run.id, wanted)
        admitted = _admit_into(conn, run, structure, ready, room)
        if len(admitted.now) >= room or len(ready) < wanted:
            break  # room filled, or every scheduled try was a candidate
        wanted *= 4
    moved = steps.queue_waiting(
        conn, run, [steps.Ready(ti.id, ti.try_number, "", ti.queue) for ti in admitted.now], actor
    )
    queued = [_queued_try_of(structure, run, ti) for ti in admitted.now if ti.id in moved]
    _time_scheduled(conn, run, queued, fresh=set())
    return queued


def _admit_into(
    conn: Connection,
    run: LockedRun,
    structure: SerializedDag,
    candidates: list[TiRow],
    room: int,
    limits: dict[str, int | None] | None = None,
    elsewhere: admission.AheadElsewhere | None = None,
) -> admission.Admitted:
    """Admit ``candidates`` under the locks admission needs, in the order every queuer takes
    them after the run's: the tasks' own limits (``store.task_limits``), then the pools."""
    tasks = None
    if room > 0 and structure.task_limited:
        per_dag, per_run = admission.limited(structure, candidates)
        if per_dag or per_run:
            counts = task_limits.lock_task_limits(conn, run, per_dag, per_run)
            tasks = admission.TaskRoom(structure, counts)
    wanted = {ti.pool for ti in candidates} if room > 0 else set()
    pool_counts = pools.lock_pools(conn, wanted, run, limits=limits)
    return admission.admit(candidates, room, pool_counts, tasks, elsewhere)


def _queued_try_of(structure: SerializedDag, run: LockedRun, ti: TiRow) -> QueuedTry:
    return _queued_try(
        structure,
        QueuedTry(
            ti.id,
            ti.try_number,
            ti.queue,
            run.id,
            run.dag_id,
            run.run_id,
            ti.task_id,
            None,
            ti.map_index,
        ),
    )


def _schedule_due_retries(
    conn: Connection, tis: dict[str, TiRow], now: datetime, actor: Actor
) -> int:
    """Schedule the retries and pokes whose time came; how many."""
    scheduled = 0
    for task_id, ti in list(tis.items()):
        waiting = ti.state in WAITING_FOR_TIME
        if waiting and (ti.retry_at is None or ti.retry_at <= now):
            # Tries left, counted the same from dispatches as from tries (store/try_numbers.py).
            reason = f"retry delay elapsed; tries left: {ti.max_tries - ti.try_number}"
            if ti.state is TaskState.UP_FOR_RESCHEDULE:
                reason = "sensor poke interval elapsed; poking again"
            if transitions.schedule(conn, ti.id, ti.state, ti.try_number, reason, actor):
                tis[task_id] = _bumped(ti, TaskState.SCHEDULED)
                scheduled += 1
    return scheduled


def _bumped(ti: TiRow, state: TaskState) -> TiRow:
    """``ti`` as its move to ``state`` left it: its next dispatch numbered, and granted for
    itself when it continues a poke's try (``store/moves.py``)."""
    return replace(
        ti,
        state=state,
        try_number=ti.try_number + 1,
        max_tries=ti.max_tries + (ti.state in NOT_A_RETRY),
        retry_at=None,
    )
