"""Connections and variables brought over from Airflow with the import commands, read by an
Airflow DAG file that the real scheduler and local executor run, on both store backends."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sql_servers
from sql_servers import mysql_rows, pg_rows, unique

from conveyor.states import TaskState
from conveyor.store.engine import Store
from run_env import Env, run_one

# The servers' fixtures, used by name below.
mysql_url = sql_servers.mysql_url
pg_sql_url = sql_servers.pg_sql_url

DAG_FILE = """
from datetime import datetime

from airflow import DAG
from airflow.models import Variable
from airflow.operators.python import PythonOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.mysql.hooks.mysql import MySqlHook


def copy_over():
    limit = int(Variable.get("row_limit"))
    rows = MySqlHook(mysql_conn_id="shop").get_records(
        f"SELECT name FROM @TABLE@ ORDER BY id LIMIT {limit}"
    )
    settings = Variable.get("copy_settings", deserialize_json=True)
    return {"rows": [list(r) for r in rows], "target": settings["target"]}


with DAG("imported", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    read = PythonOperator(task_id="read", python_callable=copy_over)
    write = SQLExecuteQueryOperator(
        task_id="write", conn_id="warehouse",
        sql="CREATE TABLE {{ var.json.copy_settings.target }} AS "
            "SELECT '{{ ti.xcom_pull(task_ids='read')['rows'][0][0] }}'::text AS name",
    )
    read >> write
"""


@pytest.mark.timeout(300)
def test_imported_connections_and_variables_reach_the_tries(
    tmp_path: Path,
    store: Store,
    pg_sql_url: str,
    mysql_url: str,
) -> None:
    table, target = unique("source"), unique("target")
    mysql_rows(mysql_url, f"CREATE TABLE {table} (id int, name varchar(10))")
    try:
        mysql_rows(mysql_url, f"INSERT INTO {table} VALUES (1, 'ant'), (2, 'bee')")
        home = tmp_path / "home"
        pg = urlsplit(pg_sql_url)
        my = urlsplit(mysql_url)
        exported = {
            "warehouse": {
                "conn_type": "postgres",
                "host": pg.hostname,
                "port": pg.port,
                "login": pg.username,
                "password": pg.password,
                "schema": pg.path.lstrip("/"),
                "extra": "{}",
                "description": None,
            },
            "shop": {
                "conn_type": "mysql",
                "host": my.hostname,
                "port": my.port,
                "login": my.username,
                "password": my.password,
                "schema": my.path.lstrip("/"),
                "extra": None,
                "description": None,
            },
        }
        (tmp_path / "connections.json").write_text(json.dumps(exported, indent=2))
        (tmp_path / "variables.json").write_text(
            json.dumps({"row_limit": 1, "copy_settings": {"target": target}}, indent=4)
        )
        for kind in ("connections", "variables"):  # as a user types it, in a process of its own
            done = subprocess.run(
                [sql_servers.CONVEYOR, kind, "import", str(tmp_path / f"{kind}.json")],
                env={**os.environ, "CONVEYOR_HOME": str(home), "CONVEYOR_DATABASE_URL": store.url},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stdout + done.stderr

        dags = tmp_path / "dags"
        dags.mkdir()
        env = Env(tmp_path, dags, store)
        env.write_dag("imported.py", DAG_FILE.replace("@TABLE@", table), header=False)
        run_pk = run_one(env, "imported", limit=60)
        logs = "".join(p.read_text() for p in (tmp_path / "home").rglob("try-*.log"))
        assert env.states(run_pk) == {"read": TaskState.SUCCESS, "write": TaskState.SUCCESS}, logs
        assert pg_rows(pg_sql_url, f"SELECT name FROM {target}") == [("ant",)]
    finally:
        mysql_rows(mysql_url, f"DROP TABLE IF EXISTS {table}")
