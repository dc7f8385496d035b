"""A hop's steps: its transaction in as few round trips as the store allows.

When a try finishes, its process records the outcome and queues what became ready, in one
transaction under the run's lock (``engine.tries.try_ended``). The moves are the ones in
:mod:`conveyor.store.transitions`, guarded the same way; on PostgreSQL this module sends
them as two statements with data-modifying CTEs instead of one statement per move:

1. :func:`finish_and_read`: the task instance and its try closed, the timeline entry, and
   the run's task instances with the room to queue in (``runs.TASK_INSTANCES_AND_ROOM``);
2. :func:`queue_ready`: every task that became ready moved ``none -> queued``, with its
   timeline entries written only for the moves that won.

The next try's process starts it the same way (:func:`start_and_read`): ``queued ->
running`` with the run's row in one statement, then its try row and timeline entry in one.
A process that starts a try its own hop makes ready (a kept try, ``engine/kept.py``) queues
and starts it with :func:`queue_and_start`: one statement instead of the queueing move and
the start's two, since it holds the run's lock and knows the run and the try's names already.

Every writer here that relies on the run's lock takes the ``run_lock.LockedRun``; the finish
that goes behind the lock in one pipeline (``run_lock.lock_run_then``) takes a
``run_lock.RunLock``.

Every round trip to the store sits between one task's end and the next one's start, and
each costs a good part of a bare broker round trip, so this is where a chain's latency
goes. On SQLite the same functions make the moves one statement at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Text,
    Update,
    bindparam,
    case,
    column,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from conveyor import lifecycle
from conveyor.clock import utcnow
from conveyor.lifecycle import Actor, Outcome
from conveyor.states import TaskState
from conveyor.store import frontier_reads, moves, runs, transitions
from conveyor.store.hop import prepared
from conveyor.store.hop.run_lock import LockedRun, RunLock, held, wait_for_queuing
from conveyor.store.tables import (
    UtcDateTime,
    dag,
    dag_run,
    task_event,
    task_instance,
    task_try,
)

S = TaskState
_TI = task_instance.c
_EVENT_COLUMNS = ["ti_id", "try_number", "at", "kind", "actor", "message", "detail"]
_DETAIL = task_event.c.detail.type


def _event_kind(move: lifecycle.TaskMove, render: moves.Render) -> ColumnElement[Any]:
    """The kind of a move's one timeline entry, as the CTE writes it."""
    (kind,) = move.events
    return render(moves.TO) if kind is None else literal(kind, String)


# -- 1. finish and read --------------------------------------------------------------------

_FIN_NOW = bindparam("fin_now", type_=UtcDateTime)
_FIN = moves.renderer(
    now=_FIN_NOW,
    given=lambda name: moves.given_param("fin_", name),
    to=bindparam("fin_state", type_=String),
    duration=func.extract("epoch", _FIN_NOW - task_try.c.start_date),
)
_FINISHED_TI = (
    moves.update_of(
        lifecycle.FINISH,
        _FIN,
        ti_id=bindparam("fin_ti", type_=Integer),
        try_number=bindparam("fin_try", type_=Integer),
        from_states=[S.RUNNING],
    )
    .returning(task_instance.c.id)
    .cte("fin")
)
_CLOSED_TRY = (
    update(task_try)
    .where(
        task_try.c.ti_id == bindparam("fin_ti"),
        task_try.c.try_number == bindparam("fin_try"),
        exists(select(_FINISHED_TI.c.id)),
    )
    .values(**moves.columns(moves.closes_try(lifecycle.FINISH), _FIN))
    .cte("closed_try")
)
_FINISH_EVENT = (
    insert(task_event)
    .from_select(
        _EVENT_COLUMNS,
        select(
            _FINISHED_TI.c.id,
            bindparam("fin_try", type_=Integer),
            _FIN_NOW,
            _event_kind(lifecycle.FINISH, _FIN),
            bindparam("fin_actor", type_=String),
            bindparam("fin_message", type_=Text),
            bindparam("fin_detail", type_=_DETAIL),
        ),
    )
    .cte("finish_event")
)
# The read sees the statement's snapshot, from before the UPDATEs in front of it.
_FINISH_AND_READ = (
    runs.TASK_INSTANCES_AND_ROOM.add_columns(
        select(func.count()).select_from(_FINISHED_TI).scalar_subquery().label("finished")
    )
    .add_cte(_CLOSED_TRY)
    .add_cte(_FINISH_EVENT)
)


