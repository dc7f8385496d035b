"""Each move of a task instance, and of a run, declared once, as data, and rendered.

A move is a conditional UPDATE of one task instance: from some states, guarded by its try
number, to a state, setting some columns, and, when it wins, writing its timeline entries
and opening or closing the try's row. :mod:`conveyor.store.transitions` renders a move as
one statement (every store); :mod:`conveyor.store.hop.steps` folds a hop's moves into
data-modifying CTEs on PostgreSQL. Both build their statements from the declarations here,
once at import, so the guard and the columns of a move cannot differ between the two.

A run's moves (:class:`RunMove`: start, succeed, fail, time out) are declared the same way,
and rendered by ``transitions.make_run_move``; the engine makes them (``engine/runs.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Update,
    bindparam,
    null,
    select,
    update,
)

from conveyor.states import RunState, TaskState
from conveyor.store.tables import task_instance, task_try

log = logging.getLogger(__name__)

S = TaskState
_TI = task_instance.c


class Value(Enum):
    """What a column is set to, besides a value the caller gives (:class:`Given`)."""

    NOW = "now"  # the move's timestamp, the same for every column and timeline entry
    NULL = "null"
    NEXT_TRY = "next_try"  # try_number + 1: the move numbers the next try, once
    TO = "to"  # the state the move reaches (a try row's state)
    DURATION = "duration"  # seconds from the try row's start_date to NOW
    ONE_MORE_TRY = "one_more_try"  # max_tries + 1: a try granted back, not the task's fault


@dataclass(frozen=True)
class Given:
    """A column set to a value the caller of the move gives, under this name."""

    name: str


ColumnValue = Value | Given


@dataclass(frozen=True)
class Move:
    """One guarded move of a task instance, as data.

    ``to`` is None for a move whose target the caller says (a finish reaches the state of
    its outcome). ``events``: the kinds of the timeline entries a won move writes, in order;
    ``None`` stands for the state reached. ``opens_try`` / ``closes_try``: the columns of the
    try's row that a won move inserts or updates.
    """

    name: str
    from_states: frozenset[TaskState]
    to: TaskState | None
    sets: Mapping[str, ColumnValue]
    events: tuple[str | None, ...]
    opens_try: Mapping[str, ColumnValue] = field(default_factory=dict)
    closes_try: Mapping[str, ColumnValue] = field(default_factory=dict)

    @property
    def numbers_next_try(self) -> bool:
        return self.sets.get("try_number") is Value.NEXT_TRY

    def event_kinds(self, to: TaskState) -> list[str]:
        return [kind or to.value for kind in self.events]

    def target(self, to: TaskState | None) -> TaskState:
        if self.to is not None and to not in (None, self.to):
            raise ValueError(f"move {self.name} goes to {self.to}, not {to}")
        target = to or self.to
        if target is None:
            raise ValueError(f"move {self.name} needs the state it goes to")
        return target


NOW, NULL, NEXT_TRY, TO, DURATION, ONE_MORE_TRY = (
    Value.NOW,
    Value.NULL,
    Value.NEXT_TRY,
    Value.TO,
    Value.DURATION,
    Value.ONE_MORE_TRY,
)

#: What every move that schedules a try sets: the next try numbered, scheduled now, no retry due.
_SCHEDULING: dict[str, ColumnValue] = {
    "try_number": NEXT_TRY,
    "scheduled_at": NOW,
    "retry_at": NULL,
}

#: The moves the engine makes on its own, each with its timeline entries. A person's clear
#: or mark (``transitions.set_by_hand``) is no guarded move: it goes from whatever it finds.
SCHEDULE = Move(
    "schedule",
    frozenset({S.NONE, S.UP_FOR_RETRY, S.UP_FOR_RESCHEDULE}),
    S.SCHEDULED,
    {**_SCHEDULING, "next_method": NULL},
    ("scheduled",),
)
SCHEDULE_AND_QUEUE = Move(  # the fast path: the timeline still shows both steps
    "schedule_and_queue",
    frozenset({S.NONE}),
    S.QUEUED,
    {**_SCHEDULING, "queued_at": NOW, "next_method": NULL},
    ("scheduled", "queued"),
)
QUEUE = Move("queue", frozenset({S.SCHEDULED}), S.QUEUED, {"queued_at": NOW}, ("queued",))
START = Move(
    "start",
    frozenset({S.QUEUED}),
    S.RUNNING,
    {
        "start_date": NOW,
        "end_date": NULL,
        "hostname": Given("hostname"),
        "pid": Given("pid"),
        "heartbeat_at": NOW,
    },
    ("started",),
    opens_try={
        "state": TO,
        "hostname": Given("hostname"),
        "pid": Given("pid"),
        "start_date": NOW,
        "log_path": Given("log_path"),
    },
)


def _then_start(name: str, queueing: Move) -> Move:
    """``queueing`` and START as one update, the timeline showing every step: for a try that
    the process whose hop queued it starts at once, in the same transaction."""
    return Move(
        name,
        queueing.from_states,
        S.RUNNING,
        {**queueing.sets, **START.sets},
        (*queueing.events, *START.events),
        opens_try=START.opens_try,
    )


SCHEDULE_QUEUE_AND_START = _then_start("schedule_queue_and_start", SCHEDULE_AND_QUEUE)
QUEUE_AND_START = _then_start("queue_and_start", QUEUE)
FINISH = Move(  # from queued: a try that could not start; from deferred: its timeout
    "finish",
    frozenset({S.RUNNING, S.QUEUED, S.DEFERRED}),
    None,
    {"end_date": NOW, "retry_at": Given("retry_at"), "heartbeat_at": NULL},
    (None,),
    closes_try={
        "state": TO,
        "end_date": NOW,
        "duration": DURATION,
        "exit_kind": Given("exit_kind"),
        "error": Given("error"),
    },
)
FINISH_WITHOUT_RUNNING = Move(
    "finish_without_running", frozenset({S.NONE}), None, {"end_date": NOW}, (None,)
)

#: A fail_fast DAG's task failed: every other unfinished instance of the run that is not
#: running is skipped (Airflow's rule), whatever it waited for; a queued try's process then
#: loses its start, a deferred one's trigger its resumption.
STOP_UNFINISHED = Move(
    "stop_unfinished",
    frozenset(
        {
            S.NONE,
            S.SCHEDULED,
            S.QUEUED,
            S.UP_FOR_RETRY,
            S.UP_FOR_RESCHEDULE,
            S.DEFERRED,
            S.UPSTREAM_FAILED,
        }
    ),
    S.SKIPPED,
    {"end_date": NOW, "retry_at": NULL, "heartbeat_at": NULL},
    (None,),
)

#: A deferred try's trigger fired: the next try is numbered, and resumes at the trigger's
#: method with the event (engine/deferral.py). Every other move to scheduled clears
#: ``next_method``, so only the try after a deferral resumes.
RESUME = Move(
    "resume",
    frozenset({S.DEFERRED}),
    S.SCHEDULED,
    {**_SCHEDULING, "next_method": Given("next_method"), "next_kwargs": Given("next_kwargs")},
    ("scheduled",),
)

#: A worker that stops hands its running try back (``engine/runs.py``): up for retry at
#: once, with one more try granted, so a deploy or a scale-down never uses up a task's retries.
HAND_BACK = Move(
    "hand_back",
    frozenset({S.RUNNING}),
    S.UP_FOR_RETRY,
    {**FINISH.sets, "retry_at": NOW, "max_tries": ONE_MORE_TRY},
    (None,),
    closes_try=FINISH.closes_try,
)

MOVES = (
    SCHEDULE,
    SCHEDULE_AND_QUEUE,
    QUEUE,
    START,
    FINISH,
    FINISH_WITHOUT_RUNNING,
    STOP_UNFINISHED,
    RESUME,
    HAND_BACK,
)


@dataclass(frozen=True)
class RunMove:
    """One guarded move of a run, as data: ``WHERE id = run_pk AND state IN from_states``,
    setting the state and ``sets`` (values as a task move's, :class:`Value` or
    :class:`Given`). Who makes each, and under which lock, is ``engine/runs.py``'s."""

    name: str
    from_states: frozenset[RunState]
    to: RunState
    sets: Mapping[str, ColumnValue]


