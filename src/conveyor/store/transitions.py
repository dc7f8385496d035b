"""The one module that says how task instance and run state moves.

Every move is a single conditional UPDATE: ``WHERE id = :id AND state IN (:expected)
AND try_number = :try``, and the row count says whether we won. Zero rows means another
process moved the row first (a duplicated broker message, a second scheduler, a retried
request, a timeout racing a finishing task): that is not an error, the loser does nothing
but log what it found (a :class:`~conveyor.store.moves.Moved`, falsy, says so to its caller).
There is no read-modify-write of state in Python anywhere. The engine's moves, of task
instances and of runs, are declared once: their states in :mod:`conveyor.lifecycle`, their
columns in :mod:`conveyor.store.moves`. This module renders each as one statement, and
:mod:`conveyor.store.hop.steps` folds a hop's moves into fewer statements on PostgreSQL from
the same declarations; nothing else writes state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)

from conveyor import lifecycle
from conveyor.clock import utcnow
from conveyor.lifecycle import (
    MANUAL_TARGETS,
    Actor,
    IllegalMove,
    Outcome,
    StartedTry,
    finish_detail,
    finish_message,
    kept_note,
    ready_note,
    started_note,
)
from conveyor.states import RUN_ACTIVE, ExitKind, RunState, TaskState
from conveyor.stats import airflow as stats
from conveyor.store import due_times, moves
from conveyor.store.engine import after_commit
from conveyor.store.hop import prepared
from conveyor.store.hop.run_lock import LockedRun, wait_for_queuing
from conveyor.store.moves import Moved
from conveyor.store.runs import RunRow, RunTimes, get_run, run_times, with_first_task
from conveyor.store.sql import insert_later
from conveyor.store.tables import (
    UtcDateTime,
    dag_run,
    task_event,
    task_instance,
    task_try,
    xcom,
)

S = TaskState

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
) -> Moved:
    """Guarded move of one task instance, with columns the caller names; truthy if this call
    won. The engine's own moves are declared in :mod:`conveyor.store.moves`
    (:func:`make_move`).

    ``values``: further columns to set, as plain values (a column set from itself, like
    ``max_tries``, is a declared move's: see :mod:`conveyor.store.moves`).
    """
    expected = list(expected)
    lifecycle.check_step(expected, to)
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
    if won:
        return moves.won(ti_id, expected, to, try_number)
    return moves.lost(conn, ti_id, expected, to, try_number)


#: Told of each run move once its transaction has committed: (the run's new state, a reader
#: of the run as it is then, with its note). Set by the process's Airflow listeners
#: (``engine/run_listeners.py``); the reader costs a read only if called.
RunMoved = Callable[[RunState, Callable[[], tuple[RunRow, str | None]]], None]
_run_moved: RunMoved | None = None


def on_run_moves(hook: RunMoved | None) -> None:
    """Tell ``hook`` of every run move this process commits (None: tell no one)."""
    global _run_moved
    _run_moved = hook


#: Told of each run move once its transaction has committed, with the run's times as the
#: move left them (Airflow's dagrun metrics, ``engine/run_metrics.py``): read by primary key
#: in the move's own transaction, so no connection is opened for it.
RunTimed = Callable[[RunState, RunTimes], None]
_run_timed: RunTimed | None = None


def on_run_times(hook: RunTimed | None) -> None:
    """Tell ``hook`` of every run move this process commits, with the run's times."""
    global _run_timed
    _run_timed = hook


def _moved(conn: Connection, run_pk: int, to: RunState, *, by_hand: bool = False) -> None:
    if to not in RUN_ACTIVE:
        # Room under max_active_runs: a DAG held for it makes its waiting run next loop.
        due_times.wake_held(conn, run_pk)
    timed = _run_timed
    if timed is not None:
        times = run_times(conn, run_pk)
        if to not in RUN_ACTIVE and times.run_type == "scheduled" and stats.on():
            times = with_first_task(conn, run_pk, times)  # only such a run's end sends them
        after_commit(conn, lambda: timed(to, times))
    hook = _run_moved
    if hook is None or by_hand:  # a person's move is told by its own rules (engine/manual.py)
        return
    engine = conn.engine

    def read() -> tuple[RunRow, str | None]:
        with engine.connect() as fresh:
            note = fresh.execute(select(dag_run.c.note).where(dag_run.c.id == run_pk)).scalar()
            return get_run(fresh, run_pk), note

    after_commit(conn, lambda: hook(to, read))


def move_run(
    conn: Connection,
    run_pk: int,
    *,
    expected: Iterable[RunState],
    to: RunState,
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Guarded move of one run, with columns the caller names; True if this call won. For a
    person's moves, called only from ``engine/manual.py``; the engine's own are declared in
    :mod:`conveyor.store.moves` (:func:`make_run_move`)."""
    expected = list(expected)
    lifecycle.check_run_step(expected, to)
    stmt = (
        update(dag_run)
        .where(dag_run.c.id == run_pk)
        .where(dag_run.c.state.in_([s.value for s in expected]))
        .values(state=to.value, updated_at=utcnow(), **dict(values or {}))
    )
    won = conn.execute(stmt).rowcount == 1
    if won:
        _moved(conn, run_pk, to, by_hand=True)
    return won


_RUN_SINGLE = moves.renderer(
    now=bindparam("run_now", type_=UtcDateTime),
    given=lambda name: bindparam("run_" + name, type_=dag_run.c[name].type),
    to=bindparam("run_to", type_=String),
)
#: Each declared move of a run as one statement, built once.
_RUN_STATEMENTS = {
    move.name: update(dag_run)
    .where(
        dag_run.c.id == bindparam("run_pk", type_=Integer),
        dag_run.c.state.in_(sorted(state.value for state in move.from_states)),
    )
    .values(
        state=move.to.value,
        updated_at=_RUN_SINGLE(moves.NOW),
        **moves.columns(moves.RUN_COLUMNS[move.name], _RUN_SINGLE),
    )
    for move in lifecycle.ENGINE_RUN_MOVES
}


def make_run_move(
    conn: Connection,
    move: lifecycle.RunMove,
    run_pk: int,
    *,
    now: datetime,
    given: Mapping[str, Any] | None = None,
) -> bool:
    """``move`` of one run, as one statement; True if this call won. ``given``: its
    :class:`~conveyor.store.moves.Given` values."""
    lifecycle.check_run_step(move.from_states, move.to)
    params = {
        "run_pk": run_pk,
        "run_now": now,
        **{f"run_{name}": value for name, value in (given or {}).items()},
    }
    won = prepared.execute(conn, _RUN_STATEMENTS[move.name], params).rowcount == 1
    if won:
        _moved(conn, run_pk, move.to)
    return won


def start_run(conn: Connection, run_pk: int, *, now: datetime) -> bool:
    """queued -> running (``lifecycle.RUN_START``). No lock: no try of a queued run writes."""
    return make_run_move(conn, lifecycle.RUN_START, run_pk, now=now)


def end_run(conn: Connection, run: LockedRun, to: RunState, note: str, *, now: datetime) -> bool:
    """running -> success / failed (``lifecycle.RUN_SUCCEED``, ``lifecycle.RUN_FAIL``), as the run's
    plan says, with the plan's reason as its note."""
    move = lifecycle.RUN_SUCCEED if to is RunState.SUCCESS else lifecycle.RUN_FAIL
    if move.to is not to:
        raise IllegalMove("end_run", f"a run ends in success or failed, not {to.value}", to=to)
    return make_run_move(conn, move, run.id, now=now, given={"note": note})


def time_out_run(conn: Connection, run: LockedRun, note: str, *, now: datetime) -> bool:
    """running -> failed past the run's ``dagrun_timeout`` (``lifecycle.RUN_TIME_OUT``)."""
    return make_run_move(conn, lifecycle.RUN_TIME_OUT, run.id, now=now, given={"note": note})


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


# -- the moves, each with its timeline entries ------------------------------------------------
#
# Each move is declared once in conveyor.store.moves; here it is rendered as one statement,
# built once at import (building an UPDATE costs more than sending it on these machines, and
# a hop makes several moves). A move's values come as parameters named ``move_*``.

_SINGLE = moves.renderer(
    now=bindparam("move_now", type_=UtcDateTime),
    given=lambda name: moves.given_param("move_", name),
    to=bindparam("move_to", type_=String),
    duration=bindparam("move_duration", type_=Float),
)
_ID, _TRY_NUMBER = bindparam("move_id", type_=Integer), bindparam("move_try", type_=Integer)
_STATEMENTS = {
    move.name: moves.update_of(
        move,
        _SINGLE,
        ti_id=_ID,
        try_number=_TRY_NUMBER,
        from_states=bindparam("move_from", expanding=True),
    )
    for move in lifecycle.SINGLE_MOVES
}
_TI = task_instance.c
_START = moves.update_of(
    lifecycle.START, _SINGLE, ti_id=_ID, try_number=_TRY_NUMBER, from_states=[S.QUEUED]
).returning(
    _TI.dag_id,
    _TI.run_id,
    _TI.task_id,
    _TI.run_pk,
    _TI.max_tries,
    _TI.map_index,
    _TI.resumptions,
    _TI.queued_at,
)
_OPEN_TRY = insert(task_try).values(
    ti_id=_ID, try_number=_TRY_NUMBER, **moves.columns(moves.opens_try(lifecycle.START), _SINGLE)
)
_TRY = (task_try.c.ti_id == _ID, task_try.c.try_number == _TRY_NUMBER)
_TRY_START = select(task_try.c.start_date).where(*_TRY)
_CLOSE_TRY = (
    update(task_try)
    .where(*_TRY)
    .values(**moves.columns(moves.closes_try(lifecycle.FINISH), _SINGLE))
)


def make_move(
    conn: Connection,
    move: lifecycle.TaskMove,
    ti_id: int,
    try_number: int,
    *,
    now: datetime,
    to: TaskState | None = None,
    expected: Iterable[TaskState] | None = None,
    given: Mapping[str, Any] | None = None,
) -> Moved:
    """``move`` of one task instance, as one statement; what it found. ``expected``: the
    states to move from (default: every state the move leaves for its target); ``given``:
    its :class:`~conveyor.store.moves.Given` values."""
    target = move.target(to)
    if expected is None:
        starts = sorted(start for start, end in move.steps if end is target)
    else:
        starts = sorted(expected)
    move.check(starts, target)
    params = {
        "move_id": ti_id,
        "move_try": try_number,
        "move_from": [state.value for state in starts],
        "move_to": target.value,
        "move_now": now,
        **{f"move_{name}": value for name, value in (given or {}).items()},
    }
    if prepared.execute(conn, _STATEMENTS[move.name], params).rowcount == 1:
        return moves.won(ti_id, starts, target, try_number + move.numbers_next_try)
    return moves.lost(conn, ti_id, starts, target, try_number)


def record_notes(
    conn: Connection,
    move: lifecycle.TaskMove,
    moved: Moved,
    notes: Iterable[tuple[str, dict[str, Any] | None]],
    actor: Actor,
    at: datetime,
) -> None:
    """The timeline entries of a won move, one per kind it declares, in order."""
    event_try = moved.found_try or 0  # the try the move left: the next one, if it numbered it
    for kind, (message, detail) in zip(move.event_kinds(moved.to), notes, strict=True):
        record_event(conn, moved.ti_id, event_try, kind, message, actor, detail=detail, at=at)


def schedule(
    conn: Connection, ti_id: int, from_state: TaskState, try_number: int, reason: str, actor: Actor
) -> Moved:
    """none/up_for_retry/up_for_reschedule -> scheduled, starting try ``try_number + 1``."""
    return _noted_move(
        conn, lifecycle.SCHEDULE, ti_id, try_number, reason, actor, expected=[from_state]
    )


def finish_without_running(
    conn: Connection, ti_id: int, to: TaskState, try_number: int, reason: str, actor: Actor
) -> Moved:
    """none -> skipped / upstream_failed."""
    return _noted_move(
        conn, lifecycle.FINISH_WITHOUT_RUNNING, ti_id, try_number, reason, actor, to=to
    )


def stop_unfinished(
    conn: Connection,
    run: LockedRun,
    ti_id: int,
    from_state: TaskState,
    try_number: int,
    reason: str,
    actor: Actor,
) -> Moved:
    """fail_fast: an unfinished instance that is not running -> skipped. ``run``: its run,
    locked in this transaction."""
    return _noted_move(
        conn, lifecycle.STOP_UNFINISHED, ti_id, try_number, reason, actor, expected=[from_state]
    )


def _noted_move(
    conn: Connection,
    move: lifecycle.TaskMove,
    ti_id: int,
    try_number: int,
    reason: str,
    actor: Actor,
    *,
    to: TaskState | None = None,
    expected: Iterable[TaskState] | None = None,
) -> Moved:
    """:func:`make_move`, with ``reason`` on the move's one timeline entry when it is won."""
    now = utcnow()
    moved = make_move(conn, move, ti_id, try_number, now=now, to=to, expected=expected)
    if moved:
        record_notes(conn, move, moved, [(reason, None)], actor, now)
    return moved


def schedule_and_queue(
    conn: Connection, ti_id: int, try_number: int, reason: str, queue_name: str, actor: Actor
) -> Moved:
    """none -> queued in one UPDATE, for a task that became ready where there is room to run
    it. The timeline still shows both steps; the try is numbered ``try_number + 1``."""
    return move_ready(
        conn, lifecycle.SCHEDULE_AND_QUEUE, ti_id, try_number, reason, queue_name, actor
    )


def ready_from(move: lifecycle.TaskMove) -> TaskState:
    """The one state a move of ready tries leaves: ``none`` for the moves that number the
    next try, ``scheduled`` for the queueing of a try that waited for room."""
    if move.numbers_next_try:
        return S.NONE
    (state,) = move.from_states
    return state


def queue(conn: Connection, ti_id: int, try_number: int, queue_name: str, actor: Actor) -> Moved:
    """scheduled -> queued."""
    return move_ready(conn, lifecycle.QUEUE, ti_id, try_number, "", queue_name, actor)


def move_ready(
    conn: Connection,
    move: lifecycle.TaskMove,
    ti_id: int,
    try_number: int,
    reason: str,
    queue_name: str,
    actor: Actor,
    *,
    kept: bool = False,
) -> Moved:
    """``move`` of a ready try (``schedule``, ``schedule_and_queue`` or ``queue``) from the
    one state such a try leaves, with its timeline entries; ``kept``: the ``queued`` entry
    says the process queuing it starts it itself."""
    now = utcnow()
    moved = make_move(conn, move, ti_id, try_number, now=now, expected=[ready_from(move)])
    if moved:
        notes = [
            kept_note(queue_name)
            if kept and kind == "queued"
            else ready_note(kind, reason, queue_name)
            for kind in move.event_kinds(moved.to)
        ]
        record_notes(conn, move, moved, notes, actor, now)
    return moved


def queue_kept(
    conn: Connection,
    from_state: TaskState,
    ti_id: int,
    try_number: int,
    reason: str,
    queue_name: str,
    actor: Actor,
) -> Moved:
    """:func:`schedule_and_queue` (from ``none``) or :func:`queue` (from ``scheduled``) of a
    try that the process queuing it starts itself at once; its ``queued`` entry says so.
    The hop folds it with the start (``steps.queue_and_start``), which writes what this move
    and :func:`start_try` write, one after the other."""
    move = lifecycle.SCHEDULE_AND_QUEUE if from_state is S.NONE else lifecycle.QUEUE
    return move_ready(conn, move, ti_id, try_number, reason, queue_name, actor, kept=True)


def resume(
    conn: Connection,
    ti_id: int,
    try_number: int,
    *,
    method: str,
    kwargs: dict[str, Any],
    note: str,
    actor: Actor,
    waiting: TaskState = S.DEFERRED,
) -> Moved:
    """deferred (or ``waiting``: awaiting_input) -> scheduled (``lifecycle.RESUME``): a deferred
    try's trigger fired, or a person answered, and the next try resumes at ``method`` with
    ``kwargs`` (the event among them)."""
    now = utcnow()
    given = {"next_method": method, "next_kwargs": kwargs}
    moved = make_move(
        conn, lifecycle.RESUME, ti_id, try_number, now=now, expected=(waiting,), given=given
    )
    if moved:
        record_notes(conn, lifecycle.RESUME, moved, [(note, None)], actor, now)
    return moved


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
    lifecycle.check_step([S.QUEUED], S.RUNNING)
    now = utcnow()
    params = {
        "move_id": ti_id,
        "move_try": try_number,
        "move_to": S.RUNNING.value,
        "move_now": now,
        "move_hostname": hostname,
        "move_pid": pid,
    }
    row = prepared.execute(conn, _START, params).first()
    if row is None and wait_for_queuing(conn, ti_id):
        now = params["move_now"] = utcnow()  # the try starts now, not before the wait
        row = prepared.execute(conn, _START, params).first()
    if row is None:
        moves.lost(conn, ti_id, [S.QUEUED], S.RUNNING, try_number)
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
        row.queued_at,
        row.map_index,
        row.resumptions,
    )
    path = log_path(started)
    opened = {**params, "move_log_path": path, "move_resumptions": row.resumptions}
    prepared.execute(conn, _OPEN_TRY, opened)
    message, detail = started_note(hostname, pid, path)
    record_event(conn, ti_id, try_number, "started", message, actor, detail=detail, at=now)
    return started


def finish(
    conn: Connection,
    run: LockedRun,
    ti_id: int,
    try_number: int,
    outcome: Outcome,
    actor: Actor,
    *,
    expected: Iterable[TaskState] = (S.RUNNING,),
    started_at: datetime | None = None,
    now: datetime | None = None,
) -> Moved:
    """running -> success / failed / up_for_retry / skipped / up_for_reschedule, closing the
    try's record. ``run``: the try's run, locked in this transaction (the move relies on it).

    ``started_at``: when the try started, if the caller knows (saves reading it back);
    ``now``: the end to record (the moment of the call, if not given).
    """
    now = now or utcnow()
    moved = make_move(
        conn,
        lifecycle.FINISH,
        ti_id,
        try_number,
        now=now,
        to=outcome.state,
        expected=expected,
        given={"retry_at": outcome.retry_at},
    )
    if not moved:
        return moved
    _close_try(conn, ti_id, try_number, outcome, actor, now, started_at)
    return moved


def _close_try(
    conn: Connection,
    ti_id: int,
    try_number: int,
    outcome: Outcome,
    actor: Actor,
    now: datetime,
    started_at: datetime | None,
) -> None:
    """A won finish's try row closed, and its timeline entry."""
    started = (
        started_at
        or prepared.execute(conn, _TRY_START, {"move_id": ti_id, "move_try": try_number}).scalar()
    )
    prepared.execute(
        conn,
        _CLOSE_TRY,
        {
            "move_id": ti_id,
            "move_try": try_number,
            "move_to": outcome.state.value,
            "move_now": now,
            "move_duration": (now - started).total_seconds() if started else None,
            "move_exit_kind": outcome.exit_kind,
            "move_error": outcome.error,
        },
    )
    record_finish(conn, ti_id, try_number, outcome, actor, now)


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
        detail=finish_detail(outcome),
        at=at,
    )