def _finish_params(finish: Finish) -> dict[str, Any]:
    """The values of the finish CTEs (``fin_*``)."""
    outcome, actor = finish.outcome, finish.actor
    return {
        "fin_ti": finish.ti_id,
        "fin_try": finish.try_number,
        "fin_state": outcome.state.value,
        "fin_now": finish.at,
        "fin_retry_at": outcome.retry_at,
        "fin_exit_kind": outcome.exit_kind,
        "fin_error": outcome.error,
        "fin_actor": actor.name,
        "fin_message": lifecycle.finish_message(outcome),
        "fin_detail": lifecycle.finish_detail(outcome),
    }


@dataclass(frozen=True)
class Finish:
    """A running try's end, as its own process records it: ``transitions.finish``'s values.
    ``started_at``: when the try started, if the caller knows (saves reading it back);
    ``at``: the end it records, chosen once, so the caller knows it without reading it."""

    ti_id: int
    try_number: int
    outcome: Outcome
    actor: Actor
    started_at: datetime | None = None
    at: datetime = field(default_factory=utcnow)


def _finish_alone(conn: Connection, run: LockedRun, finish: Finish) -> moves.Moved:
    """The finish as ``transitions.finish`` makes it, a statement at a time."""
    return transitions.finish(
        conn,
        run,
        finish.ti_id,
        finish.try_number,
        finish.outcome,
        finish.actor,
        started_at=finish.started_at,
        now=finish.at,
    )


def finish_and_read(conn: Connection, run: LockedRun, finish: Finish) -> runs.TasksAndRoom | None:
    """``transitions.finish`` of a running try, then the run's task instances and room; None
    if the try was no longer this process's to finish. ``run`` is locked in this
    transaction, so the read sees every other finish of the run that committed before."""
    ti_id, try_number, outcome = finish.ti_id, finish.try_number, finish.outcome
    if not finishes_in_one_statement(conn, outcome):
        if not _finish_alone(conn, run, finish):
            return None
        return runs.task_instances_and_room(conn, run.id)
    lifecycle.check_step([S.RUNNING], outcome.state)
    rows = conn.execute(_FINISH_AND_READ, {"room_of_run": run.id, **_finish_params(finish)}).all()
    if not rows or not rows[0].finished:
        moves.lost(conn, ti_id, [S.RUNNING], outcome.state, try_number)
        return None
    read = runs.TasksAndRoom.from_rows(rows)
    # The read saw this try still running; show it as it is now.
    read.tis = [
        replace(ti, state=outcome.state, retry_at=outcome.retry_at) if ti.id == ti_id else ti
        for ti in read.tis
    ]
    read.busy -= 1
    return read


# A run planned from its frontier reads only what the finished task touches, and the finish
# goes in front of that read: the move, then the hop's one read with the finished row added.
_FINISH_AND_READ_HOP = frontier_reads.hop_read(
    *frontier_reads.hop_parts(limits_in_subqueries=False),
    frontier_reads.hop_part(
        frontier_reads.FINISHED_PART,
        frontier_reads.HOP_TI.c.id.in_(select(_FINISHED_TI.c.id)),  # as the snapshot saw it
        labelled=False,
    ),
).add_cte(_CLOSED_TRY, _FINISH_EVENT)


def finish_and_read_hop(
    conn: Connection,
    lock: RunLock,
    reads: frontier_reads.FrontierReads,
    finish: Finish,
    *,
    task_ids: Collection[str],
    waiting_bound: int,
    now: datetime,
    sample: bool = False,
) -> frontier_reads.HopRead | None:
    """``transitions.finish`` of a running try, then ``reads.read_hop`` as it would read
    after it (one statement on PostgreSQL); None if the try was no longer this process's to
    finish. ``lock``: the run's, held, or sent in front of this one statement in the same
    pipeline (only where :func:`finishes_in_one_statement`). ``now``: the read's time,
    after the outcome's."""
    ti_id, try_number, outcome = finish.ti_id, finish.try_number, finish.outcome
    if not finishes_in_one_statement(conn, outcome):
        if not _finish_alone(conn, held(lock), finish):
            return None
        return reads.read_hop(task_ids, now, waiting_bound, sample=sample)
    lifecycle.check_step([S.RUNNING], outcome.state)
    read = reads.read_hop(
        task_ids,
        now,
        waiting_bound,
        sample=sample,
        statement=_FINISH_AND_READ_HOP,
        params=_finish_params(finish),
    )
    if read.finished is None:
        moves.lost(conn, ti_id, [S.RUNNING], outcome.state, try_number)
        return None
    # The read saw the statement's snapshot, with this try still running; the finish set
    # these two (see lifecycle.FINISH).
    finished = replace(read.finished, state=outcome.state, retry_at=outcome.retry_at)
    read.finished = finished
    if finished.task_id in reads.rows:
        reads.rows[finished.task_id] = finished
    if finished.state is S.UP_FOR_RETRY and (finished.retry_at is None or finished.retry_at <= now):
        read.due.append(finished)
    assert read.in_flight is not None and read.in_flight_of_run is not None  # on its row
    read.in_flight -= 1
    read.in_flight_of_run -= 1
    return read


