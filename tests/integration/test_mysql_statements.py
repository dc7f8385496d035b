"""Several statements in one string on MariaDB, as Airflow's default MySQL driver runs them:
``MySqlHook.run`` and ``SQLExecuteQueryOperator`` carry out every statement, an error in a
later one fails the run (and rolls the earlier ones back), and ``split_statements=True``
runs them one by one as common.sql does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sql_servers
from sql_servers import mysql_rows, unique

from conveyor.providers.handlers import fetch_all_handler
from conveyor.providers.mysql import MySqlHook
from conveyor.states import TaskState
from conveyor.testing import run_dag

# Their in-process DAGs and hooks import Airflow's paths: the compat hook on for each test.
pytestmark = pytest.mark.usefixtures("airflow_hook")

mysql_url = sql_servers.mysql_url


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mysql_url: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", mysql_url)
    name = unique("daily")
    mysql_rows(mysql_url, f"CREATE TABLE {name} (day date, n int)")
    mysql_rows(mysql_url, f"INSERT INTO {name} VALUES ('2024-01-01', 1), ('2024-01-02', 2)")
    yield name
    mysql_rows(mysql_url, f"DROP TABLE {name}")


def test_hook_runs_every_statement_of_a_string(table: str, mysql_url: str) -> None:
    hook = MySqlHook(mysql_conn_id="shop")
    hook.run(
        f"DELETE FROM {table} WHERE day = '2024-01-02'; "
        f"INSERT INTO {table} VALUES ('2024-01-02', 20); INSERT INTO {table} VALUES "
        f"('2024-01-03', 30);"
    )
    assert mysql_rows(mysql_url, f"SELECT n FROM {table} ORDER BY day") == [(1,), (20,), (30,)]

    # An error in the last statement fails the run; the transaction's earlier ones roll back.
    with pytest.raises(Exception, match="no_such_table"):
        hook.run(f"DELETE FROM {table}; INSERT INTO no_such_table VALUES (1);")
    assert len(mysql_rows(mysql_url, f"SELECT * FROM {table}")) == 3

    # The handler gets the first statement's result, as mysqlclient's cursor gives it.
    assert hook.run(f"SELECT count(*) FROM {table}; SELECT 7;", handler=fetch_all_handler) == (
        (3,),
    )
    # Split: one result per statement.
    assert hook.run(
        f"SELECT count(*) FROM {table}; SELECT 'a;b' AS x;",
        handler=fetch_all_handler,
        split_statements=True,
        return_last=False,
    ) == [((3,),), (("a;b",),)]


def test_operator_runs_a_delete_insert_script(table: str, mysql_url: str) -> None:
    from airflow import DAG
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

    with DAG("mysql_script", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        SQLExecuteQueryOperator(
            task_id="reload",
            conn_id="shop",
            sql=f"DELETE FROM {table} WHERE day = '{{{{ ds }}}}';\n"
            f"INSERT INTO {table} VALUES ('{{{{ ds }}}}', 5);\n",
        )
        SQLExecuteQueryOperator(
            task_id="split",
            conn_id="shop",
            split_statements=True,
            sql=f"UPDATE {table} SET n = n + 100 WHERE day = '2024-01-01'; "
            f"SELECT n FROM {table} WHERE day = '2024-01-01'",
        )
    result = run_dag(dag, logical_date=datetime(2024, 1, 2))
    result.raise_for_failure()
    assert result.task_state("reload") is TaskState.SUCCESS
    assert result.xcom("split") == ((101,),)  # PyMySQL's tuple of tuples, as on Airflow
    assert mysql_rows(mysql_url, f"SELECT day, n FROM {table} WHERE day = '2024-01-02'") == [
        (datetime(2024, 1, 2).date(), 5)
    ]
