"""Starting a big run brings PostgreSQL's statistics of the task instance table up to date.

Without them the planner takes a new table for an empty one and reads a run's in-flight
tries through the run's index, filtering every instance of the run by state on each hop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Executable, text
from test_safety_net import Holding

from conftest import make_settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import frontier_reads, runs
from conveyor.store.engine import Store
from conveyor.store.hop import steps

DAG = """
from conveyor import DAG, EmptyOperator

with DAG("wide") as wide:
    for number in range(1000):
        EmptyOperator(task_id=f"t{{number}}")

with DAG("small") as small:
    for number in range(10):
        EmptyOperator(task_id=f"t{{number}}")
"""

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(pg_database_url: str) -> Iterator[Store]:
    opened = Store(pg_database_url)
    yield opened
    opened.dispose()


def _scheduler(tmp_path: Path, store: Store) -> Scheduler:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "dags.py").write_text(DAG.format())
    DagFileProcessor(store, dags, timeout=30, scan_every=60).sync()
    settings = make_settings(tmp_path, dags, store.url)
    return Scheduler(settings, store, Holding(), processor=None)


def _start(store: Store, scheduler: Scheduler, dag_id: str) -> int:
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
    assert run_pk is not None
    scheduler.start_queued_runs()
    return run_pk


def _known_rows(store: Store) -> float:
    with store.read() as conn:
        query = text("SELECT reltuples FROM pg_class WHERE oid = 'task_instance'::regclass")
        return float(conn.execute(query).scalar_one())


def _explain(store: Store, statement: Executable, **params: object) -> dict[str, Any]:
    """The plan PostgreSQL ran ``statement`` by, with what each step read."""
    compiled = statement.params(**params).compile(  # type: ignore[attr-defined]
        dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    with store.read() as conn:
        found = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}").scalar_one()
    return dict((found if isinstance(found, list) else json.loads(found))[0]["Plan"])


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


def _move_all(store: Store, run_pk: int, state: str) -> None:
    with store.write() as conn:
        conn.execute(
            text("UPDATE task_instance SET state = :state WHERE run_pk = :run"),
            {"state": state, "run": run_pk},
        )


def _rows_filtered_out(plan: dict[str, Any]) -> int:
    below = sum(_rows_filtered_out(child) for child in plan.get("Plans", []))
    return int(plan.get("Rows Removed by Filter", 0)) + below


def test_a_big_run_gets_the_table_analyzed_and_hops_read_only_in_flight_tries(
    tmp_path: Path, pg_store: Store
) -> None:
    scheduler = _scheduler(tmp_path, pg_store)
    assert _known_rows(pg_store) < 0  # a new table: never analyzed

    run_pk = _start(pg_store, scheduler, "wide")

    assert _known_rows(pg_store) >= 1000
    plan = _explain(pg_store, frontier_reads._IN_FLIGHT_OF_RUN, of_run=run_pk)
    # Unanalyzed, the count walks all 1,000 instances of the run and filters them by state.
    assert _rows_filtered_out(plan) < 100, plan


def test_a_run_read_by_state_touches_only_what_it_returns_whatever_the_statistics_say(
    tmp_path: Path, pg_store: Store
) -> None:
    """Analyzed while every instance was ``none``, the statistics hold ``scheduled`` and
    ``running`` for empty states: the reads must still not walk the run."""
    scheduler = _scheduler(tmp_path, pg_store)
    run_pk = _start(pg_store, scheduler, "wide")
    _move_all(pg_store, run_pk, "scheduled")

    waiting = _explain(pg_store, frontier_reads._WAITING_FOR_ROOM, of_run=run_pk, room=8)
    assert not [n for n in _nodes(waiting) if n["Node Type"] == "Sort"], waiting
    assert max(n["Actual Rows"] for n in _nodes(waiting)) == 8

    _move_all(pg_store, run_pk, "success")
    with pg_store.write() as conn:
        conn.execute(
            text(
                "UPDATE task_instance SET state = 'running' WHERE run_pk = :run AND id IN "
                "(SELECT max(id) FROM task_instance WHERE run_pk = :run)"
            ),
            {"run": run_pk},
        )
    sample = _explain(pg_store, frontier_reads._UNFINISHED_SAMPLE, of_run=run_pk)
    assert max(n["Actual Rows"] for n in _nodes(sample)) == 1
    assert _rows_filtered_out(sample) < 100, sample


def test_queueing_a_waiting_try_reads_it_by_id_whatever_the_statistics_say(
    tmp_path: Path, pg_store: Store
) -> None:
    """The same statistics make ``scheduled`` look empty: queueing one waiting try must find
    it by its id, not walk the run's scheduled instances through the state index."""
    scheduler = _scheduler(tmp_path, pg_store)
    run_pk = _start(pg_store, scheduler, "wide")
    _move_all(pg_store, run_pk, "scheduled")
    with pg_store.read() as conn:
        waiting = runs.task_instances(conn, run_pk)[500]
    statement = steps._READY_STATEMENTS["queue"].compile(dialect=pg_store.engine.dialect)
    params = statement.construct_params(
        {
            "q_ids": [waiting.id],
            "q_tries": [waiting.try_number],
            "q_from": ["scheduled"],
            "m_now": datetime.now(UTC),
            "m_actor": "test",
            "e_ids": [waiting.id],
            "e_kinds": ["queued"],
            "e_messages": ["sent to queue 'default'"],
            "e_queues": ["default"],
        }
    )
    with pg_store.write() as conn:
        found = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params)
        plan = found.scalar_one()
    plan = dict((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    assert _rows_filtered_out(plan) < 100, plan
    assert {n.get("Index Name") for n in _nodes(plan)} & {"pk_task_instance"}, plan


def test_small_runs_leave_the_statistics_to_autovacuum(tmp_path: Path, pg_store: Store) -> None:
    scheduler = _scheduler(tmp_path, pg_store)
    _start(pg_store, scheduler, "small")
    assert _known_rows(pg_store) < 0
