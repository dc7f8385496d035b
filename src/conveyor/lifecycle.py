"""The lifecycle of a task instance and of a run, declared once.

``states.py`` names the states and their sets; this module says how each state looks
(label, colour, order) and how a state may change: every move by name, with the states it
leaves, the states it reaches, why each of those steps exists, what guards it against a race
and which timeline entries it writes. It also holds the values the moves speak (who made a
move, how a try ended, what the process that started a try knows).

Everything here is plain data and pure functions. The store renders each move as SQL
(``store/moves.py`` holds the columns each move sets, keyed by the move's name); the UI's
colours, labels and legend, the metrics' state list and the Airflow names read the tables
below, so a new state is its enum member, its rows here, and its meaning in the engine's
planning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import Any

from conveyor.exceptions import ConveyorError
from conveyor.states import (
    FAILED_LIKE,
    FINISHED,
    IN_FLIGHT,
    RUN_FINISHED,
    ExitKind,
    RunState,
    TaskState,
)

S = TaskState
R = RunState

# -- how each state looks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Display:
    """How the UI shows a state: its label, its colour (a CSS colour), the colour of a
    badge's text on it, how the graph frames a task in it (``heavy``: a thicker frame, for a
    state that asks for a look; ``framed``: False keeps the plain frame, and outlines its
    badge, for a state coloured as the page is), whether its squares pulse (work under way),
    its colour on the dark theme if another, and the colour of its name written as text."""

    label: str
    colour: str
    ink: str = "#ffffff"
    heavy: bool = False
    framed: bool = True
    pulse: bool = False
    dark: str | None = None  # its colour on the dark theme, if not its colour
    text: str | None = None  # its name written in colour (the CLI), if not in its colour

    @property
    def text_colour(self) -> str:
        return self.text or self.colour


#: Every task state, in the order the UI lists them (legends, filters): the finished and
#: running ones first, the waiting ones after.
TASK_DISPLAY: Mapping[TaskState, Display] = {
    S.SUCCESS: Display("success", "#2e9d4e"),
    S.RUNNING: Display("running", "#3fa7d6", heavy=True, pulse=True),
    S.FAILED: Display("failed", "#d63a3a", heavy=True),
    S.UP_FOR_RETRY: Display("up for retry", "#efbf2a", ink="#3f3000", heavy=True),
    S.UP_FOR_RESCHEDULE: Display("up for reschedule", "#6cc7c0", ink="#123b38"),
    S.DEFERRED: Display("deferred", "#9370db"),
    S.AWAITING_INPUT: Display("awaiting input", "#ff8c00", ink="#3d2100", heavy=True),
    S.UPSTREAM_FAILED: Display("upstream failed", "#f0872d"),
    S.SKIPPED: Display("skipped", "#f2a7c9", ink="#5e1f3b"),
    S.QUEUED: Display("queued", "#9aa3ad"),
    S.SCHEDULED: Display("scheduled", "#d2c0a0", ink="#3b3222"),
    S.NONE: Display(
        "no status", "#ffffff", ink="#66707c", framed=False, dark="#2a313a", text="#808080"
    ),
}

#: The timeline's entries whose kind is no state's name, shown in the colour of the state they
#: tell of (an entry named after a state is shown in its colour).
TIMELINE_KINDS: Mapping[str, TaskState] = {
    "started": S.RUNNING,
    "succeeded": S.SUCCESS,
    "crash": S.FAILED,
    "timeout": S.FAILED,
    "retry": S.UP_FOR_RETRY,
    "trigger": S.DEFERRED,
}

#: Every run state, in the order the UI lists them. A run state shares its colour with the
#: task state of the same name (one ``--st-<state>`` each).
RUN_DISPLAY: Mapping[RunState, Display] = {
    R.QUEUED: TASK_DISPLAY[S.QUEUED],
    R.RUNNING: TASK_DISPLAY[S.RUNNING],
    R.SUCCESS: TASK_DISPLAY[S.SUCCESS],
    R.FAILED: TASK_DISPLAY[S.FAILED],
}

#: The failed states, the worse first: what a mapped task or a group shows when one of its
#: instances ended so.
WORST_FIRST: tuple[TaskState, ...] = (S.FAILED, S.UPSTREAM_FAILED)

#: What a collapsed group of tasks shows for one run: the first of these states that one
#: of its tasks is in (then skipped if all were skipped, success if all finished well).
TELLING: tuple[TaskState, ...] = (
    *WORST_FIRST,
    S.UP_FOR_RETRY,
    S.RUNNING,
    S.QUEUED,
    S.SCHEDULED,
    S.UP_FOR_RESCHEDULE,
    S.DEFERRED,
    S.AWAITING_INPUT,
)

#: What a calendar's day shows: the first of these states that one of its runs is in.
DAY_TELLING: tuple[RunState, ...] = (R.FAILED, R.RUNNING, R.QUEUED, R.SUCCESS)

#: A finish into one of these is no retry: a poke, or a deferral that a later dispatch
#: resumes. That dispatch is numbered as any (the fence), counted as a resumption and granted
#: for itself: it continues the same try (``store/try_numbers.py``).
NOT_A_RETRY: frozenset[TaskState] = frozenset({S.UP_FOR_RESCHEDULE, S.DEFERRED, S.AWAITING_INPUT})
#: Task states that will change again without a person: Airflow's ``State.unfinished``.
UNFINISHED: frozenset[TaskState] = frozenset(S) - FINISHED
#: Finished states that let downstream tasks run (Airflow's ``State.success_states``).
SUCCEEDED_LIKE: frozenset[TaskState] = FINISHED - FAILED_LIKE
#: An instance waits for its ``retry_at``: a retry's delay, or a sensor's next poke.
WAITING_FOR_TIME: frozenset[TaskState] = frozenset({S.UP_FOR_RETRY, S.UP_FOR_RESCHEDULE})
#: An instance waits to be queued (its upstream, or a slot), which a run must be running for.
NOT_YET_QUEUED: frozenset[TaskState] = frozenset({S.NONE, S.SCHEDULED})
#: An instance holds its pool's slots (queued, running) or asks for them (scheduled).
POOLED: frozenset[TaskState] = IN_FLIGHT | {S.SCHEDULED}
#: The states a per-task limit counts (Airflow's ``ACTIVE_STATES``): a deferred instance, or
#: one awaiting a person's input, holds no worker slot, yet still counts towards its task's
#: limit (``max_active_tis_per_dag``).
ACTIVE: frozenset[TaskState] = IN_FLIGHT | {S.DEFERRED, S.AWAITING_INPUT}
#: The states Airflow's scheduler counts by DAG, task and queue (its ``ti.<state>`` gauges).
GAUGED: frozenset[TaskState] = ACTIVE | {S.SCHEDULED}
#: A try that failed, with tries left or none: what failure listeners and the failed-tries
#: views read.
FAILED_TRY: frozenset[TaskState] = frozenset({S.FAILED, S.UP_FOR_RETRY})
#: Run states that will change again without a person.
RUN_UNFINISHED: frozenset[RunState] = frozenset(R) - RUN_FINISHED


# -- the values the moves speak ---------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who made a move, for the timeline: ``scheduler@host``, ``worker@host:pid``, ``user:x``."""

    name: str


