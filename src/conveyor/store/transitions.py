"""The one module that says how task instance and run state moves.

Every move is a single conditional UPDATE: ``WHERE id = :id AND state IN (:expected)
AND try_number = :try``, and the row count says whether we won. Zero rows means another
process moved the row first (a duplicated broker message, a second scheduler, a retried
request, a timeout racing a finishing task): that is not an error, the loser does nothing.
There is no read-modify-write of state in Python anywhere. :mod:`conveyor.store.hop` sends
a hop's moves folded into fewer statements on PostgreSQL, with the same guards and timeline
entries; nothing else writes state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from conveyor.clock import utcnow
from conveyor.states import RunState, TaskState
from conveyor.store.sql import insert_later
from conveyor.store.tables import (
    dag_run,
    task_event,
    task_instance,
    task_try,
    xcom,
)

log = logging.getLogger(__name__)

S = TaskState

#: Every move the engine makes, and why it exists. A move not listed here is refused.
TASK_MOVES: Mapping[tuple[TaskState, TaskState], str] = {
    (S.NONE, S.SCHEDULED): "upstream allows it; try_number is bumped here, once per try",
    (S.UP_FOR_RETRY, S.SCHEDULED): "retry delay elapsed; the next try is numbered here",
    (S.NONE, S.SKIPPED): "a branch chose another path or the trigger rule says skip",
    (S.NONE, S.UPSTREAM_FAILED): "an upstream failure means this task cannot run",
    (S.SCHEDULED, S.QUEUED): "handed to an executor; only one scheduler can hand it over",
    (S.NONE, S.QUEUED): "the fast path: ready with room to run, scheduled and queued at once",
    (S.QUEUED, S.RUNNING): "exactly one process starts a try; duplicates lose here",
    (S.RUNNING, S.SUCCESS): "the try returned",
    (S.RUNNING, S.FAILED): "the try failed with no tries left, or raised Fail",
    (S.RUNNING, S.UP_FOR_RETRY): "the try failed with tries left",
    (S.RUNNING, S.SKIPPED): "the task raised Skip",
    (S.QUEUED, S.FAILED): "the try could not start (its DAG or task vanished)",
    (S.QUEUED, S.UP_FOR_RETRY): "the try could not start, with tries left",
    (S.RUNNING, S.UP_FOR_RESCHEDULE): "a sensor in reschedule mode poked; it frees its slot",
    (S.UP_FOR_RESCHEDULE, S.SCHEDULED): "the poke interval elapsed; the next poke is numbered",
}
#: Moves a person may make from the CLI, UI or API, from any state.
MANUAL_TARGETS = frozenset({S.NONE, S.SUCCESS, S.FAILED})

RUN_MOVES: Mapping[tuple[RunState, RunState], str] = {
    (RunState.QUEUED, RunState.RUNNING): "max_active_runs leaves room",
    (RunState.RUNNING, RunState.SUCCESS): "every leaf succeeded or was skipped",
    (RunState.RUNNING, RunState.FAILED): "a leaf failed, or nothing can move any more",
    (RunState.QUEUED, RunState.FAILED): "the run was failed by hand before it started",
    (RunState.SUCCESS, RunState.QUEUED): "a person cleared or marked a task: the run goes on",
    (RunState.FAILED, RunState.QUEUED): "a person cleared or marked a task: the run goes on",
}


class IllegalMove(AssertionError):
    """The engine asked for a move that is not in TASK_MOVES: a bug, never a race."""


@dataclass(frozen=True)
class Actor:
    """Who made a move, for the timeline: ``scheduler@host``, ``worker@host:pid``, ``user:x``."""

    name: str


def check_move(expected: Iterable[TaskState], to: TaskState) -> None:
    for start in expected:
        if (start, to) not in TASK_MOVES:
            raise IllegalMove(f"task state move {start} -> {to} is not allowed")


#: Every guarded move is one of these two statements, built once: building an UPDATE costs
#: more than sending it on these machines, and a hop makes several moves. The columns to
#: set come as parameters named after them.
_MOVE = update(task_instance).where(
    task_instance.c.id == bindparam("move_id"),
    task_instance.c.state.in_(bindparam("move_from", expanding=True)),
)
_MOVE_TRY = _MOVE.where(task_instance.c.try_number == bindparam("move_try"))


def move_task(
    conn: Connection,
    ti_id: int,
    *,
    expected: Iterable[TaskState],
    to: TaskState,
    try_number: int | None,
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Guarded move of one task instance; True if this call won.

    ``values``: further columns to set, as plain values (a column set from itself, like
    ``max_tries``, has its own statement: see :func:`_grant_one_more_try`).
    """
    expected = list(expected)
    check_move(expected, to)
    params: dict[str, Any] = {
        "state": to.value,
        "updated_at": utcnow(),
        **(values or {}),
        "move_id": ti_id,
        "move_from": [s.value for s in expected],
    }
    if try_number is None:
        won = conn.execute(_MOVE, params).rowcount == 1
    else:
        won = conn.execute(_MOVE_TRY, {**params, "move_try": try_number}).rowcount == 1
    if not won and log.isEnabledFor(logging.DEBUG):
        found = conn.execute(
            select(task_instance.c.state, task_instance.c.try_number).where(
                task_instance.c.id == ti_id
            )
        ).first()
        log.debug(
            "lost race on task instance %s: expected %s try %s -> %s, found %s",
            ti_id,
            [s.value for s in expected],
            try_number,
            to.value,
            found,
        )
    return won


