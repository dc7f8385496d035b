"""The sqlite provider on a real SQLite file: ``SqliteHook`` reads and writes it, and the SQL
operators and check operators take a ``sqlite`` connection as they take the others."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from conveyor.exceptions import TaskError
from conveyor.states import TaskState
from conveyor.testing import run_dag

# Their in-process DAGs and hooks import Airflow's paths: the compat hook on for each test.
pytestmark = pytest.mark.usefixtures("airflow_hook")


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    # As Airflow's docs write it: the file's path URL-encoded as the host.
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_FILE", f"sqlite://{quote(str(path), safe='')}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SHOP_READONLY", f"sqlite://{quote(str(path), safe='')}?mode=ro"
    )
    monkeypatch.setenv("AIRFLOW_CONN_NO_PATH", f"sqlite:///{path}")
    return path


def test_hook_and_operators_on_a_sqlite_file(db: Path) -> None:
    from airflow import DAG
    from airflow.providers.common.sql.operators.sql import (
        SQLColumnCheckOperator,
        SQLExecuteQueryOperator,
    )
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    hook = SqliteHook(sqlite_conn_id="shop_file")
    hook.run("CREATE TABLE items (id integer primary key, name text, price real)")
    hook.insert_rows("items", [(1, "pen", 1.5), (2, "ink", None)], ["id", "name", "price"])
    hook.insert_rows("items", [(2, "ink", 4.0)], ["id", "name", "price"], replace=True)
    assert hook.get_records("SELECT id, name, price FROM items ORDER BY id") == [
        (1, "pen", 1.5),
        (2, "ink", 4.0),
    ]
    assert hook.get_uri() == f"sqlite:///{db}"
    with pytest.raises(Exception, match="readonly"):
        SqliteHook(sqlite_conn_id="shop_readonly").run("DELETE FROM items")
    with pytest.raises(TaskError, match="no file path"):
        SqliteHook(sqlite_conn_id="no_path").get_records("SELECT 1")

    with DAG("sqlite_ops", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        SQLExecuteQueryOperator(
            task_id="total", conn_id="shop_file", sql="SELECT sum(price) FROM items"
        )
        SQLColumnCheckOperator(
            task_id="prices",
            conn_id="shop_file",
            table="items",
            column_mapping={"price": {"min": {"geq_to": 2}}},
        )
    result = run_dag(dag)
    assert result.xcom("total") == [(5.5,)]  # sqlite3's rows, as on Airflow
    # The hook's own lines show in the try's log, as on Airflow (its logger is Airflow's name).
    assert "Running statement: SELECT sum(price) FROM items" in result.tasks["total"].log
    assert result.task_state("prices") is TaskState.FAILED
    with contextlib.closing(sqlite3.connect(db)) as conn:  # closed: no ResourceWarning later
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (2,)
