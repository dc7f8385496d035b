"""A DAG whose planning raises stops only itself: the scheduler loop records the problem,
shows it in ``conveyor health``, the API and the pages, runs the other DAGs, and clears the
problem once that DAG plans again. On both stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import World, close, make_world
from sqlalchemy import select

from conftest import run_scheduler, run_until_finished
from conveyor.engine import progress
from conveyor.health import check
from conveyor.serialized import SerializedDag
from conveyor.states import RunState, TaskState
from conveyor.store.tables import dag_run, task_instance


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=())
    yield built
    close(built)


class Breakable:
    """Planning that raises for the DAG ``failing`` while ``broken`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.broken = True
        self.real = progress.plan_run
        monkeypatch.setattr(progress, "plan_run", self)

    def __call__(self, structure: SerializedDag, *args: Any, **kwargs: Any) -> Any:
        if self.broken and structure.dag_id == "failing":
            raise RuntimeError("planning exploded for this DAG")
        return self.real(structure, *args, **kwargs)


def _run_state(world: World, run_pk: int) -> RunState:
    with world.store.read() as conn:
        state = conn.execute(select(dag_run.c.state).where(dag_run.c.id == run_pk)).scalar_one()
    return RunState(state)


def _planned(world: World, run_pk: int) -> bool:
    """Has the run's first task left ``none`` (the scheduler planned the run)?"""
    with world.store.read() as conn:
        states = conn.execute(
            select(task_instance.c.state).where(task_instance.c.run_pk == run_pk)
        ).scalars()
        return any(s != TaskState.NONE.value for s in states)


def test_a_dag_that_fails_to_plan_stops_only_itself(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    planning = Breakable(monkeypatch)
    broken = world.trigger("failing")
    good = world.trigger("pipeline")

    run_until_finished(world.settings, world.store, [good], limit=60)

    assert _run_state(world, good) is RunState.SUCCESS
    assert _run_state(world, broken) is RunState.RUNNING and not _planned(world, broken)

    report = check(world.settings, store=world.store)
    (problem,) = report.scheduler_problems
    assert problem.action == "advance_run" and problem.dag_id == "failing"
    assert problem.run_id == world.run_id(broken)
    assert "RuntimeError: planning exploded for this DAG" in problem.error
    assert problem.occurrences >= 1
    assert report.as_dict()["scheduler_problems"][0]["dag_id"] == "failing"

    viewer = world.client("viewer")
    body = viewer.get("/api/v1/scheduler-problems").json()
    (listed,) = body["problems"]
    assert listed["dag_id"] == "failing" and listed["action"] == "advance_run"
    assert "planning exploded" in listed["error"]
    assert "Traceback" in listed["traceback"]
    only = viewer.get("/api/v1/scheduler-problems", params={"dag_id": "pipeline"}).json()
    assert only == {"problems": []}
    assert "planning exploded" in viewer.get("/").text
    assert "planning exploded" in viewer.get("/dags/failing").text
    assert "Scheduler problems" not in viewer.get("/dags/pipeline").text

    planning.broken = False
    # The loop that plans the run clears its problem at once, before the run has finished.
    run_scheduler(world.settings, world.store, lambda: _planned(world, broken), limit=60)
    assert check(world.settings, store=world.store).scheduler_problems == ()
    assert viewer.get("/api/v1/scheduler-problems").json() == {"problems": []}
    run_until_finished(world.settings, world.store, [broken], limit=60)