def hand_back(
    conn: Connection, run: LockedRun, ti_id: int, try_number: int, reason: str, actor: Actor
) -> Moved:
    """running -> up_for_retry for a try its worker gave up on (shutdown), not its own fault
    (``lifecycle.HAND_BACK``): one more try is granted, so a deploy or a scale-down never uses
    up a task's retries. ``run``: the try's run, locked in this transaction."""
    now = utcnow()
    moved = make_move(conn, lifecycle.HAND_BACK, ti_id, try_number, now=now)
    if moved:
        outcome = Outcome(TaskState.UP_FOR_RETRY, ExitKind.SIGNAL, reason, retry_at=now)
        _close_try(conn, ti_id, try_number, outcome, actor, now, None)
    return moved


def heartbeat(
    conn: Connection, ti_ids: list[int], hostname: str = "", pids: Iterable[int] = ()
) -> list[int]:
    """Refresh the heartbeat of the running tries this process supervises: those of
    ``ti_ids``, and those the processes ``pids`` of ``hostname`` started (a Celery worker's
    busy pool processes); return their task instance ids."""
    held = _held(ti_ids, hostname, list(pids))
    if held is None:
        return []
    return list(
        conn.execute(
            update(task_instance)
            .where(task_instance.c.state == S.RUNNING.value, held)
            .values(heartbeat_at=utcnow())
            .returning(task_instance.c.id)
        ).scalars()
    )


