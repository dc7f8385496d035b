"""The DAG list's last run of each DAG: its latest by logical date (the newest made of
equals), read through the (dag_id, logical_date) index, so that the list's answer does not
grow with the runs the store keeps (a dashboard polls it all day)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, update

from conveyor.store import runs, schema
from conveyor.store.engine import Store
from conveyor.store.reads.dags import last_runs
from conveyor.store.tables import dag_run
from run_env import parsed_folder

DAGS = """
from conveyor import DAG, EmptyOperator

for name in ("busy", "quiet", "never"):
    with DAG(name, schedule=None):
        EmptyOperator(task_id="t")
"""


def _run(store: Store, dag_id: str, day: int, run_id: str) -> int:
    with store.write() as conn:
        run_pk = runs.create_manual_run(
            conn,
            dag_id,
            created_by="test",
            logical_date=datetime(2024, 1, day, tzinfo=UTC),
            run_id=run_id,
        )
    assert run_pk is not None
    return run_pk


def test_each_dags_last_run_is_its_latest_by_logical_date(tmp_path: Path, store: Store) -> None:
    parsed_folder(tmp_path, store, "dags.py", DAGS)
    _run(store, "busy", 3, "third")
    _run(store, "busy", 1, "made_last_for_the_first")  # a backfill of an earlier date
    _run(store, "busy", 2, "second")
    first_of_equals = _run(store, "quiet", 5, "quiet_a")
    _run(store, "quiet", 4, "quiet_b")
    newest = _run(store, "quiet", 6, "quiet_c")
    with store.write() as conn:  # two runs of the same date: the newest made wins
        conn.execute(
            update(dag_run)
            .where(dag_run.c.id.in_((first_of_equals, newest)))
            .values(logical_date=datetime(2024, 1, 9, tzinfo=UTC), state="failed")
        )
    with store.read() as conn:
        found = last_runs(conn)
    assert {dag_id: run.run_id for dag_id, run in found.items()} == {
        "busy": "third",
        "quiet": "quiet_c",
    }
    assert found["quiet"].state == "failed"
    assert found["quiet"].logical_date == datetime(2024, 1, 9, tzinfo=UTC)


def test_the_last_runs_are_found_by_index_not_by_reading_every_run(tmp_path: Path) -> None:
    """SQLite's plan: the runs are searched by the index per DAG, never scanned whole."""
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    try:
        schema.migrate(store)
        event.listen(store.engine, "before_cursor_execute", record)
        with store.read() as conn:
            last_runs(conn)
            [(statement, parameters)] = [s for s in sent if "dag_run" in s[0]]
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
        store.dispose()
    steps = [str(row[-1]) for row in plan]
    assert not [step for step in steps if step.startswith("SCAN dag_run")], steps
    assert any("ix_dag_run_dag_logical_date" in step for step in steps), steps
