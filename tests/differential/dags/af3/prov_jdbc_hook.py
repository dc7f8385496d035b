"""JdbcHook on PostgreSQL's JDBC driver: run, insert_rows with the `?` placeholder (a text
value into a DATE column), get_records, get_first with parameters, autocommit, get_uri (the
JDBC URL, or a SQLAlchemy URL from the extras), the driver extras a hook ignores by default,
and SQLExecuteQueryOperator on a `jdbc` connection with the driver as hook_params."""

import re

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.jdbc.hooks.jdbc import JdbcHook
from airflow.sdk import DAG, task
from difrec import START, rec

TABLE = "prov_jdbc_hook_t"
DRIVER = {"driver_class": "org.postgresql.Driver", "driver_path": "/usr/share/java/postgresql.jar"}

with DAG("prov_jdbc_hook", schedule=None, start_date=START, catchup=False):

    @task
    def use(**context):
        hook = JdbcHook(jdbc_conn_id="diffsuite_jdbc", **DRIVER)
        hook.run(f"DROP TABLE IF EXISTS {TABLE}")
        hook.run(f"CREATE TABLE {TABLE} (id int, city varchar(20), day date)")
        hook.insert_rows(
            TABLE, [(1, "Oslo", "2024-03-01"), (2, "Lima", "2024-03-02")], ["id", "city", "day"]
        )
        rows = hook.get_records(f"SELECT id, city, day FROM {TABLE} ORDER BY id")
        rec(context, "records", rows)
        rec(context, "records_type", [type(rows).__name__, type(rows[0]).__name__])
        rec(context, "first", hook.get_first(f"SELECT city FROM {TABLE} WHERE id = ?", [2]))
        conn = hook.get_conn()
        hook.set_autocommit(conn, True)
        rec(context, "autocommit", hook.get_autocommit(conn))
        conn.close()
        # The database's name is the harness's own (diffsuite_<pid>).
        rec(context, "uri", re.sub(r"diffsuite_\d+", "DB", hook.get_uri()))

    @task
    def shape(**context):
        hook = JdbcHook(jdbc_conn_id="diffsuite_jdbc_shape")
        rec(context, "uri", hook.get_uri())
        rec(context, "driver_from_extra", [hook.driver_class, hook.driver_path])

    query = SQLExecuteQueryOperator(
        task_id="query",
        conn_id="diffsuite_jdbc",
        hook_params=DRIVER,
        sql=f"SELECT count(*), max(city) FROM {TABLE}",
    )
    drop = SQLExecuteQueryOperator(
        task_id="drop",
        conn_id="diffsuite_jdbc",
        hook_params=DRIVER,
        sql=f"DROP TABLE IF EXISTS {TABLE}",
        trigger_rule="all_done",
    )

    @task
    def look(**context):
        rec(context, "query", context["ti"].xcom_pull(task_ids="query"))

    use() >> query >> look() >> drop
    shape()
