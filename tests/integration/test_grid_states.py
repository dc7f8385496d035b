"""The grid's states as the store groups them (one row a run and state, the task ids joined
by the database): every instance lands in its own square, mapped instances aggregate into
their task's, tasks of older versions come after the DAG's, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from conveyor.store.engine import Connection
from conveyor.store.tables import dag, dag_run, task_instance
from conveyor.web import queries
from run_env import Env

DAG_FILE = """
with DAG("states", start_date=START, schedule=None):
    first = EmptyOperator(task_id="first")
    second = EmptyOperator(task_id="second")
    third = EmptyOperator(task_id="third")
    first >> second >> third
"""
FIRST = datetime(2026, 3, 1, tzinfo=UTC)


def _add_run(conn: Connection, number: int, instances: list[tuple[str, int, str]]) -> None:
    """A finished run of ``states`` dated ``number`` days after FIRST, with these instances
    (task id, map index, state)."""
    version = conn.execute(select(dag.c.version_hash).where(dag.c.dag_id == "states"))
    moment = FIRST + timedelta(days=number)
    run_id = f"run_{number}"
    run_pk = conn.execute(
        insert(dag_run).values(
            dag_id="states",
            run_id=run_id,
            run_type="manual",
            state="failed",
            logical_date=moment,
            data_interval_start=moment,
            data_interval_end=moment,
            conf={},
            version_hash=version.scalar_one(),
            queued_at=moment,
            start_date=moment,
            end_date=moment + timedelta(minutes=1),
        )
    ).inserted_primary_key[0]
    rows: list[dict[str, Any]] = [
        {
            "run_pk": run_pk,
            "dag_id": "states",
            "run_id": run_id,
            "task_id": task_id,
            "map_index": map_index,
            "state": state,
            "try_number": 1,
            "max_tries": 1,
            "updated_at": moment,
        }
        for task_id, map_index, state in instances
    ]
    if rows:
        conn.execute(insert(task_instance), rows)


def test_each_instance_is_in_its_square_on_both_stores(env: Env) -> None:
    env.write_dag("states.py", DAG_FILE)
    env.sync()
    with env.store.write() as conn:
        _add_run(
            conn,
            0,
            [
                ("first", -1, "success"),
                ("second", 0, "success"),  # second was mapped in this run's version
                ("second", 1, "failed"),
                ("second", 2, "success"),
                ("third", -1, "upstream_failed"),
                ("gone", -1, "success"),  # a task the DAG no longer has
            ],
        )
        _add_run(conn, 1, [("first", -1, "success"), ("second", -1, "failed")])
        _add_run(conn, 2, [])  # no instance yet
    with env.store.read() as conn:
        full = queries.grid(conn, "states", 25)
        compact = queries.grid(conn, "states", 25, compact=True)
        picked = queries.grid(conn, "states", 25, compact=True, task_ids=["second"])
    assert full.task_order == ["first", "second", "third", "gone"]
    newest, middle, oldest = full.runs
    assert newest.tasks == {}
    assert middle.tasks == {"first": "success", "second": "failed"} and middle.mapped == {}
    assert oldest.tasks == {
        "first": "success",
        "second": "failed",  # its instances' aggregate
        "third": "upstream_failed",
        "gone": "success",
    }
    assert oldest.mapped == {"second": {"success": 2, "failed": 1}}
    # The letters, in the order the states first appear, newest run first.
    assert compact.states == ["success", "failed", "upstream_failed"]
    assert [r.codes for r in compact.runs] == ["....", "ab..", "abca"]
    assert [r.mapped for r in compact.runs] == [{}, {}, {"second": {"success": 2, "failed": 1}}]
    assert picked.states == ["failed"]
    assert picked.task_order == ["first", "second", "third"]  # "gone" is not read
    assert [r.codes for r in picked.runs] == ["...", ".a.", ".a."]