def finishes_in_one_statement(conn: Connection, outcome: Outcome) -> bool:
    """Whether :func:`finish_and_read` and :func:`finish_and_read_hop` record ``outcome`` in
    one statement: on PostgreSQL, unless the try goes on later (a poke, a deferral:
    ``lifecycle.NOT_A_RETRY``), which a finish of its own records before the read, so that
    the read sees its wait (a poke already due among the due tries)."""
    return conn.dialect.name == "postgresql" and outcome.state not in lifecycle.NOT_A_RETRY


# -- 2. queue what became ready ------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """A task instance in ``none`` that its trigger rule lets run, with room to run it."""

    ti_id: int
    try_number: int  # the current one; the queued try is numbered one more
    reason: str
    queue: str


# Each wanted row names the state it is moved from, rather than the statement naming one
# constant: the planner then finds the rows by primary key whatever its statistics say of the
# state. With a constant it may read them through the state index, which statistics taken when
# a run's instances were all ``none`` make look nearly empty for ``scheduled``: a move of one
# waiting try of a fan-out of 10,000 walked the 10,000 scheduled ones (6 ms, under the run's lock).
_WANTED = (
    func.unnest(
        bindparam("q_ids", type_=ARRAY(Integer)),
        bindparam("q_tries", type_=ARRAY(Integer)),
        bindparam("q_from", type_=ARRAY(String)),
    )
    .table_valued(
        column("ti_id", Integer), column("try_number", Integer), column("from_state", String)
    )
    .render_derived(name="wanted")
)
_NOTES = (
    func.unnest(
        bindparam("e_ids", type_=ARRAY(Integer)),
        bindparam("e_kinds", type_=ARRAY(String)),
        bindparam("e_messages", type_=ARRAY(Text)),
        bindparam("e_queues", type_=ARRAY(String)),
    )
    .table_valued(
        column("ti_id", Integer),
        column("kind", String),
        column("message", Text),
        column("queue", String),
        with_ordinality="n",
    )
    .render_derived(name="notes")
)


def _move_ready_statement(move: lifecycle.TaskMove) -> Select[tuple[int]]:
    """``move`` for the wanted task instances (numbering their next try if it does), with
    the timeline entries of the moves that won; selects the ids it moved."""
    to = move.target(None)  # a ready move reaches one state
    now = bindparam("m_now", type_=UtcDateTime)
    render = moves.renderer(
        now=now,
        given=lambda name: moves.given_param("m_", name),
        to=literal(to.value, String),
    )
    moved = (
        moves.update_of(
            move,
            render,
            ti_id=_WANTED.c.ti_id,
            try_number=_WANTED.c.try_number,
            from_states=_WANTED.c.from_state,
        )
        .returning(_TI.id, _TI.try_number)
        .cte("moved")
    )
    notes = (
        insert(task_event)
        .from_select(
            _EVENT_COLUMNS,
            select(
                moved.c.id,
                moved.c.try_number,
                now,
                _NOTES.c.kind,
                bindparam("m_actor", type_=String),
                _NOTES.c.message,
                # Only "queued" entries carry the queue, as transitions.queue writes them.
                case(
                    (_NOTES.c.queue.is_(None), null()),
                    else_=func.json_build_object("queue", _NOTES.c.queue),
                ),
            )
            .join_from(moved, _NOTES, _NOTES.c.ti_id == moved.c.id)
            .order_by(_NOTES.c.n),
        )
        .cte("moved_notes")
    )
    return select(moved.c.id).add_cte(notes)


