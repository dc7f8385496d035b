"""The declared moves, the exit kinds and their messages agree with each other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conveyor.exceptions import Reschedule
from conveyor.states import ExitKind, TaskState
from conveyor.store import moves
from conveyor.store.transitions import (
    FINISH_MESSAGES,
    RUN_MOVES,
    TASK_MOVES,
    IllegalMove,
    Outcome,
    finish_message,
    make_move,
)


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


@pytest.mark.parametrize("move", moves.MOVES, ids=lambda m: m.name)
def test_every_declared_move_is_an_allowed_one(move: moves.Move) -> None:
    targets = [move.to] if move.to is not None else list(TaskState)
    allowed = [
        (start, to) for start in move.from_states for to in targets if (start, to) in TASK_MOVES
    ]
    # Every start state can reach the target (or, for a move whose caller names the target,
    # some target), and a move with a fixed target allows every one of its starts.
    assert {start for start, _ in allowed} == move.from_states
    assert len(move.event_kinds(TaskState.SUCCESS)) == len(move.events) >= 1


@pytest.mark.parametrize("move", moves.MOVES_OF_A_RUN, ids=lambda m: m.name)
def test_every_declared_move_of_a_run_is_an_allowed_one(move: moves.RunMove) -> None:
    assert move.from_states
    assert all((start, move.to) in RUN_MOVES for start in move.from_states)
    assert all(isinstance(value, moves.Value | moves.Given) for value in move.sets.values())


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
            moves.FINISH,
            1,
            1,
            now=datetime.now(UTC),
            to=TaskState.SKIPPED,
            expected=[TaskState.NONE],
        )
