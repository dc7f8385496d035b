"""PostgresHook: run, insert_rows, get_records, get_first, run with a handler, on a real server."""

from airflow.providers.common.sql.hooks.handlers import fetch_all_handler
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import DAG, task
from difrec import START, attempt, rec

TABLE = "prov_postgres_hook_t"

with DAG("prov_postgres_hook", schedule=None, start_date=START, catchup=False):

    @task
    def use(**context):
        hook = PostgresHook(postgres_conn_id="diffsuite_sql")
        rec(context, "conn_type", hook.get_connection("diffsuite_sql").conn_type)
        hook.run(f"DROP TABLE IF EXISTS {TABLE}; CREATE TABLE {TABLE} (id int, name text)")
        try:
            hook.insert_rows(TABLE, [(1, "one"), (2, "two")], target_fields=["id", "name"])
            hook.insert_rows(TABLE, [[3, "three"]])
            rows = hook.get_records(f"SELECT id, name FROM {TABLE} ORDER BY id")
            rec(context, "records", rows)
            rec(context, "records_type", [type(rows).__name__, type(rows[0]).__name__])
            first = hook.get_first(f"SELECT id, name FROM {TABLE} ORDER BY id DESC")
            rec(context, "first", [type(first).__name__, first])
            rec(context, "first_none", hook.get_first(f"SELECT id FROM {TABLE} WHERE id > 9"))
            rec(context, "params", hook.get_records(f"SELECT name FROM {TABLE} WHERE id = %s", [2]))
            rec(context, "run_plain", hook.run(f"SELECT count(*) FROM {TABLE}"))
            rec(
                context,
                "run_handler",
                hook.run(f"SELECT count(*) FROM {TABLE}", handler=fetch_all_handler),
            )
            rec(
                context,
                "run_list",
                hook.run(["SELECT 1", "SELECT 2, 3"], handler=fetch_all_handler),
            )
            rec(
                context,
                "run_list_last",
                hook.run(["SELECT 1", "SELECT 2, 3"], handler=fetch_all_handler, return_last=True),
            )
            attempt(context, "bad_sql", lambda: hook.get_records("SELECT * FROM prov_no_such"))
        finally:
            hook.run(f"DROP TABLE IF EXISTS {TABLE}")

    use()