def tries_held(
    conn: Connection, ti_ids: list[int], hostname: str, pids: list[int]
) -> list[tuple[int, int]]:
    """``(ti_id, try_number)`` of the running tries :func:`heartbeat` refreshes."""
    held = _held(ti_ids, hostname, pids)
    if held is None:
        return []
    ti = task_instance.c
    rows = conn.execute(select(ti.id, ti.try_number).where(ti.state == S.RUNNING.value, held))
    return [(row.id, row.try_number) for row in rows]


def _held(ti_ids: list[int], hostname: str, pids: list[int]) -> ColumnElement[bool] | None:
    ti = task_instance.c
    held: list[ColumnElement[bool]] = []
    if ti_ids:
        held.append(ti.id.in_(ti_ids))
    if pids:
        held.append(and_(ti.hostname == hostname, ti.pid.in_(pids)))
    return or_(*held) if held else None


#: How long a running try that a person cleared waits before its next try may start: its
#: process is stopped first (SIGTERM, ``on_kill``, SIGKILL after the grace period). The
#: executor that stops it lets the next try start as soon as the process is gone
#: (``stops.process_gone``); this is the most it waits when no executor says so.
RESTART_AFTER = timedelta(seconds=15)

_HAND_READ = select(
    task_instance.c.try_number,
    task_instance.c.state,
    task_instance.c.max_tries,
    task_instance.c.run_pk,
    task_instance.c.task_id,
    task_instance.c.map_index,
)