_READY_MOVES = (lifecycle.SCHEDULE_AND_QUEUE, lifecycle.SCHEDULE, lifecycle.QUEUE)
_READY_STATEMENTS = {move.name: _move_ready_statement(move) for move in _READY_MOVES}


def queue_ready(conn: Connection, run: LockedRun, ready: list[Ready], actor: Actor) -> set[int]:
    """``none -> queued`` for each of ``ready`` (``transitions.schedule_and_queue``); the ids
    of the task instances this call moved."""
    return _ready_moves(conn, ready, actor, lifecycle.SCHEDULE_AND_QUEUE)


def schedule_ready(conn: Connection, run: LockedRun, ready: list[Ready], actor: Actor) -> set[int]:
    """``none -> scheduled`` for each of ``ready`` that has no room to run yet
    (``transitions.schedule``); the ids of the task instances this call moved."""
    return _ready_moves(conn, ready, actor, lifecycle.SCHEDULE)


def queue_waiting(conn: Connection, run: LockedRun, waiting: list[Ready], actor: Actor) -> set[int]:
    """``scheduled -> queued`` for each of ``waiting``, tries that waited for room
    (``transitions.queue``); the ids of the task instances this call moved."""
    return _ready_moves(conn, waiting, actor, lifecycle.QUEUE)


def _ready_moves(
    conn: Connection, ready: list[Ready], actor: Actor, move: lifecycle.TaskMove
) -> set[int]:
    """``move`` for each of ``ready``: on PostgreSQL one statement for all of them and their
    timeline entries, elsewhere one transition after the other."""
    if conn.dialect.name != "postgresql":
        return {
            r.ti_id
            for r in ready
            if transitions.move_ready(conn, move, r.ti_id, r.try_number, r.reason, r.queue, actor)
        }
    return _move_ready(conn, ready, actor, move)


def _move_ready(
    conn: Connection, ready: list[Ready], actor: Actor, move: lifecycle.TaskMove
) -> set[int]:
    if not ready:
        return set()
    to = move.target(None)  # a ready move reaches one state
    from_state = transitions.ready_from(move)
    lifecycle.check_step([from_state], to)
    kinds = move.event_kinds(to)
    ids: list[int] = []
    notes: list[tuple[str, str, dict[str, Any] | None]] = []
    for r in ready:
        for kind in kinds:  # the timeline shows both steps of none -> queued
            ids.append(r.ti_id)
            notes.append((kind, *lifecycle.ready_note(kind, r.reason, r.queue)))
    moved = {
        row.id
        for row in conn.execute(
            _READY_STATEMENTS[move.name],
            {
                "q_ids": [r.ti_id for r in ready],
                "q_tries": [r.try_number for r in ready],
                "q_from": [from_state.value] * len(ready),
                "m_now": utcnow(),
                "m_actor": actor.name,
                "e_ids": ids,
                "e_kinds": [kind for kind, _, _ in notes],
                "e_messages": [message for _, message, _ in notes],
                "e_queues": [detail["queue"] if detail else None for _, _, detail in notes],
            },
        )
    }
    for r in ready:
        if r.ti_id not in moved:
            moves.lost(conn, r.ti_id, [from_state], to, r.try_number)
    return moved


# -- 3. the next try starts ------------------------------------------------------------------