def move_run(
    conn: Connection,
    run_pk: int,
    *,
    expected: Iterable[RunState],
    to: RunState,
    values: Mapping[str, Any] | None = None,
) -> bool:
    expected = list(expected)
    for start in expected:
        if (start, to) not in RUN_MOVES:
            raise IllegalMove(f"run state move {start} -> {to} is not allowed")
    stmt = (
        update(dag_run)
        .where(dag_run.c.id == run_pk)
        .where(dag_run.c.state.in_([s.value for s in expected]))
        .values(state=to.value, **dict(values or {}))
    )
    return conn.execute(stmt).rowcount == 1


def record_event(
    conn: Connection,
    ti_id: int,
    try_number: int,
    kind: str,
    message: str,
    actor: Actor,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one line to a task instance's timeline (sent with the transaction's commit)."""
    insert_later(
        conn,
        task_event,
        {
            "ti_id": ti_id,
            "try_number": try_number,
            "at": at or utcnow(),
            "kind": kind,
            "actor": actor.name,
            "message": message,
            "detail": detail,
        },
    )


# -- the moves, each with its timeline entry --------------------------------------------------


def schedule(
    conn: Connection, ti_id: int, from_state: TaskState, try_number: int, reason: str, actor: Actor
) -> bool:
    """none/up_for_retry -> scheduled, starting try ``try_number + 1``."""
    now = utcnow()
    won = move_task(
        conn,
        ti_id,
        expected=[from_state],
        to=S.SCHEDULED,
        try_number=try_number,
        values={"try_number": try_number + 1, "scheduled_at": now, "retry_at": None},
    )
    if won:
        record_event(conn, ti_id, try_number + 1, "scheduled", reason, actor, at=now)
    return won


def finish_without_running(
    conn: Connection, ti_id: int, to: TaskState, try_number: int, reason: str, actor: Actor
) -> bool:
    """none -> skipped / upstream_failed."""
    now = utcnow()
    won = move_task(
        conn,
        ti_id,
        expected=[S.NONE],
        to=to,
        try_number=try_number,
        values={"end_date": now},
    )
    if won:
        record_event(conn, ti_id, try_number, to.value, reason, actor, at=now)
    return won


def schedule_and_queue(
    conn: Connection, ti_id: int, try_number: int, reason: str, queue_name: str, actor: Actor
) -> bool:
    """none -> queued in one UPDATE, for a task that became ready where there is room to run
    it. The timeline still shows both steps; the try is numbered ``try_number + 1``."""
    now = utcnow()
    won = move_task(
        conn,
        ti_id,
        expected=[S.NONE],
        to=S.QUEUED,
        try_number=try_number,
        values={
            "try_number": try_number + 1,
            "scheduled_at": now,
            "queued_at": now,
            "retry_at": None,
        },
    )
    if won:
        record_event(conn, ti_id, try_number + 1, "scheduled", reason, actor, at=now)
        record_event(
            conn,
            ti_id,
            try_number + 1,
            "queued",
            queued_message(queue_name),
            actor,
            detail={"queue": queue_name},
            at=now,
        )
    return won


def queued_message(queue_name: str) -> str:
    return f"sent to queue {queue_name!r}"


def queue(conn: Connection, ti_id: int, try_number: int, queue_name: str, actor: Actor) -> bool:
    now = utcnow()
    won = move_task(
        conn,
        ti_id,
        expected=[S.SCHEDULED],
        to=S.QUEUED,
        try_number=try_number,
        values={"queued_at": now},
    )
    if won:
        record_event(
            conn,
            ti_id,
            try_number,
            "queued",
            queued_message(queue_name),
            actor,
            detail={"queue": queue_name},
            at=now,
        )
    return won


def note_requeued(
    conn: Connection, ti_id: int, try_number: int, waited: float, actor: Actor
) -> bool:
    """A queued try that no process started is sent again; its timeline says so."""
    now = utcnow()
    won = (
        conn.execute(
            update(task_instance)
            .where(task_instance.c.id == ti_id)
            .where(task_instance.c.state == S.QUEUED.value)
            .where(task_instance.c.try_number == try_number)
            .values(queued_at=now, updated_at=now)
        ).rowcount
        == 1
    )
    if won:
        record_event(
            conn,
            ti_id,
            try_number,
            "requeued",
            f"queued for {waited:.0f}s without starting; sent again",
            actor,
            at=now,
        )
    return won


_TRY = (task_try.c.ti_id == bindparam("try_ti"), task_try.c.try_number == bindparam("try_number_"))
_TRY_START = select(task_try.c.start_date).where(*_TRY)
_CLOSE_TRY = update(task_try).where(*_TRY)  # the columns come as parameters
_OPEN_TRY = insert(task_try)
_TI = task_instance.c
_START = (
    update(task_instance)
    .where(
        _TI.id == bindparam("start_ti"),
        _TI.state == S.QUEUED.value,
        _TI.try_number == bindparam("start_try"),
    )
    .returning(_TI.dag_id, _TI.run_id, _TI.task_id, _TI.run_pk, _TI.max_tries, _TI.map_index)
)
# KEY SHARE: conflicts with the FOR UPDATE a queuing transaction holds on the run's row, and
# with nothing a reader or another starting try takes.
_WAIT_FOR_QUEUING = (
    select(dag_run.c.id)
    .where(
        dag_run.c.id == select(_TI.run_pk).where(_TI.id == bindparam("start_ti")).scalar_subquery()
    )
    .with_for_update(read=True, key_share=True)
)


def wait_for_queuing(conn: Connection, ti_id: int) -> bool:
    """After a start found its try not queued: wait until no transaction can still be queuing
    it, on PostgreSQL; True if the caller should try the start once more.

    A try's message is published inside the transaction that queues it, before the commit
    and even before the queuing statement (so the broker's delivery overlaps the rest of that
    transaction), so that no crash can fall between the commit and the send. Every such
    transaction holds its run's row locked from its start, so waiting for that lock waits for
    it to end; then the try is either there to start or not.
    """
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(_WAIT_FOR_QUEUING, {"start_ti": ti_id}).first() is not None


@dataclass(frozen=True)
class StartedTry:
    """What the process that won ``queued -> running`` needs to know about its try."""

    ti_id: int
    try_number: int
    dag_id: str
    run_id: str
    task_id: str
    run_pk: int
    max_tries: int
    start_date: datetime
    map_index: int = -1  # an instance of a mapped task: 0..n-1


def start_try(
    conn: Connection,
    ti_id: int,
    try_number: int,
    *,
    hostname: str,
    pid: int,
    actor: Actor,
    log_path: Callable[[StartedTry], str | None] = lambda _: None,
) -> StartedTry | None:
    """queued -> running: the step that lets exactly one process run a given try.

    One ``UPDATE ... RETURNING`` both wins the try and reads what running it needs, so the
    start of the next task in a chain waits on no other statement.
    """
    check_move([S.QUEUED], S.RUNNING)
    now = utcnow()
    params = {
        "start_ti": ti_id,
        "start_try": try_number,
        "state": S.RUNNING.value,
        "updated_at": now,
        "start_date": now,
        "end_date": None,
        "hostname": hostname,
        "pid": pid,
        "heartbeat_at": now,
    }
    row = conn.execute(_START, params).first()
    if row is None and wait_for_queuing(conn, ti_id):
        row = conn.execute(_START, params).first()
    if row is None:
        return None
    started = StartedTry(
        ti_id,
        try_number,
        row.dag_id,
        row.run_id,
        row.task_id,
        row.run_pk,
        row.max_tries,
        now,
        row.map_index,
    )
    path = log_path(started)
    conn.execute(
        _OPEN_TRY,
        {
            "ti_id": ti_id,
            "try_number": try_number,
            "state": S.RUNNING.value,
            "hostname": hostname,
            "pid": pid,
            "start_date": now,
            "log_path": path,
        },
    )
    message, detail = started_note(hostname, pid, path)
    record_event(conn, ti_id, try_number, "started", message, actor, detail=detail, at=now)
    return started


def started_note(hostname: str, pid: int, log_path: str | None) -> tuple[str, dict[str, Any]]:
    """The timeline entry of a started try: its message and detail."""
    return (
        f"running on {hostname} as pid {pid}",
        {"hostname": hostname, "pid": pid, "log_path": log_path},
    )


def start(
    conn: Connection,
    ti_id: int,
    try_number: int,
    *,
    hostname: str,
    pid: int,
    log_path: str | None,
    actor: Actor,
) -> bool:
    """queued -> running with a known log path; True if this call won."""
    started = start_try(
        conn,
        ti_id,
        try_number,
        hostname=hostname,
        pid=pid,
        actor=actor,
        log_path=lambda _: log_path,
    )
    return started is not None


@dataclass(frozen=True)
class Outcome:
    """How a try ended. ``exit_kind``: return, exception, timeout, signal, crash, heartbeat."""

    state: TaskState
    exit_kind: str
    error: str | None = None
    retry_at: datetime | None = None


def finish(
    conn: Connection,
    ti_id: int,
    try_number: int,
    outcome: Outcome,
    actor: Actor,
    *,
    expected: Iterable[TaskState] = (S.RUNNING,),
    started_at: datetime | None = None,
) -> bool:
    """running -> success / failed / up_for_retry / skipped, closing the try's record.

    ``started_at``: when the try started, if the caller knows (saves reading it back).
    """
    now = utcnow()
    won = move_task(
        conn,
        ti_id,
        expected=expected,
        to=outcome.state,
        try_number=try_number,
        values={"end_date": now, "retry_at": outcome.retry_at, "heartbeat_at": None},
    )
    if not won:
        return False
    if outcome.state is S.UP_FOR_RESCHEDULE:
        _grant_one_more_try(conn, ti_id, try_number)  # a poke is numbered, but is no retry
    started = (
        started_at
        or conn.execute(_TRY_START, {"try_ti": ti_id, "try_number_": try_number}).scalar()
    )
    conn.execute(
        _CLOSE_TRY,
        {
            "try_ti": ti_id,
            "try_number_": try_number,
            "state": outcome.state.value,
            "end_date": now,
            "duration": (now - started).total_seconds() if started else None,
            "exit_kind": outcome.exit_kind,
            "error": outcome.error,
        },
    )
    record_finish(conn, ti_id, try_number, outcome, actor, now)
    return True


def record_finish(
    conn: Connection, ti_id: int, try_number: int, outcome: Outcome, actor: Actor, at: datetime
) -> None:
    record_event(
        conn,
        ti_id,
        try_number,
        outcome.state.value,
        finish_message(outcome),
        actor,
        detail={"exit_kind": outcome.exit_kind, "error": outcome.error},
        at=at,
    )


def finish_message(outcome: Outcome) -> str:
    how = {
        "return": "returned",
        "exception": "raised an exception",
        "timeout": "timed out",
        "signal": "was killed by a signal",
        "crash": "its process died",
        "heartbeat": "lost its heartbeat",
        "skip": "asked to be skipped",
        "not_started": "could not start",
    }.get(outcome.exit_kind, outcome.exit_kind)
    text = f"{outcome.state.value}: {how}"
    if outcome.error:
        text += f": {outcome.error.strip().splitlines()[-1][:300]}"
    if outcome.retry_at is not None:
        text += f"; next try at {outcome.retry_at.isoformat(timespec='seconds')}"
    return text


def hand_back(conn: Connection, ti_id: int, try_number: int, reason: str, actor: Actor) -> bool:
    """running -> up_for_retry for a try its worker gave up on (shutdown), not its own fault.

    The task is granted one more try, so a deploy or a scale-down never uses up its retries.
    """
    now = utcnow()
    outcome = Outcome(TaskState.UP_FOR_RETRY, "signal", reason, retry_at=now)
    if not finish(conn, ti_id, try_number, outcome, actor):
        return False
    _grant_one_more_try(conn, ti_id, try_number)
    return True


_ONE_MORE_TRY = (
    update(task_instance)
    .where(task_instance.c.id == bindparam("grant_ti"))
    .where(task_instance.c.try_number == bindparam("grant_try"))
    .values(max_tries=task_instance.c.max_tries + 1)
)


def _grant_one_more_try(conn: Connection, ti_id: int, try_number: int) -> None:
    conn.execute(_ONE_MORE_TRY, {"grant_ti": ti_id, "grant_try": try_number})


def heartbeat(conn: Connection, ti_ids: list[int]) -> None:
    """Refresh the heartbeat of running tries this process supervises."""
    if ti_ids:
        conn.execute(
            update(task_instance)
            .where(task_instance.c.id.in_(ti_ids))
            .where(task_instance.c.state == S.RUNNING.value)
            .values(heartbeat_at=utcnow())
        )


def set_by_hand(
    conn: Connection, ti_id: int, to: TaskState, actor: Actor, *, retries: int, note: str = ""
) -> bool:
    """A person clears (-> none) or marks (-> success/failed) a task instance."""
    if to not in MANUAL_TARGETS:
        raise IllegalMove(f"a task instance can be cleared or marked, not set to {to}")
    now = utcnow()
    ti = task_instance.c
    row = conn.execute(
        select(ti.try_number, ti.state, ti.max_tries, ti.run_pk, ti.task_id, ti.map_index).where(
            ti.id == ti_id
        )
    ).first()
    if row is None:
        return False
    values: dict[str, Any] = {"state": to.value, "updated_at": now, "retry_at": None}
    if to is S.NONE:
        # A cleared task gets its full number of retries again.
        values.update(max_tries=row.try_number + retries + 1, end_date=None, start_date=None)
    else:
        values.update(end_date=now)
    won = (
        conn.execute(
            update(task_instance)
            .where(task_instance.c.id == ti_id, task_instance.c.state == row.state)
            .values(**values)
        ).rowcount
        == 1
    )
    if won and to is S.NONE:
        # What the cleared task returned is gone with it: a rerun that returns nothing (no
        # row is written for None) must not leave downstream the old value.
        conn.execute(
            delete(xcom).where(
                xcom.c.run_pk == row.run_pk,
                xcom.c.task_id == row.task_id,
                xcom.c.map_index == row.map_index,
            )
        )
    if won:
        verb = "cleared" if to is S.NONE else f"marked {to.value}"
        record_event(
            conn,
            ti_id,
            row.try_number,
            "cleared" if to is S.NONE else "marked",
            f"{verb} by hand (was {row.state}){': ' + note if note else ''}",
            actor,
            at=now,
        )
    return won
