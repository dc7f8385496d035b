"""DAG files in Airflow's spelling that use the postgres, mysql and common.sql providers, run
to their end with ``conveyor run`` against the real servers; each test then reads what the
database saw. Connections come from ``AIRFLOW_CONN_<ID>`` (a URI, or the JSON form) as an
Airflow deployment would set them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sql_servers
from sql_servers import ended, mysql_rows, pg_rows, run_dag_file, unique

# The servers' fixtures, used by name below.
mysql_url = sql_servers.mysql_url
pg_sql_url = sql_servers.pg_sql_url

# A DAG run in a process of its own: slower than the default per-test limit on a busy machine.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

POSTGRES_DAG = '''
"""Load a table with the postgres provider's operator and hook, read it back."""
import tempfile
from datetime import datetime

from airflow import DAG
from airflow.hooks.postgres_hook import PostgresHook as PostgresHook110
from airflow.operators.postgres_operator import PostgresOperator as PostgresOperator110
from airflow.operators.python import PythonOperator
from airflow.providers.common.sql.hooks.handlers import fetch_one_handler
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.providers.postgres.operators.postgres import PostgresOperator

TABLE = "@TABLE@"


def load():
    hook = PostgresHook(postgres_conn_id="warehouse")
    hook.insert_rows(TABLE, [(1, "ant"), (2, "bea")], target_fields=["id", "name"])
    hook.insert_rows(
        TABLE, [(2, "bee")], target_fields=["id", "name"], replace=True, replace_index="id"
    )


def check(ti):
    hook = PostgresHook(postgres_conn_id="warehouse")
    records = hook.get_records(f"SELECT id, name FROM {TABLE} ORDER BY id")
    assert isinstance(records, list) and records == [(1, "ant"), (2, "bee")], records
    assert hook.get_first(f"SELECT name FROM {TABLE} WHERE id = %s", parameters=(2,)) == ("bee",)
    assert hook.run("SELECT 1; SELECT 2", split_statements=True, return_last=False,
                    handler=fetch_one_handler) == [(1,), (2,)]
    with tempfile.NamedTemporaryFile("r") as dump:
        hook.copy_expert(f"COPY (SELECT name FROM {TABLE} ORDER BY id) TO STDOUT", dump.name)
        assert dump.read() == "ant\\nbee\\n"
    old = PostgresHook110(postgres_conn_id="warehouse_json")  # the JSON form of a connection
    assert old.get_first("SELECT current_database()") == ("@DATABASE@",)
    counted = ti.xcom_pull(task_ids="count_rows")  # rows are tuples, as on Airflow
    assert counted == [(2,)], counted
    setting = ti.xcom_pull(task_ids="with_settings")
    assert setting == [("3s",)], setting
    hook.run(f"INSERT INTO {TABLE}_seen VALUES (%(what)s)", parameters={"what": "checked"})


with DAG("pg_provider", start_date=datetime(2024, 1, 1), schedule_interval=None,
         catchup=False) as dag:
    create = PostgresOperator(
        task_id="create", postgres_conn_id="warehouse", sql="sql/create.sql",
        params={"table": TABLE},
    )
    fill = PythonOperator(task_id="fill", python_callable=load)
    count_rows = PostgresOperator(
        task_id="count_rows", postgres_conn_id="warehouse",
        sql="SELECT count(*) FROM {{ params.table }}", params={"table": TABLE},
    )
    with_settings = PostgresOperator(
        task_id="with_settings", postgres_conn_id="warehouse",
        runtime_parameters={"statement_timeout": "3000"},
        sql="SELECT current_setting('statement_timeout')",
    )
    check_it = PythonOperator(task_id="check", python_callable=check)
    mark = PostgresOperator110(
        task_id="mark", postgres_conn_id="warehouse", database="@DATABASE@",
        sql="INSERT INTO @TABLE@_seen VALUES ('{{ ds }}')", autocommit=True,
    )
    create >> fill >> [count_rows, with_settings] >> check_it >> mark
'''

CREATE_SQL = """
CREATE TABLE {{ params.table }} (id int PRIMARY KEY, name text);
-- statements of a template file run in one transaction, as in Airflow
CREATE TABLE {{ params.table }}_seen (what text);
"""


def test_a_postgres_dag_runs_to_success(tmp_path: Path, pg_sql_url: str) -> None:
    table = unique("pets")
    database = pg_sql_url.rsplit("/", 1)[1]
    as_json = json.dumps(
        {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": 5432,
            "login": "postgres",
            "schema": database,
            "extra": {"sslmode": "disable"},
        }
    )
    source = POSTGRES_DAG.replace("@TABLE@", table).replace("@DATABASE@", database)
    done = run_dag_file(
        tmp_path,
        "pg_provider.py",
        source,
        {
            "AIRFLOW_CONN_WAREHOUSE": pg_sql_url.replace("postgresql://", "postgres://"),
            "AIRFLOW_CONN_WAREHOUSE_JSON": as_json,
        },
        files={"sql/create.sql": CREATE_SQL},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert pg_rows(pg_sql_url, f"SELECT id, name FROM {table} ORDER BY id") == [
        (1, "ant"),
        (2, "bee"),
    ]
    seen = [r[0] for r in pg_rows(pg_sql_url, f"SELECT what FROM {table}_seen")]
    assert seen[0] == "checked" and len(seen) == 2 and seen[1][:2] == "20"


MYSQL_DAG = '''
"""Load a table with the mysql provider's operator and hook, read it back."""
from datetime import datetime

