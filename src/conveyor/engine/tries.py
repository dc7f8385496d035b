"""A try ended: the one way its end is recorded and its run moved on.

Whoever learns that a try ended comes here: the try's own process with its outcome
(:func:`try_ended`, from ``worker.runner``), or a supervisor for a process that cannot report
for itself (:func:`end_from_outside`: the local executor for a child that died or ran past its
timeout, the scheduler loop for a try whose heartbeat stopped, the worker when a try cannot
even start its log). Either way, in one transaction: the run's row is locked first, the try's
move is made (it loses, and nothing more happens, if someone else ended the try meanwhile),
and the run is advanced, queueing what became ready (the fast path).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from conveyor.clock import utcnow
from conveyor.engine import frontier
from conveyor.engine.kept import Handoff, Keeper, KeptTry, Publish
from conveyor.engine.outlets import record_task_outlets
from conveyor.engine.planning import branch_skips, short_circuit_skips
from conveyor.engine.progress import (
    Advance,
    Mover,
    QueuedTry,
    advance_from_frontier,
    advance_run,
    waiting_bound,
)
from conveyor.lifecycle import Actor, Outcome
from conveyor.model.assets import Emitted
from conveyor.model.xcom_arg import RETURN_VALUE
from conveyor.serialized import SerializedDag
from conveyor.states import ExitKind, TaskState
from conveyor.store import frontier_reads, runs, transitions
from conveyor.store.engine import Connection, Store
from conveyor.store.hop import run_lock, steps
from conveyor.store.hop.run_lock import LockedRun
from conveyor.store.rendered import keep_map_index, keep_rendered
from conveyor.store.xcom import upsert_xcom


@dataclass
class TryResult:
    started: bool
    state: TaskState | None = None  # None: the try was not this caller's to end
    queued: list[QueuedTry] = field(default_factory=list)
    error: str | None = None
    #: The run as the recording transaction read it under its lock.
    run: runs.RunRow | None = None
    #: The try this process started in that transaction, to run next (``engine.kept``).
    kept: KeptTry | None = None


def worker_actor(hostname: str | None = None) -> Actor:
    """Who records a try's end in the timeline: the worker of this process, on ``hostname``
    (this machine's name when not given)."""
    return Actor(f"worker@{hostname or socket.gethostname()}:{os.getpid()}")


def failure_outcome(
    ti_try: int,
    max_tries: int,
    retry_delay: timedelta,
    exit_kind: ExitKind,
    error: str,
    *,
    fail_now: bool = False,
) -> Outcome:
    """up_for_retry while tries are left (and the task did not raise Fail), else failed."""
    if ti_try < max_tries and not fail_now:
        return Outcome(TaskState.UP_FOR_RETRY, exit_kind, error, retry_at=utcnow() + retry_delay)
    return Outcome(TaskState.FAILED, exit_kind, error)


@dataclass(frozen=True)
class ReturnValue:
    """A successful try's return value, kept as its XCom; ``shown``: what readers see
    instead when the value holds a secret (None: the value itself)."""

    value: Any
    shown: Any = None


@dataclass(frozen=True)
class TryEnd:
    """How a try ended, as its own process saw it."""

    ti_id: int
    try_number: int
    run_pk: int
    task_id: str
    outcome: Outcome
    started_at: datetime | None = None
    map_index: int = -1
    #: A branch's choice of downstream tasks; [] for a short circuit that said stop.
    chosen: list[str] | None = None
    #: A short circuit's skips: "direct" or "all" downstream tasks (teardowns left to run).
    short_circuit: str | None = None
    #: When the try's process decided the outcome: a retry's delay then counts from the
    #: recorded end, however long the transaction waited for the store's lock.
    decided_at: datetime | None = None
    #: The DAG version the run pinned, when the try's process knows it: the hop is then
    #: planned before the run's lock is taken, and sent with it (see below).
    version_hash: str | None = None
    #: Kept as the try's XCom if it succeeded; None keeps nothing.
    returned: ReturnValue | None = None
    #: What the try's ``outlet_events`` hold: its datasets' extras, events through aliases.
    emitted: Emitted | None = None
    #: The try's template fields as it rendered them (masked), kept with its end.
    rendered: dict[str, Any] | None = None
    #: Its task's map_index_template as the try rendered it (masked), kept with its end.
    rendered_map_index: str | None = None


def try_ended(
    conn: Connection,
    end: TryEnd,
    actor: Actor,
    *,
    parallelism: int | None,
    keeper: Keeper | None = None,
    publish: Publish | None = None,
) -> TryResult:
    """Record a try's end as its own process saw it and move the run on, in ``conn``'s
    transaction. On success its return value is kept, its dataset updates are recorded, and
    a branch's or short circuit's skips made. Of the tries that became ready, ``keeper`` may
    start one (``TryResult.kept``); ``publish`` sends the others before the statements that
    queue them (see ``engine.kept``); without it the caller sends ``TryResult.queued``."""
    handoff = Handoff(keeper, publish) if keeper is not None or publish is not None else None
    result = _record_end(conn, end, actor, parallelism, handoff)
    if end.rendered is not None:
        # Kept with the try's end, in the transaction that records it (after the run's lock,
        # as every write of the hop): no extra write per try; a try killed before it ends
        # keeps none.
        keep_rendered(conn, end.ti_id, end.try_number, end.rendered)
    if end.rendered_map_index is not None and result.state is not None:
        keep_map_index(conn, end.ti_id, end.rendered_map_index)
    return result


@dataclass(frozen=True)
class _Ending:
    """One try's end being recorded: what every step of :func:`try_ended` reads."""

    conn: Connection
    end: TryEnd
    outcome: Outcome
    structure: SerializedDag
    mover: Mover

    @property
    def on_frontier(self) -> bool:
        return _plans_on_frontier(self.end, self.structure)


def _plans_on_frontier(end: TryEnd, structure: SerializedDag) -> bool:
    """Whether the frontier plans the hop: it then reads only what the try touches."""
    return end.chosen is None and frontier.plans_incrementally(structure)


def _record_end(
    conn: Connection, end: TryEnd, actor: Actor, parallelism: int | None, handoff: Handoff | None
) -> TryResult:
    # The run's row first. The XCom insert takes a foreign-key share lock on that row; two
    # tries of a run ending at once would each hold it and deadlock on the row lock after.
    # A try whose process knows the run's DAG version plans its read before the lock, and a
    # run the frontier plans then sends the lock with the finish (run_lock.lock_run_then). The
    # version a run pinned never changes; each is read once per process, then cached.
    if end.version_hash is None:
        run = run_lock.lock_run(conn, end.run_pk)
        structure = runs.serialized_dag(conn, run.version_hash)
        ending = _ending(conn, end, _outcome_now(end), structure, actor, parallelism, handoff)
        return _finish_locked(ending, run)
    outcome = _outcome_now(end)
    structure = runs.serialized_dag(conn, end.version_hash)
    if not _plans_on_frontier(end, structure):
        run = run_lock.lock_run(conn, end.run_pk)
        ending = _ending(conn, end, outcome, structure, actor, parallelism, handoff)
        return _finish_locked(ending, run)
    ending = _ending(conn, end, outcome, structure, actor, parallelism, handoff)
    together = steps.finishes_in_one_statement(conn, outcome)
    run, found = run_lock.lock_run_then(
        conn, end.run_pk, _frontier_finish(ending), sent_together=together
    )
    return _advance_on_frontier(ending, run, found)


def _ending(
    conn: Connection,
    end: TryEnd,
    outcome: Outcome,
    structure: SerializedDag,
    actor: Actor,
    parallelism: int | None,
    handoff: Handoff | None,
) -> _Ending:
    # The hop's read time: after the outcome's and the run's lock, so a retry due now is due.
    return _Ending(conn, end, outcome, structure, Mover(actor, parallelism, utcnow(), handoff))


def _finish_locked(ending: _Ending, run: LockedRun) -> TryResult:
    """Finish the try and move its run on, the run locked in this transaction already. A
    run the frontier plans reads only what the try touches; the others read the whole run
    with the move (one statement on PostgreSQL), to plan it."""
    if ending.on_frontier:
        return _advance_on_frontier(ending, run, _frontier_finish(ending)(run))
    conn, end, outcome, mover = ending.conn, ending.end, ending.outcome, ending.mover
    read = steps.finish_and_read(conn, run, _finish(end, outcome, mover))
    if read is None:
        return TryResult(started=True, state=None)  # a timeout or a person got there first
    read = _on_success(conn, run, end, outcome, read, mover.actor)
    advance = advance_run(
        conn, run, mover.actor, parallelism=mover.parallelism, read=read, handoff=mover.handoff
    )
    return _result(run, outcome, advance, mover.handoff)


_HopRead = tuple[frontier_reads.FrontierReads, frontier_reads.HopRead]


def _frontier_finish(ending: _Ending) -> Callable[[run_lock.RunLock], _HopRead | None]:
    """Finish the try and read what its hop plans with (one statement on PostgreSQL), given
    the run's lock: held, or sent in front in the same pipeline. None if the try was no
    longer this caller's to end."""
    conn, end, outcome, mover = ending.conn, ending.end, ending.outcome, ending.mover
    reads = frontier_reads.FrontierReads(conn, end.run_pk)
    finished = {end.task_id: outcome.state}

    def finish(lock: run_lock.RunLock) -> _HopRead | None:
        found = steps.finish_and_read_hop(
            conn,
            lock,
            reads,
            _finish(end, outcome, mover),
            task_ids=frontier.first_reads(ending.structure, finished),
            waiting_bound=waiting_bound(ending.structure, mover.parallelism),
            sample=frontier.reaches_wide_fan_in(ending.structure, finished),
            now=mover.now,
        )
        return None if found is None else (reads, found)

    return finish


def _advance_on_frontier(ending: _Ending, run: LockedRun, found: _HopRead | None) -> TryResult:
    """After the finish on a run the frontier plans: the success's writes, then the hop."""
    if found is None:
        return TryResult(started=True, state=None)  # a timeout or a person got there first
    conn, end, outcome, mover = ending.conn, ending.end, ending.outcome, ending.mover
    _on_success(conn, run, end, outcome, None, mover.actor)
    finished = {end.task_id: outcome.state}
    advance = advance_from_frontier(conn, run, ending.structure, finished, mover, read=found)
    return _result(run, outcome, advance, mover.handoff)


def _finish(end: TryEnd, outcome: Outcome, mover: Mover) -> steps.Finish:
    return steps.Finish(end.ti_id, end.try_number, outcome, mover.actor, end.started_at)


def _outcome_now(end: TryEnd) -> Outcome:
    """The outcome to record: a retry's delay counts from the end recorded now, not from
    the wait for the lock."""
    outcome = end.outcome
    if outcome.state is TaskState.UP_FOR_RETRY and outcome.retry_at and end.decided_at:
        outcome = replace(outcome, retry_at=outcome.retry_at + (utcnow() - end.decided_at))
    return outcome


def _on_success(
    conn: Connection,
    run: LockedRun,
    end: TryEnd,
    outcome: Outcome,
    read: runs.TasksAndRoom | None,
    actor: Actor,
) -> runs.TasksAndRoom | None:
    """A successful try's return value and dataset updates, and a branch's or short
    circuit's skips; the whole run's ``read``, None once the skips made it stale."""
    if outcome.state is not TaskState.SUCCESS:
        return read
    if end.returned is not None:
        returned = end.returned
        upsert_xcom(
            conn,
            end.run_pk,
            end.task_id,
            RETURN_VALUE,
            returned.value,
            end.map_index,
            shown=returned.shown,
        )
    record_task_outlets(conn, run, end.task_id, end.map_index, end.emitted)
    if end.chosen is not None and read is not None:
        _skip_unchosen(conn, run, end, read, actor)
        return None  # the skips changed task instances: read them again
    return read


def _result(
    run: LockedRun, outcome: Outcome, advance: Advance, handoff: Handoff | None
) -> TryResult:
    """The try's result: what its hop queued for others, and the try it kept, if any."""
    started = None if handoff is None else handoff.started
    if started is None:
        return TryResult(True, outcome.state, advance.queued, outcome.error, run)
    queued = [work for work in advance.queued if work.ti_id != started[0].ti_id]
    kept = KeptTry(started[0], run, started[1])
    return TryResult(True, outcome.state, queued, outcome.error, run, kept)


def end_from_outside(
    store: Store,
    ti_id: int,
    try_number: int,
    exit_kind: ExitKind,
    error: str,
    actor: Actor,
    *,
    parallelism: int | None,
    expected: Sequence[TaskState] = (TaskState.RUNNING,),
) -> TryResult:
    """Fail a try whose process cannot report for itself (timeout, crash, lost heartbeat).

    Retries apply as if the task had raised; a try that ended meanwhile is left alone.
    """
    with store.read() as conn:
        owner = runs.try_owner(conn, ti_id)
        run = runs.get_run(conn, owner.run_pk)
        task = runs.serialized_dag(conn, run.version_hash).tasks[owner.task_id]
    outcome = failure_outcome(
        try_number, owner.max_tries, task.retry_delay_for(try_number), exit_kind, error
    )
    with store.write() as conn:
        locked = run_lock.lock_run(conn, owner.run_pk)
        if not transitions.finish(
            conn, locked, ti_id, try_number, outcome, actor, expected=expected
        ):
            return TryResult(started=True, state=None)
        advance = advance_run(conn, locked, actor, parallelism=parallelism)
    return TryResult(started=True, state=outcome.state, queued=advance.queued, error=error)


def _skip_unchosen(
    conn: Connection, run: LockedRun, end: TryEnd, read: runs.TasksAndRoom, actor: Actor
) -> None:
    """The downstream tasks a branch did not choose, or a short circuit cut off: skipped."""
    structure = runs.serialized_dag(conn, run.version_hash)
    tis = {ti.task_id: ti for ti in read.tis}
    if end.short_circuit is not None:
        found = short_circuit_skips(structure, end.task_id, every=end.short_circuit == "all")
        reason = f"{end.task_id!r} short-circuited"
    else:
        found = branch_skips(structure, end.task_id, end.chosen or [])
        reason = f"branch {end.task_id!r} chose {end.chosen}"
    for skipped in found:
        ti = tis.get(skipped)
        if ti is None:
            continue  # not made yet (a mapped task): trigger rules skip it when it is
        transitions.finish_without_running(
            conn, ti.id, TaskState.SKIPPED, ti.try_number, reason, actor
        )