#: The moves of a run the engine makes. A person's (a finished run sent back to queued after
#: a clear or a mark) goes through ``transitions.move_run``, checked against ``RUN_MOVES``.
RUN_START = RunMove(  # the loop, once max_active_runs leaves room
    "start_run", frozenset({RunState.QUEUED}), RunState.RUNNING, {"start_date": NOW}
)
_RUN_END: Mapping[str, ColumnValue] = {"end_date": NOW, "note": Given("note")}
RUN_SUCCEED = RunMove("succeed_run", frozenset({RunState.RUNNING}), RunState.SUCCESS, _RUN_END)
RUN_FAIL = RunMove("fail_run", frozenset({RunState.RUNNING}), RunState.FAILED, _RUN_END)
#: Past its ``dagrun_timeout``: failed as RUN_FAIL is, by the scheduler rather than its plan.
RUN_TIME_OUT = RunMove("time_out_run", frozenset({RunState.RUNNING}), RunState.FAILED, _RUN_END)
MOVES_OF_A_RUN = (RUN_START, RUN_SUCCEED, RUN_FAIL, RUN_TIME_OUT)


# -- rendering -------------------------------------------------------------------------------

Render = Callable[[ColumnValue], ColumnElement[Any]]


def renderer(
    *,
    now: ColumnElement[Any],
    given: Callable[[str], ColumnElement[Any]],
    to: ColumnElement[Any],
    duration: ColumnElement[Any] | None = None,
    next_try: ColumnElement[Any] | None = None,
) -> Render:
    """How a store renders each kind of value: as bind parameters for one statement, or as
    the columns of a CTE's rows."""

    def render(value: ColumnValue) -> ColumnElement[Any]:
        if isinstance(value, Given):
            return given(value.name)
        if value is NOW:
            return now
        if value is NULL:
            return null()
        if value is TO:
            return to
        if value is NEXT_TRY:
            return next_try if next_try is not None else _TI.try_number + 1
        if value is ONE_MORE_TRY:
            return _TI.max_tries + 1
        if duration is None:
            raise ValueError("this rendering has no duration")
        return duration

    return render


