"""The common.sql check operators, imported by Airflow's paths, on the real PostgreSQL and
MariaDB: each passes on data as expected and fails the try, naming what it found, on data
that is not; ``retry_on_failure=False`` fails without the retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
import sql_servers
from sql_servers import mysql_rows, unique

from conveyor.states import TaskState
from conveyor.testing import run_dag

# Their in-process DAGs and hooks import Airflow's paths: the compat hook on for each test.
pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("airflow_hook")]

mysql_url = sql_servers.mysql_url
pg_sql_url = sql_servers.pg_sql_url


def pg_exec(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def sales(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_sql_url: str) -> Iterator[str]:
    """``warehouse``: a table of four sales, two on 2024-01-08 and two a week before."""
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", pg_sql_url.replace("postgresql://", "postgres://"))
    table = unique("sales")
    pg_exec(
        pg_sql_url,
        f"CREATE TABLE {table} (ds date, region text, amount numeric, qty int);"
        f"INSERT INTO {table} VALUES ('2024-01-01', 'north', 60, 5), ('2024-01-01', 'south', "
        f"40, 5), ('2024-01-08', 'north', 65, 10), ('2024-01-08', 'south', 40, 4)",
    )
    yield table
    pg_exec(pg_sql_url, f"DROP TABLE {table}")


def test_check_operators_pass_and_fail_on_postgres(sales: str) -> None:
    from airflow import DAG
    from airflow.operators.check_operator import CheckOperator
    from airflow.providers.common.sql.operators.sql import (
        SQLCheckOperator,
        SQLColumnCheckOperator,
        SQLIntervalCheckOperator,
        SQLTableCheckOperator,
        SQLThresholdCheckOperator,
        SQLValueCheckOperator,
    )

    t = sales
    c = {"conn_id": "warehouse"}
    with DAG("checks", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        SQLCheckOperator(
            task_id="check_ok", sql=f"SELECT count(*), bool_and(amount > 0) FROM {t}", **c
        )
        CheckOperator(
            task_id="check_empty",
            sql=f"SELECT count(*) FROM {t} WHERE region = 'east'",
            retries=1,
            **c,
        )
        SQLCheckOperator(
            task_id="check_no_retry",
            sql=f"SELECT count(*) FROM {t} WHERE qty > 99",
            retries=3,
            retry_on_failure=False,
            **c,
        )
        value_sql = f"SELECT sum(amount) FROM {t} WHERE ds = '{{{{ ds }}}}'"
        SQLValueCheckOperator(task_id="value_ok", sql=value_sql, pass_value=100, tolerance=0.1, **c)
        SQLValueCheckOperator(
            task_id="value_off", sql=value_sql, pass_value=100, tolerance=0.01, **c
        )
        SQLValueCheckOperator(
            task_id="value_text", sql=f"SELECT min(region) FROM {t}", pass_value="north", **c
        )
        SQLIntervalCheckOperator(
            task_id="interval_ok", table=t, metrics_thresholds={"SUM(amount)": 1.5}, **c
        )
        SQLIntervalCheckOperator(
            task_id="interval_jump", table=t, metrics_thresholds={"MAX(qty)": 1.5}, **c
        )
        SQLThresholdCheckOperator(
            task_id="threshold_ok",
            sql=f"SELECT count(*) FROM {t}",
            min_threshold=1,
            max_threshold="SELECT 10",
            **c,
        )
        SQLThresholdCheckOperator(
            task_id="threshold_over",
            sql=f"SELECT count(*) FROM {t}",
            min_threshold=1,
            max_threshold=2,
            **c,
        )
        SQLColumnCheckOperator(
            task_id="columns_ok",
            table=t,
            column_mapping={
                "amount": {"null_check": {"equal_to": 0}, "min": {"geq_to": 40}},
                "region": {"distinct_check": {"equal_to": 2}},
                "qty": {"max": {"equal_to": 9, "tolerance": 0.2}},
            },
            **c,
        )
        SQLColumnCheckOperator(
            task_id="columns_bad",
            table=t,
            partition_clause="ds = '2024-01-08'",
            column_mapping={"qty": {"max": {"less_than": 5}}},
            **c,
        )
        SQLTableCheckOperator(
            task_id="table_ok",
            table=t,
            checks={
                "row_count": {"check_statement": "COUNT(*) = 4"},
                "positive": {"check_statement": "amount > 0"},
            },
            **c,
        )
        SQLTableCheckOperator(
            task_id="table_bad",
            table=t,
            checks={
                "small": {"check_statement": "qty < 6", "partition_clause": "region = 'north'"}
            },
            **c,
        )

    result = run_dag(dag, logical_date=datetime(2024, 1, 8))
    states = {task_id: r.state for task_id, r in result.tasks.items()}
    passing = [
        "check_ok",
        "value_ok",
        "value_text",
        "interval_ok",
        "threshold_ok",
        "columns_ok",
        "table_ok",
    ]
    assert {k: states[k] for k in passing} == dict.fromkeys(passing, TaskState.SUCCESS)
    failing = [
        "check_empty",
        "check_no_retry",
        "value_off",
        "interval_jump",
        "threshold_over",
        "columns_bad",
        "table_bad",
    ]
    assert {k: states[k] for k in failing} == dict.fromkeys(failing, TaskState.FAILED)
    errors = {k: result.tasks[k].error or "" for k in failing}
    assert "Test failed" in errors["check_empty"] and "(0,)" in errors["check_empty"]
    assert result.tasks["check_empty"].tries == 2  # a check failure is retried
    assert result.tasks["check_no_retry"].tries == 1  # ... unless retry_on_failure=False
    assert "Tolerance:1.0%" in errors["value_off"] and "2024-01-08" in errors["value_off"]
    assert "MAX(qty)" in errors["interval_jump"] and "ratio 2.0" in errors["interval_jump"]
    assert "Result: 4 is not within thresholds 1.0 and 2.0" in errors["threshold_over"]
    assert "Column: qty" in errors["columns_bad"] and "'result': 10" in errors["columns_bad"]
    assert "Check: small" in errors["table_bad"]


def test_checks_on_mariadb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mysql_url: str) -> None:
    from airflow import DAG
    from airflow.providers.common.sql.operators.sql import (
        SQLColumnCheckOperator,
        SQLValueCheckOperator,
    )

    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", mysql_url)
    t = unique("stock")
    mysql_rows(mysql_url, f"CREATE TABLE {t} (item varchar(10), n int)")
    try:
        mysql_rows(mysql_url, f"INSERT INTO {t} VALUES ('pen', 3), ('ink', NULL)")
        with DAG("mysql_checks", start_date=datetime(2024, 1, 1), schedule=None) as dag:
            SQLValueCheckOperator(
                task_id="total",
                conn_id="shop",
                sql=f"SELECT sum(n), count(*) + 1 FROM {t}",
                pass_value=3,
            )
            SQLColumnCheckOperator(
                task_id="nulls",
                conn_id="shop",
                table=t,
                column_mapping={"n": {"null_check": {"equal_to": 0}}},
            )
        result = run_dag(dag)
        assert result.task_state("total") is TaskState.SUCCESS, result.tasks["total"].error
        assert result.task_state("nulls") is TaskState.FAILED
        assert "'result': Decimal('1')" in (result.tasks["nulls"].error or "")
    finally:
        mysql_rows(mysql_url, f"DROP TABLE {t}")
