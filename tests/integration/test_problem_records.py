"""The scheduler's problem records and its per-unit guard, on both stores.

(The whole loop with a DAG that fails to plan: tests/api/test_scheduler_problems.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from test_runs import Env

from conveyor.scheduler.problems import Problems
from conveyor.states import RunState
from conveyor.store import problems
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, utcnow


@pytest.fixture
def env(tmp_path: Path, store: Store) -> Env:
    dags = tmp_path / "dags"
    dags.mkdir()
    return Env(tmp_path, dags, store)


def _listed(store: Store) -> dict[str, tuple[str, int]]:
    with store.read() as conn:
        return {p.unit: (p.error, p.occurrences) for p in problems.list_problems(conn)}


def test_a_failing_unit_is_recorded_counted_and_cleared_by_its_success(store: Store) -> None:
    guarded = Problems(store, "scheduler-1")
    for _ in range(2):
        with guarded.guard("start_runs", dag_id="d1"):
            raise ValueError("bad structure\nsecond line")
    with guarded.guard("start_runs", dag_id="d2"):
        pass  # a unit that works records nothing
    assert _listed(store) == {"start_runs:d1": ("ValueError: bad structure", 2)}

    fresh = Problems(store, "scheduler-2")  # another scheduler, or this one restarted
    fresh.refresh()
    with fresh.guard("start_runs", dag_id="d1"):
        pass
    assert _listed(store) == {}


def test_a_lost_store_is_not_a_units_problem(store: Store) -> None:
    guarded = Problems(store, "scheduler-1")
    with pytest.raises(OperationalError), guarded.guard("advance_run", dag_id="d1", run_pk=1):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    assert _listed(store) == {}


def test_problems_of_a_finished_run_are_forgotten(env: Env) -> None:
    env.write_dag("d.py", 'with DAG("d"):\n    EmptyOperator(task_id="t")\n')
    env.sync()
    run_pk = env.trigger("d")
    guarded = Problems(env.store, "scheduler-1")
    with guarded.guard("advance_run", dag_id="d", run_pk=run_pk):
        raise RuntimeError("boom")
    with env.store.read() as conn:
        (found,) = problems.list_problems(conn, "d")
    assert found.run_id is not None and found.action == "advance_run"

    guarded.refresh()  # the run is still queued: the problem stays
    assert list(_listed(env.store)) == [f"advance_run:run {run_pk}"]
    with env.store.write() as conn:
        conn.execute(
            update(dag_run)
            .where(dag_run.c.id == run_pk)
            .values(state=RunState.FAILED.value, end_date=utcnow())
        )
    guarded.refresh()
    assert _listed(env.store) == {}
