"""A try ended: the one way its end is recorded and its run moved on, and its start.

Whoever learns that a try ended comes here: the try's own process with what happened
(:func:`try_ended`, from ``worker.runner``: a report of facts, ``engine.report``), or a
supervisor for a process that cannot report for itself (:func:`end_from_outside`: the local
executor for a child that died or ran past its timeout, the scheduler loop for a try whose
heartbeat stopped, the worker when a try cannot even start its log). The engine decides the
outcome (``report.decide``: success, up for retry, failed, ...) and makes the move; the try's
process never does. What each entry point does is one ordered list of rules
(:data:`TRY_ENDED`, :data:`OUTSIDE_END`; ``engine.policy``), followed in one transaction: the
run's row is locked first, the try's move is made (it loses, and nothing after it that needs
the move happens, if someone else ended the try meanwhile), and the run is advanced,
queueing what became ready (the fast path). A try's start (:func:`start_try`) is the
engine's move too, made by the process the try was sent to.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conveyor.clock import utcnow
from conveyor.engine import frontier, try_spans
from conveyor.engine.kept import Handoff, Keeper, KeptTry, Publish
from conveyor.engine.outlets import record_task_outlets
from conveyor.engine.planning import branch_skips, short_circuit_skips
from conveyor.engine.policy import Rule, always, follow
from conveyor.engine.progress import (
    Advance,
    Mover,
    QueuedTry,
    advance_from_frontier,
    advance_run,
    waiting_bound,
)
from conveyor.engine.report import Happened, Raised, decide
from conveyor.lifecycle import Actor, Outcome, StartedTry
from conveyor.model.airflow_operators import airflow_operator_class
from conveyor.model.assets import Emitted
from conveyor.model.xcom_arg import RETURN_VALUE
from conveyor.serialized import SerializedDag
from conveyor.states import ExitKind, TaskState
from conveyor.stats import airflow as stats
from conveyor.stats import spans
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
    #: The runner's ``recorded`` hook was given this result already (before the listeners).
    reported: bool = False


def worker_actor(hostname: str | None = None) -> Actor:
    """Who records a try's end in the timeline: the worker of this process, on ``hostname``
    (this machine's name when not given)."""
    return Actor(f"worker@{hostname or socket.gethostname()}:{os.getpid()}")


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
    #: What happened, as the try's process saw it; the engine decides the outcome.
    happened: Happened
    #: How many tries the task instance had when this one started (its retries and one).
    max_tries: int
    started_at: datetime | None = None
    map_index: int = -1
    #: A branch's choice of downstream tasks; [] for a short circuit that said stop.
    chosen: list[str] | None = None
    #: A short circuit's skips: "direct" or "all" downstream tasks (teardowns left to run).
    short_circuit: str | None = None
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
    #: The dispatches before it that continued their try (``StartedTry.resumptions``): the
    #: try people see, which a retry's exponential backoff counts, is try_number - this.
    resumptions: int = 0


def start_try(
    conn: Connection,
    ti_id: int,
    try_number: int,
    *,
    hostname: str,
    pid: int,
    actor: Actor,
    log_path: Callable[[StartedTry], str | None],
) -> tuple[StartedTry, runs.RunRow] | None:
    """The start of a try its process was sent: ``queued -> running``, with the run read in
    the same statement; None if the try was not this process's to start (a duplicate
    message, or started elsewhere). ``log_path``: the try's log file, named once its names
    are known."""
    return steps.start_and_read(
        conn, ti_id, try_number, hostname=hostname, pid=pid, actor=actor, log_path=log_path
    )


def own_start(
    conn: Connection, ti_id: int, try_number: int, *, hostname: str, pid: int
) -> tuple[StartedTry, runs.RunRow] | None:
    """After a start whose answer was lost: the try, if it runs as this process's (the
    lost answer's commit went through), and its run; else None (``steps.own_start``)."""
    return steps.own_start(conn, ti_id, try_number, hostname=hostname, pid=pid)


def heartbeat(
    conn: Connection, ti_ids: list[int], hostname: str = "", pids: Iterable[int] = ()
) -> list[int]:
    """Refresh the heartbeat of the running tries a process supervises (no move: the try
    stays running); their task instance ids (``transitions.heartbeat``)."""
    return transitions.heartbeat(conn, ti_ids, hostname, pids)


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
    transaction: :data:`TRY_ENDED`, in order. Of the tries that became ready, ``keeper`` may
    start one (``TryResult.kept``); ``publish`` sends the others before the statements that
    queue them (see ``engine.kept``); without it the caller sends ``TryResult.queued``."""
    handoff = Handoff(keeper, publish) if keeper is not None or publish is not None else None
    ending = follow(TRY_ENDED, _Ending(conn, end, actor, parallelism, handoff))
    return ending.result or TryResult(started=True, state=None)


_HopRead = tuple[frontier_reads.FrontierReads, frontier_reads.HopRead]


@dataclass
class _Ending:
    """One try's end being recorded: what the rules of :data:`TRY_ENDED` read, and what
    they found so far."""

    conn: Connection
    end: TryEnd
    actor: Actor
    parallelism: int | None
    handoff: Handoff | None
    #: The DAG version the run pinned, parsed.
    structure: SerializedDag | None = None
    #: Whether the frontier plans the hop (it then reads only what the try touches), known
    #: with the DAG.
    frontier: bool | None = None
    #: The run, locked in this transaction.
    run: LockedRun | None = None
    outcome: Outcome | None = None
    mover: Mover | None = None
    #: Whether the try's move won (else a timeout or a person ended it first).
    moved: bool = False
    #: The whole run as the move read it (a run the frontier does not plan); None once a
    #: branch's skips made it stale.
    read: runs.TasksAndRoom | None = None
    #: What the hop plans with (a run the frontier plans), read with the move.
    hop: _HopRead | None = None
    advance: Advance | None = None
    result: TryResult | None = None

    @property
    def dag(self) -> SerializedDag:
        assert self.structure is not None, "a rule read the DAG before"
        return self.structure

    @property
    def locked(self) -> LockedRun:
        assert self.run is not None, "a rule locked the run before"
        return self.run

    @property
    def decided(self) -> Outcome:
        assert self.outcome is not None, "a rule decided the outcome before"
        return self.outcome

    @property
    def moving(self) -> Mover:
        assert self.mover is not None, "a rule decided the outcome before"
        return self.mover

    @property
    def on_frontier(self) -> bool:
        assert self.frontier is not None, "a rule read the DAG before"
        return self.frontier

    @property
    def finished(self) -> dict[str, TaskState]:
        return {self.end.task_id: self.decided.state}


# -- when each rule of TRY_ENDED applies ---------------------------------------------------


def _version_known(e: _Ending) -> bool:
    """The try's process knows the run's DAG version: its hop is planned before the lock."""
    return e.end.version_hash is not None


def _sends_lock(e: _Ending) -> bool:
    """The run's lock goes in front of the move, in one pipeline (``run_lock.lock_run_then``):
    the version is known and the frontier plans the run."""
    return _version_known(e) and e.on_frontier


def _locks_first(e: _Ending) -> bool:
    return not _sends_lock(e)


def _dag_unread(e: _Ending) -> bool:
    return e.structure is None


def _moves_on_held_lock_reading_hop(e: _Ending) -> bool:
    return not _sends_lock(e) and e.on_frontier


def _moves_reading_run(e: _Ending) -> bool:
    return not e.on_frontier


def _succeeded(e: _Ending) -> bool:
    return e.moved and e.decided.state is TaskState.SUCCESS


def _succeeded_with_value(e: _Ending) -> bool:
    return _succeeded(e) and e.end.returned is not None


def _branched(e: _Ending) -> bool:
    """A branch or short circuit succeeded; its skips are made with the whole run read."""
    return _succeeded(e) and e.end.chosen is not None and e.read is not None


def _moved(e: _Ending) -> bool:
    return e.moved


def _moved_on_frontier(e: _Ending) -> bool:
    return e.moved and e.on_frontier


def _moved_whole(e: _Ending) -> bool:
    return e.moved and not e.on_frontier


def _rendered(e: _Ending) -> bool:
    # Kept even when the move lost: what the try rendered is true of it either way.
    return e.end.rendered is not None


def _moved_with_label(e: _Ending) -> bool:
    return e.moved and e.end.rendered_map_index is not None


# -- what each rule of TRY_ENDED does ------------------------------------------------------


def _read_dag(e: _Ending) -> None:
    # The version a run pinned never changes; each is read once per process, then cached.
    version = e.end.version_hash if e.end.version_hash is not None else e.locked.version_hash
    e.structure = runs.serialized_dag(e.conn, version)
    e.frontier = e.end.chosen is None and frontier.plans_incrementally(e.structure)


def _lock_run(e: _Ending) -> None:
    # The run's row first. The XCom insert takes a foreign-key share lock on that row; two
    # tries of a run ending at once would each hold it and deadlock on the row lock after.
    e.run = run_lock.lock_run(e.conn, e.end.run_pk)


def _decide(e: _Ending) -> None:
    end = e.end
    delay = timedelta(0)
    if isinstance(end.happened, Raised):  # only a failure may wait for a retry
        delay = e.dag.tasks[end.task_id].retry_delay_for(end.try_number - end.resumptions)
    # A retry's delay counts from now, the end being recorded, and the hop's read time is
    # after the outcome's (and after the run's lock, unless the lock goes with the move),
    # so a retry due now is due.
    e.outcome = decide(end.happened, end.try_number, end.max_tries, delay)
    e.mover = Mover(e.actor, e.parallelism, utcnow(), e.handoff)


def _move_sending_lock(e: _Ending) -> None:
    together = steps.finishes_in_one_statement(e.conn, e.decided)
    e.run, e.hop = run_lock.lock_run_then(
        e.conn, e.end.run_pk, _frontier_finish(e), sent_together=together
    )
    e.moved = e.hop is not None


def _move_reading_hop(e: _Ending) -> None:
    e.hop = _frontier_finish(e)(e.locked)
    e.moved = e.hop is not None


def _move_reading_run(e: _Ending) -> None:
    # The whole run comes with the move (one statement on PostgreSQL), to plan it.
    e.read = steps.finish_and_read(e.conn, e.locked, _finish(e))
    e.moved = e.read is not None


def _keep_return_value(e: _Ending) -> None:
    end = e.end
    assert end.returned is not None
    upsert_xcom(
        e.conn,
        end.run_pk,
        end.task_id,
        RETURN_VALUE,
        end.returned.value,
        end.map_index,
        shown=end.returned.shown,
    )


def _record_outlets(e: _Ending) -> None:
    record_task_outlets(e.conn, e.locked, e.end.task_id, e.end.map_index, e.end.emitted)


def _skip_what_was_not_chosen(e: _Ending) -> None:
    assert e.read is not None
    _skip_unchosen(e.conn, e.locked, e.end, e.read, e.actor)
    e.read = None  # the skips changed task instances: the advance reads them again


def _advance_on_frontier(e: _Ending) -> None:
    e.advance = advance_from_frontier(e.conn, e.locked, e.dag, e.finished, e.moving, read=e.hop)


def _advance_whole(e: _Ending) -> None:
    e.advance = advance_run(
        e.conn, e.locked, e.actor, parallelism=e.parallelism, read=e.read, handoff=e.handoff
    )


def _hand_off(e: _Ending) -> None:
    """The try's result: what its hop queued for others, and the try it kept, if any."""
    outcome, run = e.decided, e.locked
    assert e.advance is not None
    queued = e.advance.queued
    started = None if e.handoff is None else e.handoff.started
    if started is None:
        e.result = TryResult(True, outcome.state, queued, outcome.error, run)
        return
    queued = [work for work in queued if work.ti_id != started[0].ti_id]
    kept = KeptTry(started[0], run, started[1])
    e.result = TryResult(True, outcome.state, queued, outcome.error, run, kept)


def _keep_rendered(e: _Ending) -> None:
    # Kept with the try's end, in the transaction that records it (after the run's lock, as
    # every write of the hop): no extra write per try; a try killed before it ends keeps none.
    assert e.end.rendered is not None
    keep_rendered(e.conn, e.end.ti_id, e.end.try_number, e.end.rendered)


def _keep_map_index(e: _Ending) -> None:
    assert e.end.rendered_map_index is not None
    keep_map_index(e.conn, e.end.ti_id, e.end.rendered_map_index)


#: A try's end as its own process reported it (:func:`try_ended`), in order. The run's lock
#: is taken before any write; a try whose process knows the run's DAG version plans its read
#: before the lock, and on a run the frontier plans sends the lock with the move.
TRY_ENDED: tuple[Rule[_Ending], ...] = (
    Rule("read the run's DAG, before its lock", _version_known, _read_dag),
    Rule("lock the run", _locks_first, _lock_run),
    Rule("read the run's DAG, under its lock", _dag_unread, _read_dag),
    Rule("decide the outcome", always, _decide),
    Rule("make the move, the run's lock sent in front", _sends_lock, _move_sending_lock),
    Rule("make the move, reading the hop", _moves_on_held_lock_reading_hop, _move_reading_hop),
    Rule("make the move, reading the whole run", _moves_reading_run, _move_reading_run),
    Rule("keep the return value", _succeeded_with_value, _keep_return_value),
    Rule("record outlets", _succeeded, _record_outlets),
    Rule("skip what was not chosen", _branched, _skip_what_was_not_chosen),
    Rule("advance the run from its frontier", _moved_on_frontier, _advance_on_frontier),
    Rule("advance the whole run", _moved_whole, _advance_whole),
    Rule("hand off what the hop queued", _moved, _hand_off),
    Rule("keep rendered fields", _rendered, _keep_rendered),
    Rule("keep the map index label", _moved_with_label, _keep_map_index),
)


def _frontier_finish(e: _Ending) -> Callable[[run_lock.RunLock], _HopRead | None]:
    """Finish the try and read what its hop plans with (one statement on PostgreSQL), given
    the run's lock: held, or sent in front in the same pipeline. None if the try was no
    longer this caller's to end."""
    conn, end, mover, structure = e.conn, e.end, e.moving, e.dag
    reads = frontier_reads.FrontierReads(conn, end.run_pk)
    finished = e.finished
    finish_move = _finish(e)

    def finish(lock: run_lock.RunLock) -> _HopRead | None:
        found = steps.finish_and_read_hop(
            conn,
            lock,
            reads,
            finish_move,
            task_ids=frontier.first_reads(structure, finished),
            waiting_bound=waiting_bound(structure, mover.parallelism),
            sample=frontier.reaches_wide_fan_in(structure, finished),
            now=mover.now,
        )
        return None if found is None else (reads, found)

    return finish


def _finish(e: _Ending) -> steps.Finish:
    end = e.end
    return steps.Finish(end.ti_id, end.try_number, e.decided, e.actor, end.started_at)


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
    """Fail a try whose process cannot report for itself (timeout, crash, lost heartbeat):
    :data:`OUTSIDE_END`, in order, in one transaction after a read of the try's task.

    Retries apply as if the task had raised; a try that ended meanwhile is left alone.
    """
    with store.read() as conn:
        owner = runs.try_owner(conn, ti_id)
        run = runs.get_run(conn, owner.run_pk)
        task = runs.serialized_dag(conn, run.version_hash).tasks[owner.task_id]
    span = try_spans.read(
        store,
        ti_id=ti_id,
        run_pk=owner.run_pk,
        dag_id=run.dag_id,
        run_id=run.run_id,
        task_id=owner.task_id,
        try_number=try_number - owner.resumptions,
    )
    happened = Raised(exit_kind, error)
    with store.write() as conn:
        outside = _OutsideEnd(
            conn,
            owner.run_pk,
            ti_id,
            try_number,
            happened,
            owner.max_tries,
            task.retry_delay_for(try_number - owner.resumptions),
            actor,
            parallelism,
            expected,
        )
        follow(OUTSIDE_END, outside)
    if not outside.moved:
        return TryResult(started=True, state=None)
    assert outside.outcome is not None and outside.advance is not None
    # Airflow's ti.finish and failure counts, which the try's own process could not send.
    operator = airflow_operator_class(task.decorated_as, task.operator_name)
    stats.ti_finished(run.dag_id, owner.task_id, outside.outcome.state.value, operator, None)
    if span is not None:  # the span its own process would have made at its end
        spans.try_ended(span, outside.outcome.state.value)
    return TryResult(
        started=True, state=outside.outcome.state, queued=outside.advance.queued, error=error
    )


@dataclass
class _OutsideEnd:
    """A try ended from outside, being recorded: what :data:`OUTSIDE_END` reads."""

    conn: Connection
    run_pk: int
    ti_id: int
    try_number: int
    happened: Raised
    max_tries: int
    retry_delay: timedelta
    actor: Actor
    parallelism: int | None
    expected: Sequence[TaskState]
    outcome: Outcome | None = None
    run: LockedRun | None = None
    moved: bool = False
    advance: Advance | None = None


def _decide_outside(o: _OutsideEnd) -> None:
    o.outcome = decide(o.happened, o.try_number, o.max_tries, o.retry_delay)


def _lock_outside(o: _OutsideEnd) -> None:
    o.run = run_lock.lock_run(o.conn, o.run_pk)


def _move_outside(o: _OutsideEnd) -> None:
    assert o.run is not None and o.outcome is not None
    o.moved = bool(
        transitions.finish(
            o.conn, o.run, o.ti_id, o.try_number, o.outcome, o.actor, expected=o.expected
        )
    )


def _outside_moved(o: _OutsideEnd) -> bool:
    return o.moved


def _advance_outside(o: _OutsideEnd) -> None:
    assert o.run is not None
    o.advance = advance_run(o.conn, o.run, o.actor, parallelism=o.parallelism)


#: A try ended from outside (:func:`end_from_outside`), in order.
OUTSIDE_END: tuple[Rule[_OutsideEnd], ...] = (
    Rule("decide the outcome", always, _decide_outside),
    Rule("lock the run", always, _lock_outside),
    Rule("make the move", always, _move_outside),
    Rule("advance the whole run", _outside_moved, _advance_outside),
)


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