def set_by_hand(
    conn: Connection, ti_id: int, to: TaskState, actor: Actor, *, retries: int, note: str = ""
) -> bool:
    """A person clears (-> none) or marks (-> success/failed) a task instance.

    A queued or running try is ended by it, as in Airflow: a running one's process is asked
    to stop (``stop_try``, read by its executor, see ``store/stops.py``), and its own late
    report then finds the try ended. A cleared running try goes up for retry, its next try
    due once the process is stopped (Airflow's "restarting"), with its retries granted anew."""
    if to not in MANUAL_TARGETS:
        raise IllegalMove(
            "override", f"a person clears or marks an instance, not sets it {to.value}", to=to
        )
    verb = "cleared" if to is S.NONE else f"marked {to.value}"
    kind = "cleared" if to is S.NONE else "marked"
    return override(
        conn, ti_id, to, actor, retries=retries, kind=kind, why=f"{verb} by hand", note=note
    )


def override(
    conn: Connection,
    ti_id: int,
    to: TaskState,
    actor: Actor,
    *,
    retries: int,
    kind: str,
    why: str,
    note: str = "",
) -> bool:
    """Set a task instance to ``to`` from whatever state it is in, as a person or the run's
    timeout decides, with a timeline entry ``why``; a running try's process is asked to stop.
    A race with the try's own start or end is taken again from the state it moved to."""
    for _ in range(5):
        row = conn.execute(_HAND_READ.where(task_instance.c.id == ti_id)).first()
        if row is None:
            return False
        won = _override_from(conn, ti_id, row, to, actor, retries, kind, why, note)
        if won is not None:
            return won
    return False