_STARTED = (
    moves.update_of(
        lifecycle.START,
        moves.renderer(
            now=bindparam("s_now", type_=UtcDateTime),
            given=lambda name: moves.given_param("s_", name),
            to=literal(S.RUNNING.value, String),
        ),
        ti_id=bindparam("s_ti", type_=Integer),
        try_number=bindparam("s_try", type_=Integer),
        from_states=[S.QUEUED],
    )
    .returning(
        _TI.task_id, _TI.run_pk, _TI.max_tries, _TI.map_index, _TI.resumptions, _TI.queued_at
    )
    .cte("started")
)
_START_AND_READ = (
    select(
        _STARTED.c.task_id.label("started_task_id"),
        _STARTED.c.max_tries.label("started_max_tries"),
        _STARTED.c.map_index.label("started_map_index"),
        _STARTED.c.resumptions.label("started_resumptions"),
        _STARTED.c.queued_at.label("started_queued_at"),
        dag_run,
        dag.c.is_paused,
    )
    .select_from(_STARTED)
    .join(dag_run, dag_run.c.id == _STARTED.c.run_pk)
    .outerjoin(dag, dag.c.dag_id == dag_run.c.dag_id)
)
_OPEN = moves.renderer(
    now=bindparam("o_now", type_=UtcDateTime),
    given=lambda name: moves.given_param("o_", name),
    to=literal(S.RUNNING.value, String),
)
_OPENED_TRY = (
    insert(task_try)
    .values(
        ti_id=bindparam("o_ti", type_=Integer),
        try_number=bindparam("o_try", type_=Integer),
        **moves.columns(moves.opens_try(lifecycle.START), _OPEN),
    )
    .cte("opened_try")
)
_OPEN_TRY_AND_NOTE = (
    insert(task_event)
    .values(
        ti_id=bindparam("o_ti", type_=Integer),
        try_number=bindparam("o_try", type_=Integer),
        at=bindparam("o_now", type_=UtcDateTime),
        kind=_event_kind(lifecycle.START, _OPEN),
        actor=bindparam("o_actor", type_=String),
        message=bindparam("o_message", type_=Text),
        detail=bindparam("o_detail", type_=_DETAIL),
    )
    .add_cte(_OPENED_TRY)
)


def start_and_read(
    conn: Connection,
    ti_id: int,
    try_number: int,
    *,
    hostname: str,
    pid: int,
    actor: Actor,
    log_path: Callable[[lifecycle.StartedTry], str | None],
) -> tuple[lifecycle.StartedTry, runs.RunRow] | None:
    """``transitions.start_try``, and the try's run; None if the try was not this process's
    to start (a duplicate message, or started elsewhere)."""
    if conn.dialect.name != "postgresql":
        started = transitions.start_try(
            conn, ti_id, try_number, hostname=hostname, pid=pid, actor=actor, log_path=log_path
        )
        return None if started is None else (started, runs.get_run(conn, started.run_pk))
    lifecycle.check_step([S.QUEUED], S.RUNNING)
    now = utcnow()
    params = {
        "s_ti": ti_id,
        "s_try": try_number,
        "s_now": now,
        "s_hostname": hostname,
        "s_pid": pid,
    }
    row = conn.execute(_START_AND_READ, params).first()
    if row is None and wait_for_queuing(conn, ti_id):
        now = params["s_now"] = utcnow()  # the try starts now, not before the wait
        row = conn.execute(_START_AND_READ, params).first()
    if row is None:
        moves.lost(conn, ti_id, [S.QUEUED], S.RUNNING, try_number)
        return None
    run = runs.run_row(row)
    started = lifecycle.StartedTry(
        ti_id,
        try_number,
        run.dag_id,
        run.run_id,
        row.started_task_id,
        run.id,
        row.started_max_tries,
        now,
        row.started_queued_at,
        row.started_map_index,
        row.started_resumptions,
    )
    _open_try(conn, started, params, log_path(started), actor)
    return started, run


def own_start(
    conn: Connection, ti_id: int, try_number: int, *, hostname: str, pid: int
) -> tuple[lifecycle.StartedTry, runs.RunRow] | None:
    """A start this process made whose answer was lost on the way back (its commit reached
    the server, the link did not): the try running under this ``hostname`` and ``pid``, and
    its run; None if it is not running as this process's."""
    row = conn.execute(
        select(
            task_instance.c.run_pk,
            task_instance.c.task_id,
            task_instance.c.max_tries,
            task_instance.c.start_date,
            task_instance.c.map_index,
            task_instance.c.resumptions,
            task_instance.c.queued_at,
        ).where(
            task_instance.c.id == ti_id,
            task_instance.c.state == S.RUNNING,
            task_instance.c.try_number == try_number,
            task_instance.c.hostname == hostname,
            task_instance.c.pid == pid,
        )
    ).first()
    if row is None:
        return None
    run = runs.get_run(conn, row.run_pk)
    started = lifecycle.StartedTry(
        ti_id,
        try_number,
        run.dag_id,
        run.run_id,
        row.task_id,
        run.id,
        row.max_tries,
        row.start_date,
        row.queued_at,
        row.map_index,
        row.resumptions,
    )
    return started, run