from airflow import DAG
from airflow.hooks.mysql_hook import MySqlHook as MySqlHook110
from airflow.operators.mysql_operator import MySqlOperator as MySqlOperator110
from airflow.operators.python import PythonOperator
from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.providers.mysql.operators.mysql import MySqlOperator

TABLE = "@TABLE@"


def load():
    hook = MySqlHook(mysql_conn_id="shop")
    hook.insert_rows(TABLE, [(1, "ant"), (2, "bea")], target_fields=["id", "name"])
    hook.insert_rows(TABLE, [(2, "bee")], target_fields=["id", "name"], replace=True)


def check(ti):
    hook = MySqlHook(mysql_conn_id="shop")
    records = hook.get_records(f"SELECT id, name FROM {TABLE} ORDER BY id")
    assert records == ((1, "ant"), (2, "bee")), records  # mysqlclient's shape in Airflow
    assert hook.get_first(f"SELECT name FROM {TABLE} WHERE id = %s", parameters=[1]) == ("ant",)
    other = MySqlHook110(mysql_conn_id="shop", schema="information_schema")
    assert other.get_first("SELECT DATABASE()") == ("information_schema",)
    pulled = ti.xcom_pull(task_ids="names")
    assert pulled == (("ant",), ("bee",)), pulled  # the driver's tuple of tuples
    hook.run(f"INSERT INTO {TABLE}_seen VALUES (%s)", parameters=["checked"])


with DAG("mysql_provider", start_date=datetime(2024, 1, 1), schedule_interval=None) as dag:
    create = MySqlOperator(
        task_id="create", mysql_conn_id="shop",
        sql=[
            "CREATE TABLE {{ params.table }} (id int PRIMARY KEY, name varchar(20))",
            "CREATE TABLE {{ params.table }}_seen (what varchar(20))",
        ],
        params={"table": TABLE},
    )
    fill = PythonOperator(task_id="fill", python_callable=load)
    names = MySqlOperator110(
        task_id="names", mysql_conn_id="shop", database="test",
        sql=f"SELECT name FROM {TABLE} ORDER BY id",
    )
    check_it = PythonOperator(task_id="check", python_callable=check)
    create >> fill >> names >> check_it
'''


def test_a_mysql_dag_runs_to_success(tmp_path: Path, mysql_url: str) -> None:
    table = unique("pets")
    try:
        done = run_dag_file(
            tmp_path,
            "mysql_provider.py",
            MYSQL_DAG.replace("@TABLE@", table),
            {"AIRFLOW_CONN_SHOP": mysql_url},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert mysql_rows(mysql_url, f"SELECT id, name FROM {table} ORDER BY id") == [
            (1, "ant"),
            (2, "bee"),
        ]
        assert mysql_rows(mysql_url, f"SELECT what FROM {table}_seen") == [("checked",)]
    finally:
        mysql_rows(mysql_url, f"DROP TABLE IF EXISTS {table}, {table}_seen")


COMMON_SQL_DAG = '''
"""common.sql on two databases: a query's XCom, a branch, and sensors in both modes."""
import os
import time
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator, get_current_context
from airflow.providers.common.sql.hooks.handlers import fetch_one_handler
from airflow.providers.common.sql.hooks.sql import DbApiHook
from airflow.providers.common.sql.operators.sql import (
    BranchSQLOperator,
    SQLExecuteQueryOperator,
)
from airflow.providers.common.sql.sensors.sql import SqlSensor
from airflow.sensors.sql_sensor import SqlSensor as SqlSensor110

TABLE = "@TABLE@"


def poked(name, done):
    """A sensor's success callable that leaves a mark for each poke."""
    def check(value):
        try_number = get_current_context()["ti"].try_number
        with open(f"@TMP@/{name}", "a") as marks:
            marks.write(f"{value} {try_number}\\n")
        return done(value)
    return check


