"""An undeclared state change is refused by an error of its own (a ConveyorError, never an
``assert`` that ``python -O`` strips), whose message names the move and the states, and which
the web reports as such."""

from __future__ import annotations

import logging
import pickle

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conveyor import lifecycle
from conveyor.exceptions import ConveyorError
from conveyor.lifecycle import IllegalMove
from conveyor.states import RunState, TaskState
from conveyor.store import moves
from conveyor.web.app import _add_error_handlers


def test_it_is_a_conveyor_error_and_no_assertion() -> None:
    assert issubclass(IllegalMove, ConveyorError)
    assert not issubclass(IllegalMove, AssertionError)


def test_a_refused_step_names_the_move_and_the_states() -> None:
    with pytest.raises(IllegalMove) as refused:
        lifecycle.FINISH.check([TaskState.QUEUED], TaskState.SUCCESS)
    error = refused.value
    assert (error.move, error.start, error.to) == ("finish", "queued", "success")
    assert str(error) == (
        "illegal state move (finish): it does not go from queued to success; "
        "it leaves deferred, queued, running"
    )
    with pytest.raises(IllegalMove, match=r"\(run state\): success -> running is no declared"):
        lifecycle.check_run_step([RunState.SUCCESS], RunState.RUNNING)
    with pytest.raises(IllegalMove, match=r"\(schedule\): it reaches scheduled, not queued"):
        lifecycle.SCHEDULE.target(TaskState.QUEUED)
    with pytest.raises(IllegalMove, match=r"\(finish\): it reaches .*failed.*: say which"):
        lifecycle.FINISH.target(None)


def test_it_crosses_a_process_boundary_whole() -> None:
    error = IllegalMove("finish", "it does not go from queued to success", start="queued")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.move, copy.start, copy.to) == (str(error), "finish", "queued", None)


def test_a_statement_from_a_state_its_move_does_not_leave_is_refused() -> None:
    """Built before any connection is asked for: the store never sends it."""
    render = moves.renderer(now=None, given=lambda name: None, to=None)  # type: ignore[arg-type]
    with pytest.raises(IllegalMove, match=r"\(start\): it does not leave none, running"):
        moves.update_of(
            lifecycle.START,
            render,
            ti_id=None,  # type: ignore[arg-type]
            try_number=None,  # type: ignore[arg-type]
            from_states=[TaskState.NONE, TaskState.QUEUED, TaskState.RUNNING],
        )


def test_the_web_reports_it_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    _add_error_handlers(app)

    @app.post("/move")
    def move() -> None:
        lifecycle.check_step([TaskState.SUCCESS], TaskState.RUNNING)

    with caplog.at_level(logging.ERROR, logger="conveyor.web.app"):
        response = TestClient(app, raise_server_exceptions=False).post("/move")
    assert response.status_code == 500
    detail = "illegal state move (task state): success -> running is no declared step"
    assert response.json() == {"detail": detail}
    assert f"POST /move: {detail}" in caplog.text
