"""A try's end starts its downstream try itself (the kept try, engine/kept.py) only when no
queued try of the process's queues has a higher priority: the slot the end frees goes to
the highest priority waiting, as Airflow's scheduler hands it out, so a chain's next task
does not overtake the first tasks of runs that came due while it ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_settings
from conveyor.engine.kept import MayKeep
from conveyor.lifecycle import Actor
from conveyor.states import RunState, TaskState
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from conveyor.worker.runner import TryRunner
from run_env import parsed_folder

DAG_FILE = """
    from conveyor import DAG, EmptyOperator

    with DAG("chain") as chain:
        EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")  # weights 2 and 1

    with DAG("waiting") as waiting:
        EmptyOperator(task_id="urgent", priority_weight=5)
        EmptyOperator(task_id="equal", priority_weight=1)
        EmptyOperator(task_id="elsewhere", priority_weight=5, queue="etl")
"""


@pytest.fixture
def runner(tmp_path: Path, store: Store) -> TryRunner:
    dags = parsed_folder(tmp_path, store, "kept.py", DAG_FILE)
    return TryRunner(make_settings(tmp_path, dags, store.url), store)


def _queue(store: Store, dag_id: str, *task_ids: str) -> tuple[int, dict[str, int]]:
    """A running run of ``dag_id`` with ``task_ids`` queued, as the scheduler leaves them."""
    actor = Actor("test")
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
        assert run_pk is not None
        transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
        ids = {ti.task_id: ti.id for ti in runs.task_instances(conn, run_pk)}
        for task_id in task_ids:
            queue = "etl" if task_id == "elsewhere" else "default"
            assert transitions.schedule_and_queue(conn, ids[task_id], 0, "root", queue, actor)
    return run_pk, ids


def _first_ends(runner: TryRunner, may: MayKeep) -> tuple[list[str], str | None]:
    """Run a chain's first try: (the tries its end sent out, the one it kept)."""
    run_pk, chain = _queue(runner.store, "chain", "first")
    result = runner.run(chain["first"], 1, keep=may)
    assert result.state is TaskState.SUCCESS
    kept = None if result.kept is None else result.kept.started.task_id
    sent = [work.task_id for work in result.queued if kept is None or work.task_id != kept]
    with runner.store.read() as conn:
        rows = runs.task_instances(conn, run_pk)
    second = next(ti.state for ti in rows if ti.task_id == "second")
    assert second is (TaskState.QUEUED if kept is None else TaskState.RUNNING)
    return sent, kept


def test_nothing_queued_above_it_the_next_try_is_kept(runner: TryRunner) -> None:
    _queue(runner.store, "waiting", "equal")  # waiting too, but not ahead of "second"

    assert _first_ends(runner, MayKeep()) == ([], "second")


def test_a_higher_priority_waiting_sends_the_next_try_through_the_broker(
    runner: TryRunner,
) -> None:
    _queue(runner.store, "waiting", "urgent")

    # Queued (behind the urgent try), not started here.
    assert _first_ends(runner, MayKeep()) == (["second"], None)


def test_a_higher_priority_of_a_queue_the_process_does_not_take_does_not_count(
    runner: TryRunner,
) -> None:
    _queue(runner.store, "waiting", "elsewhere")

    assert _first_ends(runner, MayKeep(queues=frozenset({"default"}))) == ([], "second")
    # Any queue is the process's when it takes them all (the local executor's runners).
    _queue(runner.store, "waiting", "elsewhere")
    assert _first_ends(runner, MayKeep()) == (["second"], None)