@dataclass(frozen=True)
class Outcome:
    """How a try ended, and how it says so (see :class:`ExitKind`)."""

    state: TaskState
    exit_kind: ExitKind
    error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class StartedTry:
    """What the process that won ``queued -> running`` needs to know about its try.

    ``try_number`` and ``max_tries`` number the dispatch, the fence its moves check;
    ``resumptions``: the dispatches before it that continued their try (a poke, a deferral's
    or an answer's resumption), so the try the task and its readers see is ``shown_try`` of
    ``shown_max_tries``, as Airflow numbers it."""

    ti_id: int
    try_number: int
    dag_id: str
    run_id: str
    task_id: str
    run_pk: int
    max_tries: int
    start_date: datetime
    queued_at: datetime | None  # the instance's: its try's spans start there
    map_index: int = -1  # an instance of a mapped task: 0..n-1
    resumptions: int = 0

    @property
    def shown_try(self) -> int:
        return self.try_number - self.resumptions

    @property
    def shown_max_tries(self) -> int:
        return self.max_tries - self.resumptions


class IllegalMove(ConveyorError):
    """A state change this module does not declare was asked for: a bug in the caller, never
    a race (a lost race is a guarded write that moved nothing). An error of its own, not an
    ``assert``: ``python -O`` strips asserts, the CLI prints a ConveyorError's message, and
    the web answers this one with a 500 that says which move. ``move`` names the move (or
    ``task state`` / ``run state`` for a bare step); ``start`` and ``to`` the states asked
    for, when known."""

    def __init__(
        self, move: str, problem: str, *, start: str | None = None, to: str | None = None
    ) -> None:
        self.move = move
        self.problem = problem
        self.start = start
        self.to = to
        super().__init__(f"illegal state move ({move}): {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (a child process's error reaches its parent): the default would
        # call the class with the message alone.
        return (type(self), (self.move, self.problem), {"start": self.start, "to": self.to})


# -- the moves --------------------------------------------------------------------------------


def _listed(states: Iterable[TaskState]) -> str:
    return ", ".join(sorted(state.value for state in states))


class Guard(Enum):
    """What a move's statement checks besides the state it leaves, and the race it stops."""

    #: The try number too: a late or duplicated message about an earlier try moves nothing.
    TRY = "state and try number"
    #: The state alone: a run has no tries; two schedulers ending one run, one wins.
    STATE = "state"


@dataclass(frozen=True)
class TaskMove:
    """One guarded move of a task instance: each step it may take (from, to) with why it
    exists, and the kinds of the timeline entries a won move writes, in order (``None``:
    the state it reached). ``numbers_next_try``: the move numbers the next dispatch (a new
    try, or one that continues a poke's or a deferral's: ``store/try_numbers.py``)."""

    name: str
    steps: Mapping[tuple[TaskState, TaskState], str]
    events: tuple[str | None, ...]
    guard: Guard = Guard.TRY
    numbers_next_try: bool = False

    # Cached: the hop asks a move for these on every call.
    @cached_property
    def from_states(self) -> frozenset[TaskState]:
        return frozenset(start for start, _ in self.steps)

    @cached_property
    def to_states(self) -> frozenset[TaskState]:
        return frozenset(to for _, to in self.steps)

    @cached_property
    def to(self) -> TaskState | None:
        """The one state the move reaches; None if its caller says which (a finish)."""
        (only, *more) = self.to_states
        return None if more else only

    def event_kinds(self, to: TaskState) -> list[str]:
        return [kind or to.value for kind in self.events]

    def target(self, to: TaskState | None) -> TaskState:
        """The state the move reaches, given the caller's ``to`` (None: the one it has)."""
        if to is None:
            if self.to is None:
                raise IllegalMove(
                    self.name, f"it reaches one of {_listed(self.to_states)}: say which"
                )
            return self.to
        if to not in self.to_states:
            raise IllegalMove(
                self.name, f"it reaches {_listed(self.to_states)}, not {to.value}", to=to
            )
        return to

    def check(self, starts: Iterable[TaskState], to: TaskState) -> None:
        """Raise :class:`IllegalMove` unless the move may go from each of ``starts`` to ``to``."""
        for start in starts:
            if (start, to) not in self.steps:
                raise IllegalMove(
                    self.name,
                    f"it does not go from {start.value} to {to.value}; "
                    f"it leaves {_listed(self.from_states)}",
                    start=start,
                    to=to,
                )


def _from(starts: Iterable[TaskState], to: TaskState, why: str) -> dict[tuple[S, S], str]:
    return {(start, to): why for start in starts}


SCHEDULE = TaskMove(
    "schedule",
    {
        (S.NONE, S.SCHEDULED): "upstream allows it; try_number is bumped here, once per dispatch",
        (S.UP_FOR_RETRY, S.SCHEDULED): "retry delay elapsed; the next try is numbered here",
        (S.UP_FOR_RESCHEDULE, S.SCHEDULED): "the poke interval elapsed; the next poke is "
        "numbered, a dispatch of the same try",
    },
    ("scheduled",),
    numbers_next_try=True,
)
SCHEDULE_AND_QUEUE = TaskMove(  # the fast path: the timeline still shows both steps
    "schedule_and_queue",
    {(S.NONE, S.QUEUED): "ready with room to run: scheduled and queued at once"},
    ("scheduled", "queued"),
    numbers_next_try=True,
)
QUEUE = TaskMove(
    "queue",
    {(S.SCHEDULED, S.QUEUED): "handed to an executor; only one scheduler can hand it over"},
    ("queued",),
)
START = TaskMove(
    "start",
    {(S.QUEUED, S.RUNNING): "exactly one process starts a try; duplicates lose here"},
    ("started",),
)
FINISH = TaskMove(
    "finish",
    {
        (S.RUNNING, S.SUCCESS): "the try returned",
        (S.RUNNING, S.FAILED): "the try failed with no tries left, or raised Fail",
        (S.RUNNING, S.UP_FOR_RETRY): "the try failed with tries left",
        (S.RUNNING, S.SKIPPED): "the task raised Skip",
        (S.RUNNING, S.UP_FOR_RESCHEDULE): "a sensor in reschedule mode poked; it frees its slot",
        (S.RUNNING, S.DEFERRED): "the task deferred to a trigger; it frees its slots",
        (S.RUNNING, S.AWAITING_INPUT): "the task asked a person; it frees its slots meanwhile",
        (S.QUEUED, S.FAILED): "the try could not start (its DAG or task vanished)",
        (S.QUEUED, S.UP_FOR_RETRY): "the try could not start, with tries left",
        (S.DEFERRED, S.FAILED): "the deferral timed out, with no tries left",
        (S.DEFERRED, S.UP_FOR_RETRY): "the deferral timed out, with tries left",
    },
    (None,),
)
FINISH_WITHOUT_RUNNING = TaskMove(
    "finish_without_running",
    {
        (S.NONE, S.SKIPPED): "a branch chose another path or the trigger rule says skip",
        (S.NONE, S.UPSTREAM_FAILED): "an upstream failure means this task cannot run",
    },
    (None,),
)
#: A fail_fast DAG's task failed: every other unfinished instance of the run that is not
#: running is skipped (Airflow's rule), whatever it waited for; a queued try's process then
#: loses its start, a deferred one's trigger its resumption (engine/fail_fast.py).
STOP_UNFINISHED = TaskMove(
    "stop_unfinished",
    _from(
        (
            S.NONE,
            S.SCHEDULED,
            S.QUEUED,
            S.UP_FOR_RETRY,
            S.UP_FOR_RESCHEDULE,
            S.DEFERRED,
            S.AWAITING_INPUT,
            S.UPSTREAM_FAILED,
        ),
        S.SKIPPED,
        "fail_fast: another task of the run failed",
    ),
    (None,),
)
#: A deferred try's trigger fired (engine/deferral.py), or a person answered a try awaiting
#: input or its response timeout passed (engine/awaiting_input.py): the next dispatch is
#: numbered, continues the same try (``store/try_numbers.py``), and resumes at the method the
#: try named, with the event.
RESUME = TaskMove(
    "resume",
    {
        (
            S.DEFERRED,
            S.SCHEDULED,
        ): "the trigger fired; the try resumes the task with its event",
        (S.AWAITING_INPUT, S.SCHEDULED): "a person answered, or the wait timed out; the try "
        "resumes the task with the answer",
    },
    ("scheduled",),
    numbers_next_try=True,
)
#: A worker that stops hands its running try back: up for retry at once, with one more try
#: granted, so a deploy or a scale-down never uses up a task's retries.
HAND_BACK = TaskMove(
    "hand_back",
    {(S.RUNNING, S.UP_FOR_RETRY): "its worker stopped; the try is no fault of the task's"},
    (None,),
)


def then_start(name: str, queueing: TaskMove) -> TaskMove:
    """``queueing`` and :data:`START` as one move, the timeline showing every step: for a
    try that the process whose hop queued it starts at once, in the same transaction."""
    ((start, queued), why) = next(iter(queueing.steps.items()))
    return TaskMove(
        name,
        {(start, S.RUNNING): f"{why}; then {START.steps[(queued, S.RUNNING)]}"},
        (*queueing.events, *START.events),
        numbers_next_try=queueing.numbers_next_try,
    )


SCHEDULE_QUEUE_AND_START = then_start("schedule_queue_and_start", SCHEDULE_AND_QUEUE)
QUEUE_AND_START = then_start("queue_and_start", QUEUE)

#: The engine's moves of a task instance, one step at a time: every allowed step of a task
#: instance's state is one of theirs.
SINGLE_MOVES: tuple[TaskMove, ...] = (
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
#: Every move of a task instance, the two that fold a queueing with the start included.
TASK_MOVE_LIST: tuple[TaskMove, ...] = (*SINGLE_MOVES, SCHEDULE_QUEUE_AND_START, QUEUE_AND_START)
TASK_MOVES_BY_NAME: Mapping[str, TaskMove] = {move.name: move for move in TASK_MOVE_LIST}


def _steps_of(moves: Iterable[TaskMove]) -> dict[tuple[TaskState, TaskState], str]:
    steps: dict[tuple[TaskState, TaskState], str] = {}
    for move in moves:
        for step, why in move.steps.items():
            steps.setdefault(step, why)
    return steps


#: Every step of a task instance's state the engine makes, and why it exists; a step not
#: listed here is refused (:func:`check_step`).
TASK_MOVES: Mapping[tuple[TaskState, TaskState], str] = _steps_of(SINGLE_MOVES)
#: The states a person may set from the CLI, UI or API, from any state (clear and mark).
MANUAL_TARGETS: frozenset[TaskState] = frozenset({S.NONE, S.SUCCESS, S.FAILED})
#: The states a person may mark an instance (a clear sends it back to none).
MARK_TARGETS: frozenset[TaskState] = MANUAL_TARGETS - {S.NONE}

#: Task states a try's row can be in: running, or ended as a move from running left it.
TRY_STATES: tuple[TaskState, ...] = tuple(
    state for state in S if state is S.RUNNING or (S.RUNNING, state) in TASK_MOVES
)


def check_step(expected: Iterable[TaskState], to: TaskState) -> None:
    """Raise :class:`IllegalMove` unless every ``expected -> to`` is a declared step."""
    for start in expected:
        if (start, to) not in TASK_MOVES:
            raise IllegalMove(
                "task state",
                f"{start.value} -> {to.value} is no declared step",
                start=start,
                to=to,
            )


@dataclass(frozen=True)
class RunMove:
    """One guarded move of a run: the states it leaves, the one it reaches, why; ``by_hand``:
    a person's (sent from the CLI, UI or API), not the engine's."""

    name: str
    from_states: frozenset[RunState]
    to: RunState
    why: str
    by_hand: bool = False
    guard: Guard = Guard.STATE


RUN_START = RunMove("start_run", frozenset({R.QUEUED}), R.RUNNING, "max_active_runs leaves room")
RUN_SUCCEED = RunMove(
    "succeed_run", frozenset({R.RUNNING}), R.SUCCESS, "every leaf succeeded or was skipped"
)
RUN_FAIL = RunMove(
    "fail_run", frozenset({R.RUNNING}), R.FAILED, "a leaf failed, or nothing can move any more"
)
#: Past its ``dagrun_timeout``: failed as RUN_FAIL is, by the scheduler rather than its plan.
RUN_TIME_OUT = RunMove(
    "time_out_run", frozenset({R.RUNNING}), R.FAILED, "the run ran past its dagrun_timeout"
)
RUN_REQUEUE = RunMove(
    "requeue_run",
    frozenset({R.SUCCESS, R.FAILED}),
    R.QUEUED,
    "a person cleared or marked a task: the run goes on",
    by_hand=True,
)
RUN_MARK_SUCCESS = RunMove(
    "mark_run_success",
    frozenset({R.QUEUED, R.FAILED}),
    R.SUCCESS,
    "a person marked the run success",
    by_hand=True,
)
RUN_MARK_FAILED = RunMove(
    "mark_run_failed",
    frozenset({R.QUEUED, R.SUCCESS}),
    R.FAILED,
    "a person marked the run failed",
    by_hand=True,
)
#: The moves of a run the engine makes (each has its statement in ``store/moves.py``).
ENGINE_RUN_MOVES: tuple[RunMove, ...] = (RUN_START, RUN_SUCCEED, RUN_FAIL, RUN_TIME_OUT)
#: Every move of a run, a person's included.
RUN_MOVE_LIST: tuple[RunMove, ...] = (
    *ENGINE_RUN_MOVES,
    RUN_REQUEUE,
    RUN_MARK_SUCCESS,
    RUN_MARK_FAILED,
)


def _run_steps(moves: Iterable[RunMove]) -> dict[tuple[RunState, RunState], str]:
    steps: dict[tuple[RunState, RunState], str] = {}
    for move in moves:
        for start in sorted(move.from_states):
            steps.setdefault((start, move.to), move.why)
    return steps


#: Every step of a run's state, and why it exists; a step not listed here is refused.
RUN_MOVES: Mapping[tuple[RunState, RunState], str] = _run_steps(RUN_MOVE_LIST)


def check_run_step(expected: Iterable[RunState], to: RunState) -> None:
    """Raise :class:`IllegalMove` unless every ``expected -> to`` of a run is declared."""
    for start in expected:
        if (start, to) not in RUN_MOVES:
            raise IllegalMove(
                "run state",
                f"{start.value} -> {to.value} is no declared step",
                start=start,
                to=to,
            )


# -- the timeline entries the moves write -----------------------------------------------------

#: How the timeline says a try ended, per exit kind.
FINISH_MESSAGES: Mapping[ExitKind, str] = {
    ExitKind.RETURN: "returned",
    ExitKind.EXCEPTION: "raised an exception",
    ExitKind.TIMEOUT: "timed out",
    ExitKind.SIGNAL: "was killed by a signal",
    ExitKind.CRASH: "its process died",
    ExitKind.HEARTBEAT: "lost its heartbeat",
    ExitKind.SKIP: "asked to be skipped",
    ExitKind.RESCHEDULE: "poked, the condition is not met yet",
    ExitKind.DEFERRED: "handed to a trigger",
    ExitKind.AWAITING_INPUT: "waits for a person's answer",
    ExitKind.BOOKKEEPING: "could not be prepared",
    ExitKind.NOT_STARTED: "could not start",
    ExitKind.STOPPED: "was stopped",
}


def finish_message(outcome: Outcome) -> str:
    """The message of a finish's timeline entry (:data:`FINISH`, :data:`HAND_BACK`)."""
    how = FINISH_MESSAGES.get(outcome.exit_kind, outcome.exit_kind)
    text = f"{outcome.state.value}: {how}"
    if outcome.error:
        text += f": {outcome.error.strip().splitlines()[-1][:300]}"
    if outcome.retry_at is not None:
        text += f"; next try at {outcome.retry_at.isoformat(timespec='seconds')}"
    return text


def finish_detail(outcome: Outcome) -> dict[str, Any]:
    """The detail of a finish's timeline entry."""
    return {"exit_kind": str(outcome.exit_kind), "error": outcome.error}


def queued_message(queue_name: str) -> str:
    """The message of a ``queued`` entry."""
    return f"sent to queue {queue_name!r}"


def ready_note(kind: str, reason: str, queue_name: str) -> tuple[str, dict[str, Any] | None]:
    """The message and detail of a ``scheduled`` entry (the planner's reason) or a
    ``queued`` one (the queue)."""
    if kind == "queued":
        return queued_message(queue_name), {"queue": queue_name}
    return reason, None


def kept_note(queue_name: str) -> tuple[str, dict[str, Any]]:
    """The ``queued`` entry of a try that the process whose hop made it ready started
    itself, with no message through the broker (:data:`QUEUE_AND_START`)."""
    return (
        f"queued on {queue_name!r} and taken at once by the process that ran its upstream task",
        {"queue": queue_name, "kept": True},
    )


def started_note(hostname: str, pid: int, log_path: str | None) -> tuple[str, dict[str, Any]]:
    """The ``started`` entry of a started try (:data:`START`): its message and detail."""
    return (
        f"running on {hostname} as pid {pid}",
        {"hostname": hostname, "pid": pid, "log_path": log_path},
    )