def given_param(prefix: str, name: str) -> BindParameter[Any]:
    """The parameter of a :class:`Given` value, typed as the column of that name."""
    column = task_instance.c.get(name)
    if column is None:
        column = task_try.c[name]
    return bindparam(prefix + name, type_=column.type)


def columns(sets: Mapping[str, ColumnValue], render: Render) -> dict[str, ColumnElement[Any]]:
    return {name: render(value) for name, value in sets.items()}


def update_of(
    move: Move,
    render: Render,
    *,
    ti_id: ColumnElement[Any],
    try_number: ColumnElement[Any],
    from_states: Iterable[TaskState] | BindParameter[Any] | ColumnElement[Any] | None = None,
) -> Update:
    """The guarded UPDATE of ``move``: ``WHERE id = ti_id AND state IN from_states AND
    try_number = try_number``, setting the state, ``updated_at`` and the move's columns.

    ``from_states``: a subset of the move's (fixed in the statement), an expanding parameter,
    or a column of the rows the statement moves (one state each); the caller fills the last
    two and :func:`conveyor.store.transitions.check_move` checks them.
    """
    if from_states is None:
        from_states = move.from_states
    guard: ColumnElement[bool]
    if isinstance(from_states, BindParameter):
        guard = _TI.state.in_(from_states)
    elif isinstance(from_states, ColumnElement):
        guard = _TI.state == from_states
    else:
        states = sorted(from_states)
        assert set(states) <= move.from_states, (move.name, states)
        # One state compares with "=": the statements of a hop stay as cheap as before.
        guard = (
            _TI.state == states[0].value
            if len(states) == 1
            else _TI.state.in_([s.value for s in states])
        )
    return (
        update(task_instance)
        .where(_TI.id == ti_id, guard, _TI.try_number == try_number)
        .values(
            state=render(TO),
            updated_at=render(NOW),
            **columns(move.sets, render),
        )
    )


# -- what a move found -----------------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    """What a move did: truthy iff it won. ``found``: the state it left the task instance
    in when it won, the state another process had left it in when it lost (None: there is
    no such task instance any more)."""

    ti_id: int
    expected: tuple[TaskState, ...]
    to: TaskState
    won: bool
    found: TaskState | None
    found_try: int | None = None

    def __bool__(self) -> bool:
        return self.won


_FOUND = select(_TI.state, _TI.try_number).where(_TI.id == bindparam("found_ti"))


def won(ti_id: int, expected: Iterable[TaskState], to: TaskState, try_number: int | None) -> Moved:
    return Moved(ti_id, tuple(expected), to, True, to, try_number)


def lost(
    conn: Connection,
    ti_id: int,
    expected: Iterable[TaskState],
    to: TaskState,
    try_number: int | None,
) -> Moved:
    """A move that found its task instance moved already: read what it found, and say so.

    Not an error: a duplicated message, a second scheduler, a timeout racing a finishing
    try all end here, and the loser does nothing. The read costs a round trip on the losing
    side only.
    """
    row = conn.execute(_FOUND, {"found_ti": ti_id}).first()
    moved = Moved(
        ti_id,
        tuple(expected),
        to,
        False,
        None if row is None else TaskState(row.state),
        None if row is None else row.try_number,
    )
    log.info(
        "lost race on task instance %s: expected %s try %s -> %s, found %s try %s",
        ti_id,
        [s.value for s in moved.expected],
        try_number,
        to.value,
        moved.found.value if moved.found is not None else "no such task instance",
        moved.found_try,
    )
    return moved