def _override_from(
    conn: Connection,
    ti_id: int,
    row: Any,
    to: TaskState,
    actor: Actor,
    retries: int,
    kind: str,
    why: str,
    note: str,
) -> bool | None:
    """One attempt of :func:`override` from the state ``row`` read; None if it lost a race."""
    now = utcnow()
    was = S(row.state)
    running = was is S.RUNNING
    state = S.UP_FOR_RETRY if to is S.NONE and running else to
    values: dict[str, Any] = {"state": state.value, "updated_at": now, "retry_at": None}
    if to is S.NONE:
        # A cleared task gets its full number of retries again.
        values.update(max_tries=row.try_number + retries + 1, end_date=None, start_date=None)
        if running:
            values.update(retry_at=now + RESTART_AFTER, end_date=now)
    else:
        values.update(end_date=now)
    if running:
        values["stop_try"] = row.try_number
    moved = conn.execute(
        update(task_instance)
        .where(
            task_instance.c.id == ti_id,
            task_instance.c.state == row.state,
            task_instance.c.try_number == row.try_number,
        )
        .values(**values)
    ).rowcount
    if moved != 1:
        return None
    if to is S.NONE:
        # What the cleared task returned is gone with it: a rerun that returns nothing (no
        # row is written for None) must not leave downstream the old value.
        conn.execute(
            delete(xcom).where(
                xcom.c.run_pk == row.run_pk,
                xcom.c.task_id == row.task_id,
                xcom.c.map_index == row.map_index,
            )
        )
    message = f"{why} (was {row.state})"
    if running:
        message += "; its process is being stopped"
        _close_stopped_try(conn, ti_id, row.try_number, state, f"{why} by {actor.name}", now)
    if note:
        message += f": {note}"
    record_event(conn, ti_id, row.try_number, kind, message, actor, at=now)
    return True


def _close_stopped_try(
    conn: Connection, ti_id: int, try_number: int, state: TaskState, why: str, now: datetime
) -> None:
    """The record of a running try ended from outside its process: closed as stopped."""
    started = prepared.execute(
        conn, _TRY_START, {"move_id": ti_id, "move_try": try_number}
    ).scalar()
    prepared.execute(
        conn,
        _CLOSE_TRY,
        {
            "move_id": ti_id,
            "move_try": try_number,
            "move_to": state.value,
            "move_now": now,
            "move_duration": (now - started).total_seconds() if started else None,
            "move_exit_kind": ExitKind.STOPPED,
            "move_error": why,
        },
    )