def _open_try(
    conn: Connection,
    started: lifecycle.StartedTry,
    params: dict[str, Any],
    path: str | None,
    actor: Actor,
) -> None:
    """The started try's row and its timeline entry, in one statement."""
    hostname, pid = params["s_hostname"], params["s_pid"]
    message, detail = lifecycle.started_note(hostname, pid, path)
    conn.execute(
        _OPEN_TRY_AND_NOTE,
        {
            "o_ti": started.ti_id,
            "o_try": started.try_number,
            "o_hostname": hostname,
            "o_pid": pid,
            "o_now": started.start_date,
            "o_log_path": path,
            "o_resumptions": started.resumptions,
            "o_actor": actor.name,
            "o_message": message,
            "o_detail": detail,
        },
    )


# -- 4. a try queued and started by the process whose hop made it ready ----------------------

_QS_NOW = bindparam("qs_now", type_=UtcDateTime)
_QS_TRY = bindparam("qs_try", type_=Integer)  # the try number the task instance has now


_QS_RENDER = moves.renderer(
    now=_QS_NOW,
    given=lambda name: moves.given_param("qs_", name),
    to=literal(S.RUNNING.value, String),
)


def _queue_and_start_update(move: lifecycle.TaskMove) -> Update:
    """``move`` (a queueing and START as one update) of one task instance, returning its id,
    its try's number and max_tries: alone on SQLite, the first CTE on PostgreSQL."""
    return moves.update_of(
        move, _QS_RENDER, ti_id=bindparam("qs_ti", type_=Integer), try_number=_QS_TRY
    ).returning(_TI.id, _TI.try_number, _TI.max_tries, _TI.resumptions)


def _queue_and_start_statement(move: lifecycle.TaskMove) -> Select[tuple[int, int]]:
    """``move`` for one task instance, its try row and its timeline entries, written only if
    it won; selects the try's number and max_tries."""
    moved = _queue_and_start_update(move).cte("queued_and_started")
    # The resumptions the update's row holds: the try this dispatch belongs to.
    try_columns = {
        **moves.columns(moves.opens_try(move), _QS_RENDER),
        "resumptions": moved.c.resumptions,
    }
    opened = (
        insert(task_try)
        .from_select(
            ["ti_id", "try_number", *try_columns],
            select(moved.c.id, moved.c.try_number, *try_columns.values()),
        )
        .cte("queued_and_started_try")
    )
    kinds = move.event_kinds(S.RUNNING)
    notes = union_all(
        *(
            select(
                literal(n, Integer).label("n"),
                literal(kind, String).label("kind"),
                bindparam(f"qs_message_{n}", type_=Text).label("message"),
                (
                    null() if kind == "scheduled" else bindparam(f"qs_detail_{n}", type_=_DETAIL)
                ).label("detail"),
            )
            for n, kind in enumerate(kinds)
        )
    ).subquery("notes")
    noted = (
        insert(task_event)
        .from_select(
            _EVENT_COLUMNS,
            select(
                moved.c.id,
                moved.c.try_number,
                _QS_NOW,
                notes.c.kind,
                bindparam("qs_actor", type_=String),
                notes.c.message,
                notes.c.detail,
            )
            .join_from(moved, notes, literal(True))
            .order_by(notes.c.n),
        )
        .cte("queued_and_started_notes")
    )
    # Data-modifying CTEs run whether or not the outer select reads them; the inserts read
    # the update's row, so they write only if it won.
    return (
        select(moved.c.try_number, moved.c.max_tries, moved.c.resumptions)
        .add_cte(opened)
        .add_cte(noted)
    )


_KEPT_MOVES = (lifecycle.SCHEDULE_QUEUE_AND_START, lifecycle.QUEUE_AND_START)
#: The moves the hop folds into fewer statements on PostgreSQL, each also made a statement at
#: a time on every store (tests/integration/test_move_walk.py holds the two forms together).
FOLDED_MOVES: tuple[lifecycle.TaskMove, ...] = (
    lifecycle.FINISH,
    lifecycle.START,
    *_READY_MOVES,
    *_KEPT_MOVES,
)
_QUEUE_AND_START = {move.name: _queue_and_start_statement(move) for move in _KEPT_MOVES}
# SQLite: the same update alone, then the try's row; the timeline entries go with the commit.
_QUEUE_AND_START_UPDATE = {move.name: _queue_and_start_update(move) for move in _KEPT_MOVES}
_QS_OPEN_TRY = insert(task_try).values(
    ti_id=bindparam("qs_ti", type_=Integer),
    try_number=bindparam("qs_new_try", type_=Integer),
    **moves.columns(moves.opens_try(lifecycle.START), _QS_RENDER),
)


