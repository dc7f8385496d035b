"""The SQL half of each move of a task instance, and of a run, keyed by its name, and rendered.

Each move is declared in :mod:`conveyor.lifecycle` (the states it leaves and reaches, why,
its timeline entries); here are the columns it sets, and the columns of the try's row it
opens or closes. :mod:`conveyor.store.transitions` renders a move as one statement (every
store); :mod:`conveyor.store.hop.steps` folds a hop's moves into data-modifying CTEs on
PostgreSQL. Both build their statements from the one table, once at import, so the guard
and the columns of a move cannot differ between the two.

A run's moves that the engine makes (start, succeed, fail, time out) have their columns
here too, rendered by ``transitions.make_run_move``; the engine makes them (``engine/runs.py``).
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
    and_,
    bindparam,
    case,
    null,
    select,
    update,
)

from conveyor import lifecycle
from conveyor.states import TaskState
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
    #: NOW, but a dispatch that resumes its try at a method (a deferral's, an answer's) keeps
    #: the try's start: Airflow keeps a resumed task instance's ``start_date``, so its
    #: duration covers the wait (a reschedule's poke starts anew, as in Airflow 3).
    START_UNLESS_RESUMING = "start_unless_resuming"


@dataclass(frozen=True)
class Given:
    """A column set to a value the caller of the move gives, under this name."""

    name: str


@dataclass(frozen=True)
class CountedIfContinued:
    """A counting column (``resumptions``, ``max_tries``) plus one when the move leaves a
    state whose try goes on (``lifecycle.NOT_A_RETRY``: a poke, a deferral's or an answer's
    resumption): the dispatch it numbers continues that try rather than starting one."""

    name: str


ColumnValue = Value | Given | CountedIfContinued

#: What a dispatch that continues its try sets: counted, and granted its own dispatch, so
#: the try number users see (try_number - resumptions) and the tries allowed (max_tries -
#: resumptions) stay as they were, while try_number, the fence, still moves on.
_CONTINUING: dict[str, ColumnValue] = {
    "resumptions": CountedIfContinued("resumptions"),
    "max_tries": CountedIfContinued("max_tries"),
}


NOW, NULL, NEXT_TRY, TO, DURATION, ONE_MORE_TRY, START_UNLESS_RESUMING = (
    Value.NOW,
    Value.NULL,
    Value.NEXT_TRY,
    Value.TO,
    Value.DURATION,
    Value.ONE_MORE_TRY,
    Value.START_UNLESS_RESUMING,
)


@dataclass(frozen=True)
class Columns:
    """The SQL half of one move of a task instance (its other half, the states, is
    :class:`conveyor.lifecycle.TaskMove`): the columns of the task instance it sets, and the
    columns of the try's row that a won move inserts (``opens_try``) or updates
    (``closes_try``). A move that numbers the next try also sets ``try_number``."""

    sets: Mapping[str, ColumnValue]
    opens_try: Mapping[str, ColumnValue] = field(default_factory=dict)
    closes_try: Mapping[str, ColumnValue] = field(default_factory=dict)


#: What every move that schedules a try sets besides the try number: scheduled now, no
#: retry due.
_SCHEDULING: dict[str, ColumnValue] = {"scheduled_at": NOW, "retry_at": NULL}
_STARTING = Columns(
    {
        "start_date": START_UNLESS_RESUMING,
        "end_date": NULL,
        "hostname": Given("hostname"),
        "pid": Given("pid"),
        "heartbeat_at": NOW,
    },
    opens_try={
        "state": TO,
        "hostname": Given("hostname"),
        "pid": Given("pid"),
        "start_date": NOW,
        "log_path": Given("log_path"),
        # The task instance's, as the start read it: the try this dispatch belongs to.
        "resumptions": Given("resumptions"),
    },
)
_FINISHING = Columns(
    {"end_date": NOW, "retry_at": Given("retry_at"), "heartbeat_at": NULL},
    closes_try={
        "state": TO,
        "end_date": NOW,
        "duration": DURATION,
        "exit_kind": Given("exit_kind"),
        "error": Given("error"),
    },
)
_SCHEDULE_AND_QUEUE = Columns({**_SCHEDULING, "queued_at": NOW, "next_method": NULL})
_QUEUE = Columns({"queued_at": NOW})


def _then_start(queueing: Columns) -> Columns:
    """The columns of a queueing folded with the start (``lifecycle.then_start``)."""
    return Columns({**queueing.sets, **_STARTING.sets}, opens_try=_STARTING.opens_try)


#: The columns of every move of a task instance, keyed by the move's name in
#: :data:`conveyor.lifecycle.TASK_MOVES_BY_NAME`. A person's clear or mark
#: (``transitions.set_by_hand``) is no guarded move: it goes from whatever it finds.
TASK_COLUMNS: Mapping[str, Columns] = {
    lifecycle.SCHEDULE.name: Columns({**_SCHEDULING, "next_method": NULL, **_CONTINUING}),
    lifecycle.SCHEDULE_AND_QUEUE.name: _SCHEDULE_AND_QUEUE,
    lifecycle.QUEUE.name: _QUEUE,
    lifecycle.START.name: _STARTING,
    lifecycle.SCHEDULE_QUEUE_AND_START.name: _then_start(_SCHEDULE_AND_QUEUE),
    lifecycle.QUEUE_AND_START.name: _then_start(_QUEUE),
    # From queued: a try that could not start; from deferred: its timeout.
    lifecycle.FINISH.name: _FINISHING,
    lifecycle.FINISH_WITHOUT_RUNNING.name: Columns({"end_date": NOW}),
    lifecycle.STOP_UNFINISHED.name: Columns(
        {"end_date": NOW, "retry_at": NULL, "heartbeat_at": NULL}
    ),
    # Every other move to scheduled clears next_method, so only the try after a deferral
    # resumes at the trigger's method.
    lifecycle.RESUME.name: Columns(
        {
            **_SCHEDULING,
            "next_method": Given("next_method"),
            "next_kwargs": Given("next_kwargs"),
            **_CONTINUING,
        }
    ),
    lifecycle.HAND_BACK.name: Columns(
        {**_FINISHING.sets, "retry_at": NOW, "max_tries": ONE_MORE_TRY},
        closes_try=_FINISHING.closes_try,
    ),
}

#: The columns every move of a run the engine makes sets besides its state, keyed by the
#: move's name. A person's (a finished run sent back to queued after a clear or a mark)
#: goes through ``transitions.move_run``, with the columns its caller names.
_RUN_END: Mapping[str, ColumnValue] = {"end_date": NOW, "note": Given("note")}
RUN_COLUMNS: Mapping[str, Mapping[str, ColumnValue]] = {
    lifecycle.RUN_START.name: {"start_date": NOW},
    lifecycle.RUN_SUCCEED.name: _RUN_END,
    lifecycle.RUN_FAIL.name: _RUN_END,
    lifecycle.RUN_TIME_OUT.name: _RUN_END,
}


def _declared_once() -> None:
    """Each move of the lifecycle has its columns here, and nothing else has: checked at
    import, so a move added on one side only fails every test at once."""
    task = set(lifecycle.TASK_MOVES_BY_NAME)
    run = {move.name for move in lifecycle.ENGINE_RUN_MOVES}
    if set(TASK_COLUMNS) != task or set(RUN_COLUMNS) != run:
        raise AssertionError(
            "store/moves.py and lifecycle.py disagree on the moves: "
            f"{sorted(set(TASK_COLUMNS) ^ task)} {sorted(set(RUN_COLUMNS) ^ run)}"
        )


_declared_once()


def sets_of(move: lifecycle.TaskMove) -> dict[str, ColumnValue]:
    """The columns ``move`` sets on the task instance, besides its state and ``updated_at``."""
    numbering: dict[str, ColumnValue] = {"try_number": NEXT_TRY} if move.numbers_next_try else {}
    return {**numbering, **TASK_COLUMNS[move.name].sets}


def opens_try(move: lifecycle.TaskMove) -> Mapping[str, ColumnValue]:
    """The columns of the try row a won ``move`` inserts (none: it opens no try)."""
    return TASK_COLUMNS[move.name].opens_try


def closes_try(move: lifecycle.TaskMove) -> Mapping[str, ColumnValue]:
    """The columns of the try row a won ``move`` updates (none: it closes no try)."""
    return TASK_COLUMNS[move.name].closes_try


# -- rendering -------------------------------------------------------------------------------

#: 1 when the row leaves a state whose try goes on, else 0: read from the row before the
#: update sets it (SQL's SET sees the old row).
_CONTINUES: ColumnElement[int] = case(
    (_TI.state.in_(sorted(state.value for state in lifecycle.NOT_A_RETRY)), 1), else_=0
)

#: A dispatch that resumes its try at a method, read from the row before the update.
_RESUMING: ColumnElement[bool] = and_(_TI.next_method.is_not(None), _TI.state != S.NONE.value)

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
        if isinstance(value, CountedIfContinued):
            return _TI[value.name] + _CONTINUES
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
        if value is START_UNLESS_RESUMING:
            # The row before the update: a resumption still holds its method; a row in none
            # (cleared) starts anew, whatever method it still holds.
            return case((_RESUMING, _TI.start_date), else_=now)
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
    move: lifecycle.TaskMove,
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
    two and :func:`conveyor.lifecycle.check_step` checks them.
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
        if not set(states) <= move.from_states:
            raise lifecycle.IllegalMove(
                move.name,
                f"it does not leave {', '.join(sorted(set(states) - move.from_states))}",
            )
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
            **columns(sets_of(move), render),
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
