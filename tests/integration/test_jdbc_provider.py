"""The jdbc provider on the real PostgreSQL through Debian's JDBC driver
(/usr/share/java/postgresql.jar, scripts/services.sh ensure_postgresql_jdbc) and JPype's JVM,
started once in this process: the hook reads and writes, the SQL operators take a ``jdbc``
connection, and a connection's driver extras apply only when the settings allow them, as in
Airflow."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest
import sql_servers
from sql_servers import pg_rows, unique

from conveyor.exceptions import TaskError
from conveyor.providers.dbapi import DatabaseConnectionError
from conveyor.states import TaskState
from conveyor.testing import run_dag

# Their in-process DAGs and hooks import Airflow's paths: the compat hook on for each test.
pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("airflow_hook")]

pg_sql_url = sql_servers.pg_sql_url

JAR = "/usr/share/java/postgresql.jar"
DRIVER = "org.postgresql.Driver"


def jdbc_conn(pg_url: str, **extra: str) -> str:
    """A ``jdbc`` connection in Airflow's JSON form: the JDBC URL as its host; PostgreSQL
    takes text parameters into DATE columns only with ``stringtype=unspecified``."""
    parts = psycopg.conninfo.conninfo_to_dict(pg_url)
    url = (
        f"jdbc:postgresql://{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}/"
        f"{parts['dbname']}?stringtype=unspecified"
    )
    return json.dumps(
        {
            "conn_type": "jdbc",
            "host": url,
            "login": parts.get("user", "postgres"),
            "password": parts.get("password", ""),
            "extra": {"placeholder": "?", **extra},
        }
    )


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_sql_url: str) -> str:
    if not os.path.exists(JAR):
        pytest.fail(f"{JAR} is missing (scripts/services.sh ensure_postgresql_jdbc)")
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_PG_JDBC", jdbc_conn(pg_sql_url))
    monkeypatch.setenv(
        "AIRFLOW_CONN_PG_JDBC_EXTRA",
        jdbc_conn(pg_sql_url, driver_class=DRIVER, driver_path=JAR),
    )
    for name in ("CLASS", "PATH"):
        monkeypatch.delenv(f"CONVEYOR_PROVIDERS_JDBC_ALLOW_DRIVER_{name}_IN_EXTRA", raising=False)
        monkeypatch.delenv(f"AIRFLOW__PROVIDERS_JDBC__ALLOW_DRIVER_{name}_IN_EXTRA", raising=False)
    return pg_sql_url


def test_hook_writes_and_reads_through_the_jdbc_driver(env: str) -> None:
    from airflow.providers.jdbc.hooks.jdbc import JdbcHook

    table = unique("visits")
    hook = JdbcHook(jdbc_conn_id="pg_jdbc", driver_class=DRIVER, driver_path=JAR)
    hook.run(f"CREATE TABLE {table} (id int, city varchar(20), day date)")
    hook.insert_rows(table, [(1, "Oslo", "2024-03-01"), (2, "Lima", date(2024, 3, 2))])
    assert pg_rows(env, f"SELECT id, city, day FROM {table} ORDER BY id") == [
        (1, "Oslo", date(2024, 3, 1)),
        (2, "Lima", date(2024, 3, 2)),
    ]
    assert hook.get_records(f"SELECT id, city FROM {table} ORDER BY id") == [
        (1, "Oslo"),
        (2, "Lima"),
    ]
    assert hook.get_first(f"SELECT count(*) FROM {table} WHERE city = ?", ["Lima"]) == (1,)
    # One transaction unless autocommit: a failing statement undoes the earlier ones.
    with pytest.raises(Exception, match="no_such_table"):
        hook.run([f"DELETE FROM {table}", "SELECT * FROM no_such_table"])
    assert pg_rows(env, f"SELECT count(*) FROM {table}") == [(2,)]
    assert hook.get_uri().startswith("jdbc:postgresql://")


def test_driver_extras_need_the_settings(
    env: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from conveyor.providers.jdbc import JdbcHook

    hook = JdbcHook(jdbc_conn_id="pg_jdbc_extra")
    with pytest.raises(TaskError, match="CONVEYOR_PROVIDERS_JDBC_ALLOW_DRIVER_CLASS_IN_EXTRA"):
        hook.get_first("SELECT 1")
    assert "driver_class" in caplog.text and "will not be used" in caplog.text

    monkeypatch.setenv("CONVEYOR_PROVIDERS_JDBC_ALLOW_DRIVER_CLASS_IN_EXTRA", "true")
    monkeypatch.setenv("CONVEYOR_PROVIDERS_JDBC_ALLOW_DRIVER_PATH_IN_EXTRA", "true")
    allowed = JdbcHook(jdbc_conn_id="pg_jdbc_extra")
    assert (allowed.driver_class, allowed.driver_path) == (DRIVER, JAR)
    assert allowed.get_first("SELECT 40 + 2") == (42,)

    # A server that does not answer fails naming the connection, never the password.
    down = json.loads(jdbc_conn(env))
    port = psycopg.conninfo.conninfo_to_dict(env).get("port", 5432)
    down["host"] = down["host"].replace(f":{port}/", ":1/")  # nothing listens on port 1
    monkeypatch.setenv("AIRFLOW_CONN_PG_JDBC_DOWN", json.dumps({**down, "password": "s3cr3t-pw"}))
    with pytest.raises(DatabaseConnectionError, match="'pg_jdbc_down'") as refused:
        JdbcHook(jdbc_conn_id="pg_jdbc_down", driver_class=DRIVER).get_first("SELECT 1")
    assert "s3cr3t-pw" not in str(refused.value)

    # Airflow's own variable wins over Conveyor's setting, as Airflow's configuration does.
    monkeypatch.setenv("AIRFLOW__PROVIDERS_JDBC__ALLOW_DRIVER_CLASS_IN_EXTRA", "False")
    assert JdbcHook(jdbc_conn_id="pg_jdbc_extra").driver_class is None


def test_sql_operators_take_a_jdbc_connection(env: str) -> None:
    from airflow import DAG
    from airflow.providers.common.sql.operators.sql import (
        SQLExecuteQueryOperator,
        SQLValueCheckOperator,
    )
    from airflow.providers.jdbc.operators.jdbc import JdbcOperator

    table = unique("tickets")
    driver = {"driver_class": DRIVER, "driver_path": JAR}
    with DAG("jdbc_ops", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        create = JdbcOperator(
            task_id="create",
            jdbc_conn_id="pg_jdbc",
            hook_params=driver,
            sql=f"CREATE TABLE {table} (day date, n int); "
            f"INSERT INTO {table} VALUES ('{{{{ ds }}}}', 3)",
            split_statements=True,
        )
        read = SQLExecuteQueryOperator(
            task_id="read",
            conn_id="pg_jdbc",
            hook_params=driver,
            sql=f"SELECT CAST(day AS varchar), n FROM {table}",
        )
        check = SQLValueCheckOperator(
            task_id="check",
            conn_id="pg_jdbc",
            hook_params=driver,
            sql=f"SELECT sum(n) FROM {table}",
            pass_value=3,
        )
        create >> read >> check
    result = run_dag(dag, logical_date=datetime(2024, 5, 6))
    result.raise_for_failure()
    assert result.xcom("read") == [("2024-05-06", 3)]  # the driver's rows, as on Airflow
    assert result.task_state("check") is TaskState.SUCCESS