@dataclass(frozen=True)
class Started:
    """What a won :func:`queue_and_start` tells its caller."""

    try_number: int
    max_tries: int
    start_date: datetime
    resumptions: int = 0

    @property
    def queued_at(self) -> datetime:
        """Queued and started by one statement, at one moment."""
        return self.start_date


def queue_and_start(
    conn: Connection,
    run: LockedRun,
    ready: Ready,
    from_state: TaskState,
    *,
    hostname: str,
    pid: int,
    actor: Actor,
    log_path: str | None,
) -> Started | None:
    """Queue ``ready`` (``none -> queued`` as :func:`queue_ready`, or ``scheduled -> queued``
    as :func:`queue_waiting`, by ``from_state``) and start it (``queued -> running``): for a
    try that the process whose hop made it ready starts itself, in that transaction. On
    PostgreSQL one statement, with the try's row and every step's timeline entry; None if
    it lost (and nothing written)."""
    move = lifecycle.SCHEDULE_QUEUE_AND_START if from_state is S.NONE else lifecycle.QUEUE_AND_START
    lifecycle.check_step([from_state], S.QUEUED)
    lifecycle.check_step([S.QUEUED], S.RUNNING)
    now = utcnow()
    params: dict[str, Any] = {
        "qs_ti": ready.ti_id,
        "qs_try": ready.try_number,
        "qs_now": now,
        "qs_hostname": hostname,
        "qs_pid": pid,
        "qs_log_path": log_path,
        "qs_actor": actor.name,
    }
    notes = [
        _queue_and_start_note(kind, ready, hostname, pid, log_path)
        for kind in move.event_kinds(S.RUNNING)
    ]
    if conn.dialect.name != "postgresql":
        return _queue_then_start(conn, move, params, notes, ready, from_state, actor)
    for n, (message, detail) in enumerate(notes):
        params[f"qs_message_{n}"] = message
        if detail is not None:
            params[f"qs_detail_{n}"] = detail
    row = conn.execute(_QUEUE_AND_START[move.name], params).first()
    if row is None:
        moves.lost(conn, ready.ti_id, [from_state], S.RUNNING, ready.try_number)
        return None
    return Started(row.try_number, row.max_tries, now, row.resumptions)


def set_log_path(conn: Connection, ti_id: int, try_number: int, path: str) -> None:
    """The log file of dispatch ``try_number``'s row, named once its start read the try."""
    conn.execute(
        update(task_try)
        .where(task_try.c.ti_id == ti_id, task_try.c.try_number == try_number)
        .values(log_path=path)
    )


def _queue_and_start_note(
    kind: str, ready: Ready, hostname: str, pid: int, log_path: str | None
) -> tuple[str, dict[str, Any] | None]:
    """The message and detail of one of :func:`queue_and_start`'s timeline entries."""
    if kind == "started":
        return lifecycle.started_note(hostname, pid, log_path)
    if kind == "queued":
        return lifecycle.kept_note(ready.queue)
    return lifecycle.ready_note(kind, ready.reason, ready.queue)


def _queue_then_start(
    conn: Connection,
    move: lifecycle.TaskMove,
    params: dict[str, Any],
    notes: list[tuple[str, dict[str, Any] | None]],
    ready: Ready,
    from_state: TaskState,
    actor: Actor,
) -> Started | None:
    """:func:`queue_and_start` on SQLite: the one guarded update, then the try's row; the
    timeline entries are written with the commit."""
    row = prepared.execute(conn, _QUEUE_AND_START_UPDATE[move.name], params).first()
    if row is None:
        moves.lost(conn, ready.ti_id, [from_state], S.RUNNING, ready.try_number)
        return None
    opened = {**params, "qs_new_try": row.try_number, "qs_resumptions": row.resumptions}
    prepared.execute(conn, _QS_OPEN_TRY, opened)
    now = params["qs_now"]
    won = moves.won(ready.ti_id, [from_state], S.RUNNING, row.try_number)
    transitions.record_notes(conn, move, won, notes, actor, now)
    return Started(row.try_number, row.max_tries, now, row.resumptions)