def late_insert():
    # The row comes only once both sensors have poked and found it missing.
    deadline = time.monotonic() + 60
    while not all(os.path.exists(f"@TMP@/{n}") for n in ("poke", "reschedule")):
        assert time.monotonic() < deadline, "the sensors never poked"
        time.sleep(0.1)
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    PostgresHook(postgres_conn_id="warehouse").run(
        f"INSERT INTO {TABLE} VALUES (3, 'cat', now())", autocommit=True
    )


def record(ti):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id="warehouse")
    assert isinstance(hook, DbApiHook)
    for task_id in ("every_result", "first_row", "from_file", "on_mysql", "quiet", "columns"):
        pulled = ti.xcom_pull(task_ids=task_id)
        typed = __import__("json").dumps(pulled, default=lambda v: [type(v).__name__, str(v)])
        hook.insert_rows(f"{TABLE}_xcom", [(task_id, typed)])


with DAG("common_sql", start_date=datetime(2024, 1, 1), schedule=None,
         template_searchpath=["@QUERIES@"]) as dag:
    create = SQLExecuteQueryOperator(
        task_id="create", conn_id="warehouse", split_statements=True,
        sql=f"""
            CREATE TABLE {TABLE} (id int, name text, born timestamptz);
            CREATE TABLE {TABLE}_xcom (task_id text, value text);
            INSERT INTO {TABLE} VALUES (1, 'ant', '2024-01-02T03:04:05Z'), (2, 'bee', NULL);
        """,
    )
    every_result = SQLExecuteQueryOperator(
        task_id="every_result", conn_id="warehouse", split_statements=True, return_last=False,
        sql=f"SELECT count(*) FROM {TABLE}; SELECT name, born FROM {TABLE} WHERE id = 1",
        show_return_value_in_logs=True,
    )
    first_row = SQLExecuteQueryOperator(
        task_id="first_row", conn_id="warehouse", handler=fetch_one_handler,
        sql=f"SELECT id, name FROM {TABLE} WHERE name = %(name)s", parameters={"name": "bee"},
    )
    from_file = SQLExecuteQueryOperator(
        task_id="from_file", conn_id="warehouse", sql="names.sql", params={"table": TABLE},
    )
    on_mysql = SQLExecuteQueryOperator(
        task_id="on_mysql", conn_id="shop", sql="SELECT 1 + %s, 'x'", parameters=(1,),
    )
    quiet = SQLExecuteQueryOperator(
        task_id="quiet", conn_id="warehouse", sql="SELECT 1", do_xcom_push=False,
    )
    columns = SQLExecuteQueryOperator(
        task_id="columns", conn_id="warehouse", sql=f"SELECT id, name FROM {TABLE}",
        output_processor=lambda results, descriptions: [[c[0] for c in d] for d in descriptions],
    )
    branch = BranchSQLOperator(
        task_id="branch", conn_id="warehouse", sql=f"SELECT count(*) > 1 FROM {TABLE}",
        follow_task_ids_if_true="many", follow_task_ids_if_false=["few"],
    )
    many, few = EmptyOperator(task_id="many"), EmptyOperator(task_id="few")
    insert_later = PythonOperator(task_id="insert_later", python_callable=late_insert)
    wait_poke = SqlSensor(
        task_id="wait_poke", conn_id="warehouse", poke_interval=0.2, timeout=60,
        sql=f"SELECT count(*) FROM {TABLE} WHERE id = %s", parameters=[3],
        success=poked("poke", lambda n: n == 1),
    )
    wait_reschedule = SqlSensor110(
        task_id="wait_reschedule", conn_id="warehouse", mode="reschedule", poke_interval=0.3,
        timeout=60, sql=f"SELECT count(*) FROM {TABLE}",
        success=poked("reschedule", lambda n: n >= 3),
        failure=lambda n: n > 3,
    )
    record_xcoms = PythonOperator(task_id="record", python_callable=record)

    create >> [every_result, first_row, on_mysql, quiet, columns, branch, wait_poke,
               wait_reschedule]
    branch >> [many, few]
    # The third row comes after the count it would change, and before the file's query.
    every_result >> insert_later
    wait_poke >> from_file
    [every_result, first_row, from_file, on_mysql, quiet, columns] >> record_xcoms
