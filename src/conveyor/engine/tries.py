"""A try ended: the one way its end is recorded and its run moved on, and its start.

Whoever learns that a try ended comes here: the try's own process with what happened
(:func:`try_ended`, from ``worker.runner``: a report of facts, ``engine.report``), or a
supervisor for a process that cannot report for itself (:func:`end_from_outside`: the local
executor for a child that died or ran past its timeout, the scheduler loop for a try whose
heartbeat stopped, the worker when a try cannot even start its log). The engine decides the
outcome (``report.decide``: success, up for retry, failed, ...) and makes the move; the try's
process never does. Each entry point locks the run's row first (or sends the lock in front of
the move), reads under that lock what its decision counts on, chooses the statement of its
move, then follows its list of rules (:data:`TRY_ENDED`, :data:`OUTSIDE_END`, drawn from
``engine.policy_table``) in the same transaction: the try's move is made (it loses, and
nothing after it that needs the move happens, if someone else ended the try meanwhile), and
the run is advanced, queueing what became ready (the fast path). A try's start
(:func:`start_try`) is the engine's move too, made by the process the try was sent to.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from conveyor.engine import frontier, try_spans
from conveyor.engine.kept import Handoff, Keeper, Publish
from conveyor.engine.own_report import (
    Ending,
    ReturnValue,
    TryEnd,
    TryResult,
    move_reading_hop,
    move_reading_run,
    move_sending_lock,
)
from conveyor.engine.policy import Rule, follow
from conveyor.engine.policy_table import OUTSIDE_END, TRY_ENDED
from conveyor.engine.report import Happened, Raised
from conveyor.engine.try_move import Finishing, lock_and_read
from conveyor.lifecycle import Actor, StartedTry
from conveyor.model.airflow_operators import airflow_operator_class
from conveyor.states import ExitKind, TaskState
from conveyor.stats import airflow as stats
from conveyor.stats import spans
from conveyor.store import runs, transitions
from conveyor.store.engine import Connection, Store, retrying
from conveyor.store.hop import steps

# What the try's process reports, and what recording it answers, are ``own_report``'s; named
# here too, where callers have always found them.
__all__ = [
    "OUTSIDE_END",
    "TRY_ENDED",
    "ReturnValue",
    "TryEnd",
    "TryResult",
    "end_from_outside",
    "heartbeat",
    "own_start",
    "record_parked",
    "start_try",
    "try_ended",
    "worker_actor",
]


def worker_actor(hostname: str | None = None) -> Actor:
    """Who records a try's end in the timeline: the worker of this process, on ``hostname``
    (this machine's name when not given)."""
    return Actor(f"worker@{hostname or socket.gethostname()}:{os.getpid()}")


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


def record_parked(
    store: Store,
    policy: Sequence[Rule[Finishing]],
    parked: TaskState,
    *,
    run_pk: int,
    ti_id: int,
    try_number: int,
    happened: Happened,
    actor: Actor,
    started_at: datetime | None,
    what: str,
) -> TryResult:
    """A running try's move to ``parked`` (deferred, awaiting input), as its own process
    reported it: the run locked, then ``policy``, in order, in one transaction, retried
    while the store is unreachable (``what`` names it in the log). ``TryResult.state`` is
    ``parked``, or None when another move (a timeout, a person) came first."""

    def record() -> TryResult:
        with store.write() as conn:
            parking = Finishing(
                conn=conn,
                actor=actor,
                run_pk=run_pk,
                ti_id=ti_id,
                try_number=try_number,
                happened=happened,
                started_at=started_at,
            )
            lock_and_read(parking)
            follow(policy, parking)
        if not parking.moved:
            return TryResult(started=True, state=None)
        return TryResult(started=True, state=parked)

    return retrying(record, what=what)


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
    transaction: the run locked and read (:func:`_ready`), then :data:`TRY_ENDED`, in order.
    Of the tries that became ready, ``keeper`` may start one (``TryResult.kept``);
    ``publish`` sends the others before the statements that queue them (see
    ``engine.kept``); without it the caller sends ``TryResult.queued``."""
    handoff = Handoff(keeper, publish) if keeper is not None or publish is not None else None
    ending = Ending(
        conn=conn,
        actor=actor,
        run_pk=end.run_pk,
        ti_id=end.ti_id,
        try_number=end.try_number,
        happened=end.happened,
        task_id=end.task_id,
        parallelism=parallelism,
        handoff=handoff,
        end=end,
    )
    _ready(ending)
    follow(TRY_ENDED, ending)
    return ending.result or TryResult(started=True, state=None)


def _ready(e: Ending) -> None:
    """Before :data:`TRY_ENDED`: the run's DAG read, the run locked, a failure's tries
    allowed read under that lock, and the statement that makes the move chosen.

    A try whose process knows the run's DAG version has its DAG read before the lock (a
    version never changes; each is read once per process, then cached); on a run the
    frontier plans, the lock then goes in front of the move, in one pipeline, unless the try
    failed: a failure's retry counts on the row read under the lock, so the lock comes first.
    """
    end = e.end
    if end.version_hash is not None:
        _read_dag(e, end.version_hash)
        if e.frontier and not isinstance(end.happened, Raised):
            e.statement = move_sending_lock
            return
    lock_and_read(e)
    if e.dag is None:
        _read_dag(e, e.locked.version_hash)
    e.statement = move_reading_hop if e.frontier else move_reading_run


def _read_dag(e: Ending, version_hash: str) -> None:
    e.dag = runs.serialized_dag(e.conn, version_hash)
    e.frontier = e.end.chosen is None and frontier.plans_incrementally(e.dag)


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
    the run locked and the try's tries allowed read under that lock, then
    :data:`OUTSIDE_END`, in order, in one transaction.

    Retries apply as if the task had raised; a try that ended meanwhile is left alone.
    """
    with store.read() as conn:
        owner = runs.try_owner(conn, ti_id)
        run = runs.get_run(conn, owner.run_pk)
        structure = runs.serialized_dag(conn, run.version_hash)
    task = structure.tasks[owner.task_id]
    span = try_spans.read(
        store,
        ti_id=ti_id,
        run_pk=owner.run_pk,
        dag_id=run.dag_id,
        run_id=run.run_id,
        task_id=owner.task_id,
        try_number=try_number - owner.resumptions,
    )
    with store.write() as conn:
        outside = Finishing(
            conn=conn,
            actor=actor,
            run_pk=owner.run_pk,
            ti_id=ti_id,
            try_number=try_number,
            happened=Raised(exit_kind, error),
            dag=structure,
            task_id=owner.task_id,
            parallelism=parallelism,
            expected=expected,
        )
        lock_and_read(outside)
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
