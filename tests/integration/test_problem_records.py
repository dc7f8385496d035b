"""The scheduler's problem records and its per-unit guard, on both stores.

(The whole loop with a DAG that fails to plan: tests/api/test_scheduler_problems.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from conftest import run_scheduler, runs_finished
from conveyor.executors.local import LocalExecutor
from conveyor.scheduler.loop import Scheduler
from conveyor.scheduler.problems import Problems
from conveyor.states import RunState
from conveyor.store import due_times, problems, scheduling
from conveyor.store.engine import Store
from conveyor.store.sql import insert_later, savepoint
from conveyor.store.tables import dag_run, task_instance, utcnow, variable
from run_env import Env


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


SCHEDULED = """
    with DAG("{dag_id}", schedule="@daily", start_date=START, catchup=False):
        EmptyOperator(task_id="t")
"""


def _scheduled_runs(store: Store) -> dict[str, int]:
    with store.read() as conn:
        rows = conn.execute(
            select(dag_run.c.dag_id, func.count())
            .where(dag_run.c.run_type == "scheduled")
            .group_by(dag_run.c.dag_id)
        ).all()
    return {dag_id: count for dag_id, count in rows}


def test_a_dag_whose_runs_fail_to_be_made_undoes_only_its_own_writes(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Due DAGs are taken many to a transaction; one that raises half-way (its run and task
    instances written, its due time not) is rolled back alone and recorded, the others'
    runs are made, and it gets its run once it works again."""
    for dag_id in ("a", "b", "c"):
        env.write_dag(f"{dag_id}.py", SCHEDULED.format(dag_id=dag_id))
    env.sync()
    scheduler = Scheduler(env.settings(), env.store, LocalExecutor(env.settings()), None)
    set_due_time = due_times.set_due_time

    def fails_for_b(conn: Any, dag_id: str, **kwargs: Any) -> None:
        if dag_id == "b":
            raise RuntimeError("no due time for b")
        set_due_time(conn, dag_id, **kwargs)

    monkeypatch.setattr(due_times, "set_due_time", fails_for_b)
    assert scheduler.create_scheduled_runs(utcnow()) == 2  # b's run was rolled back
    assert _scheduled_runs(env.store) == {"a": 1, "c": 1}
    with env.store.read() as conn:
        orphans = conn.execute(
            select(func.count()).select_from(task_instance).where(task_instance.c.dag_id == "b")
        ).scalar_one()
    assert orphans == 0, "b's task instances outlived its rolled-back run"
    assert _listed(env.store) == {"create_scheduled_runs:b": ("RuntimeError: no due time for b", 1)}

    monkeypatch.setattr(due_times, "set_due_time", set_due_time)
    assert scheduler.create_scheduled_runs(utcnow()) == 1
    assert _scheduled_runs(env.store) == {"a": 1, "b": 1, "c": 1}
    assert _listed(env.store) == {}


def _variable(key: str) -> dict[str, Any]:
    return {"key": key, "value": "-", "updated_at": utcnow()}


def test_a_savepoint_that_raises_drops_the_rows_it_deferred(store: Store) -> None:
    with store.write() as conn:
        insert_later(conn, variable, _variable("kept"))
        with pytest.raises(RuntimeError), savepoint(conn):
            insert_later(conn, variable, _variable("dropped"))
            raise RuntimeError("undo")
        with savepoint(conn):
            insert_later(conn, variable, _variable("also kept"))
    with store.read() as conn:
        keys = set(conn.execute(select(variable.c.key)).scalars())
    assert keys == {"kept", "also kept"}


def test_a_failing_heartbeat_or_problem_refresh_does_not_end_the_loop(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's own steps are guarded like its units: the scheduler's heartbeat and the
    refresh of the problems on record raise on every loop (not a lost store), and the
    scheduler still runs the DAG's run to its end, with both failures on record."""
    env.write_dag("d.py", 'with DAG("d"):\n    EmptyOperator(task_id="t")\n')
    env.sync()
    run_pk = env.trigger("d")
    record_heartbeat = scheduling.record_heartbeat
    heartbeats = 0

    def fails_after_the_first(*args: Any, **kwargs: Any) -> None:
        nonlocal heartbeats
        heartbeats += 1
        if heartbeats > 1:  # the start's heartbeat is written; every loop's raises
            raise RuntimeError("no heartbeat table")
        record_heartbeat(*args, **kwargs)

    def unreadable(conn: Any) -> set[str]:
        raise RuntimeError("problems unreadable")

    monkeypatch.setattr(scheduling, "record_heartbeat", fails_after_the_first)
    monkeypatch.setattr(problems, "problem_units", unreadable)
    finished = runs_finished(env.store, [run_pk])
    run_scheduler(
        env.settings(heartbeat_seconds=0.2),
        env.store,
        lambda: finished() and heartbeats >= 3,
        limit=60,
        what="the run finished after three heartbeats",
    )
    assert env.run_state(run_pk) is RunState.SUCCESS
    listed = _listed(env.store)
    assert listed["heartbeat:*"][0] == "RuntimeError: no heartbeat table"
    assert listed["refresh_problems:*"][0] == "RuntimeError: problems unreadable"