'''


def test_a_common_sql_dag_runs_to_success(tmp_path: Path, pg_sql_url: str, mysql_url: str) -> None:
    table = unique("zoo")
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "names.sql").write_text("SELECT name FROM {{ params.table }} ORDER BY id\n")
    done = run_dag_file(
        tmp_path,
        "common_sql.py",
        COMMON_SQL_DAG.replace("@TABLE@", table)
        .replace("@QUERIES@", str(queries))
        .replace("@TMP@", str(tmp_path)),
        {
            "AIRFLOW_CONN_WAREHOUSE": pg_sql_url,
            "AIRFLOW_CONN_SHOP": mysql_url,
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {
        line.split()[0]: line.split()[1]
        for line in done.stdout.splitlines()
        if len(line.split()) >= 3 and line.split()[1] in ("success", "skipped")
    }
    assert lines["many"] == "success" and lines["few"] == "skipped"
    assert lines["wait_poke"] == lines["wait_reschedule"] == "success"
    # Each sensor poked before the row was there. In poke mode every poke is in one process;
    # in reschedule mode each poke is a process of its own (the slot is given back in
    # between), all of one try, as on Airflow.
    poke = [line.split() for line in (tmp_path / "poke").read_text().splitlines()]
    assert poke[0][0] == "0" and poke[-1][0] == "1" and len({t for _, t in poke}) == 1
    rescheduled = [line.split() for line in (tmp_path / "reschedule").read_text().splitlines()]
    assert rescheduled[0][0] == "2" and rescheduled[-1][0] == "3"
    assert {t for _, t in rescheduled} == {"1"} and len(rescheduled) >= 2
    xcoms = {t: json.loads(v) for t, v in pg_rows(pg_sql_url, f"SELECT * FROM {table}_xcom")}
    assert xcoms == {
        # return_last=False: one result per statement; a timestamp comes back a datetime.
        "every_result": [[[2]], [["ant", ["datetime", "2024-01-02 03:04:05+00:00"]]]],
        "first_row": [2, "bee"],
        "from_file": [["ant"], ["bee"], ["cat"]],
        "on_mysql": [[2, "x"]],
        "quiet": None,  # do_xcom_push=False
        "columns": ["id", "name"],  # output_processor(results, descriptions), last statement's
    }
    assert _log_mentions(tmp_path, "every_result", "Operator output is:")


def _log_mentions(tmp_path: Path, task_id: str, text: str) -> bool:
    return any(text in p.read_text() for p in (tmp_path / "home").rglob(f"{task_id}/try-*.log"))


BAD_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.common.sql.sensors.sql import SqlSensor
from airflow.providers.mysql.operators.mysql import MySqlOperator
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.operators.python import PythonOperator


def wrong_host():
    PostgresHook(postgres_conn_id="pg_wrong_host").get_records("SELECT 1")


with DAG("bad_connections", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    PythonOperator(task_id="wrong_host", python_callable=wrong_host)
    SQLExecuteQueryOperator(task_id="wrong_database", conn_id="pg_wrong_db", sql="SELECT 1")
    MySqlOperator(task_id="wrong_password", mysql_conn_id="my_wrong_pw", sql="SELECT 1")
    SQLExecuteQueryOperator(task_id="unknown_type", conn_id="not_sql", sql="SELECT 1")
    SqlSensor(task_id="empty", conn_id="pg_ok", sql="SELECT 1 WHERE false",
              fail_on_empty=True, poke_interval=0.1, timeout=10)
    SqlSensor(task_id="failure_met", conn_id="pg_ok", sql="SELECT 5",
              failure=lambda n: n > 3, poke_interval=0.1, timeout=10)
"""


def test_bad_connections_fail_naming_the_connection_never_the_password(
    tmp_path: Path, pg_sql_url: str, mysql_url: str
) -> None:
    secret = "Wr0ng-Pa55word-42"
    done = run_dag_file(
        tmp_path,
        "bad.py",
        BAD_DAG,
        {
            "AIRFLOW_CONN_PG_WRONG_HOST": f"postgres://someone:{secret}@127.0.0.1:1/db",
            "AIRFLOW_CONN_PG_WRONG_DB": f"postgres://postgres:{secret}@127.0.0.1:5432/no_such_db",
            "AIRFLOW_CONN_MY_WRONG_PW": mysql_url.replace("root@", f"root:{secret}@"),
            "AIRFLOW_CONN_NOT_SQL": json.dumps(
                {"conn_type": "oracle", "host": "db", "password": secret}
            ),
            "AIRFLOW_CONN_PG_OK": pg_sql_url,
        },
    )
    output, logs = ended(done, tmp_path, 1)
    assert secret not in output and secret not in logs
    for conn_id in ("pg_wrong_host", "pg_wrong_db", "my_wrong_pw"):
        assert f"connection {conn_id!r}" in output and "could not connect" in output, conn_id
    assert "connection 'not_sql' has type 'oracle'" in output
    assert "No rows returned" in output and "Failure criteria met" in output
    for task_id in (
        "wrong_host",
        "wrong_database",
        "wrong_password",
        "unknown_type",
        "empty",
        "failure_met",
    ):
        assert f"{task_id} failed on try 1" in output, task_id


def test_conveyor_dags_validate_finds_nothing_to_change_in_these_files() -> None:
    from conveyor.airflow_compat.lint import check_source

    for source in (POSTGRES_DAG, MYSQL_DAG, COMMON_SQL_DAG, BAD_DAG):
        assert check_source(source) == []
