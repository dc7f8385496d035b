"""SqliteHook on a file: run, insert_rows (and replace=True), get_records, get_first, and
SQLExecuteQueryOperator on the same connection."""

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.sqlite.hooks.sqlite import SqliteHook
from airflow.sdk import DAG, task
from difrec import START, rec

TABLE = "prov_sqlite_hook_t"

with DAG("prov_sqlite_hook", schedule=None, start_date=START, catchup=False):

    @task
    def use(**context):
        hook = SqliteHook(sqlite_conn_id="diffsuite_sqlite")
        hook.run(f"DROP TABLE IF EXISTS {TABLE}")
        hook.run(f"CREATE TABLE {TABLE} (id integer primary key, name text)")
        hook.insert_rows(TABLE, [(1, "one"), (2, "two")], target_fields=["id", "name"])
        hook.insert_rows(TABLE, [(2, "deux")], target_fields=["id", "name"], replace=True)
        rows = hook.get_records(f"SELECT id, name FROM {TABLE} ORDER BY id")
        rec(context, "records", rows)
        rec(context, "records_type", [type(rows).__name__, type(rows[0]).__name__])
        rec(context, "first", hook.get_first(f"SELECT name FROM {TABLE} WHERE id = ?", [1]))

    query = SQLExecuteQueryOperator(
        task_id="query", conn_id="diffsuite_sqlite", sql=f"SELECT count(*), max(id) FROM {TABLE}"
    )
    drop = SQLExecuteQueryOperator(
        task_id="drop",
        conn_id="diffsuite_sqlite",
        sql=f"DROP TABLE IF EXISTS {TABLE}",
        trigger_rule="all_done",
    )

    @task
    def look(**context):
        rec(context, "query", context["ti"].xcom_pull(task_ids="query"))

    use() >> query >> look() >> drop
