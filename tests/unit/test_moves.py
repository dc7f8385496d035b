"""The declared moves, the exit kinds and their messages agree with each other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conveyor import lifecycle
from conveyor.exceptions import Reschedule
from conveyor.lifecycle import (
    FINISH_MESSAGES,
    RUN_MOVES,
    TASK_MOVES,
    IllegalMove,
    Outcome,
    finish_message,
)
from conveyor.states import ExitKind, TaskState
from conveyor.store import moves
from conveyor.store.transitions import make_move


@pytest.mark.parametrize("kind", list(ExitKind))
def test_every_exit_kind_has_a_finish_message(kind: ExitKind) -> None:
    assert FINISH_MESSAGES.get(kind)
    message = finish_message(Outcome(TaskState.FAILED, kind, "boom"))
    assert message == f"failed: {FINISH_MESSAGES[kind]}: boom"


def test_exit_kinds_keep_the_stored_values() -> None:
    assert {kind.value for kind in ExitKind} == {
        "return",
        "exception",
        "timeout",
        "signal",
        "crash",
        "heartbeat",
        "skip",
        "reschedule",
        "deferred",
        "awaiting_input",
        "bookkeeping",
        "not_started",
        "stopped",
    }


def test_a_reschedule_says_when_it_pokes_again() -> None:
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    outcome = Outcome(TaskState.UP_FOR_RESCHEDULE, ExitKind.RESCHEDULE, retry_at=at)
    assert finish_message(outcome) == (
        "up_for_reschedule: poked, the condition is not met yet; "
        "next try at 2024-05-01T12:00:00+00:00"
    )
    assert Reschedule(at).at == at


@pytest.mark.parametrize("move", lifecycle.SINGLE_MOVES, ids=lambda m: m.name)
def test_every_step_of_a_single_move_is_an_allowed_one(move: lifecycle.TaskMove) -> None:
    assert move.steps
    assert all(step in TASK_MOVES for step in move.steps)
    assert len(move.event_kinds(TaskState.SUCCESS)) == len(move.events) >= 1


@pytest.mark.parametrize(
    "move", (lifecycle.SCHEDULE_QUEUE_AND_START, lifecycle.QUEUE_AND_START), ids=lambda m: m.name
)
def test_a_folded_move_is_a_queueing_then_the_start(move: lifecycle.TaskMove) -> None:
    """Each step of a queueing folded with the start is two allowed steps, through queued."""
    for start, to in move.steps:
        assert to is TaskState.RUNNING
        assert (start, TaskState.QUEUED) in TASK_MOVES
        assert (TaskState.QUEUED, TaskState.RUNNING) in TASK_MOVES
    assert move.events[-1] == "started"


@pytest.mark.parametrize("move", lifecycle.TASK_MOVE_LIST, ids=lambda m: m.name)
def test_every_move_has_its_columns_and_they_are_values(move: lifecycle.TaskMove) -> None:
    sets = moves.sets_of(move)
    values = moves.Value | moves.Given | moves.CountedIfContinued
    assert all(isinstance(value, values) for value in sets.values())
    assert (sets.get("try_number") is moves.NEXT_TRY) is move.numbers_next_try
    # A move out of a wait whose try goes on (a poke, a resumption) numbers a dispatch of the
    # same try: counted, and granted for itself, so the try people see does not move.
    continues = bool(move.from_states & lifecycle.NOT_A_RETRY) and move.numbers_next_try
    counted = {name for name, value in sets.items() if isinstance(value, moves.CountedIfContinued)}
    assert counted == ({"resumptions", "max_tries"} if continues else set())
    # A move that opens a try's row reaches running; one that closes it leaves running.
    if moves.opens_try(move):
        assert move.to is TaskState.RUNNING
    if moves.closes_try(move):
        assert TaskState.RUNNING in move.from_states


@pytest.mark.parametrize("move", lifecycle.RUN_MOVE_LIST, ids=lambda m: m.name)
def test_every_declared_move_of_a_run_is_an_allowed_one(move: lifecycle.RunMove) -> None:
    assert move.from_states
    assert all((start, move.to) in RUN_MOVES for start in move.from_states)
    if not move.by_hand:
        sets = moves.RUN_COLUMNS[move.name]
        assert all(isinstance(value, moves.Value | moves.Given) for value in sets.values())


def test_the_store_declares_the_columns_of_exactly_the_lifecycles_moves() -> None:
    assert set(moves.TASK_COLUMNS) == set(lifecycle.TASK_MOVES_BY_NAME)
    assert set(moves.RUN_COLUMNS) == {move.name for move in lifecycle.ENGINE_RUN_MOVES}


def test_a_move_is_truthy_only_when_it_won() -> None:
    won = moves.won(7, [TaskState.NONE], TaskState.QUEUED, 1)
    lost = moves.Moved(7, (TaskState.NONE,), TaskState.QUEUED, False, TaskState.RUNNING, 1)
    assert won and won.found is TaskState.QUEUED
    assert not lost and lost.found is TaskState.RUNNING


def test_a_move_refuses_a_start_it_does_not_declare() -> None:
    """Checked before any statement is sent: no connection is needed to be refused."""
    with pytest.raises(IllegalMove):
        make_move(
            None,  # type: ignore[arg-type]
            lifecycle.FINISH,
            1,
            1,
            now=datetime.now(UTC),
            to=TaskState.SKIPPED,
            expected=[TaskState.NONE],
        )
