"""Starting a big run brings PostgreSQL's statistics of the task instance table up to date.

Without them the planner takes a new table for an empty one and reads a run's in-flight
tries through the run's index, filtering every instance of the run by state on each hop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from test_safety_net import Holding

from conftest import make_settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import frontier_reads, runs
from conveyor.store.engine import Store

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


def _rows_filtered_out(plan: dict) -> int:
    below = sum(_rows_filtered_out(child) for child in plan.get("Plans", []))
    return int(plan.get("Rows Removed by Filter", 0)) + below


def test_a_big_run_gets_the_table_analyzed_and_hops_read_only_in_flight_tries(
    tmp_path: Path, pg_store: Store
) -> None:
    scheduler = _scheduler(tmp_path, pg_store)
    assert _known_rows(pg_store) < 0  # a new table: never analyzed

    run_pk = _start(pg_store, scheduler, "wide")

    assert _known_rows(pg_store) >= 1000
    count = frontier_reads._IN_FLIGHT_OF_RUN.params(of_run=run_pk).compile(
        dialect=pg_store.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    with pg_store.read() as conn:
        explained = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {count}").scalar_one()
    plan = (explained if isinstance(explained, list) else json.loads(explained))[0]["Plan"]
    # Unanalyzed, the count walks all 1,000 instances of the run and filters them by state.
    assert _rows_filtered_out(plan) < 100, plan


def test_small_runs_leave_the_statistics_to_autovacuum(tmp_path: Path, pg_store: Store) -> None:
    scheduler = _scheduler(tmp_path, pg_store)
    _start(pg_store, scheduler, "small")
    assert _known_rows(pg_store) < 0
