"""MySqlHook on a real MariaDB: run, insert_rows, get_records, get_first, several statements."""

from airflow.providers.common.sql.hooks.handlers import fetch_all_handler
from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk import DAG, task
from difrec import START, rec

TABLE = "prov_mysql_hook_t"

with DAG("prov_mysql_hook", schedule=None, start_date=START, catchup=False):

    @task
    def use(**context):
        hook = MySqlHook(mysql_conn_id="diffsuite_mysql")
        hook.run(f"DROP TABLE IF EXISTS {TABLE}")
        hook.run(f"CREATE TABLE {TABLE} (id int, name varchar(20))")
        try:
            hook.insert_rows(TABLE, [(1, "one"), (2, "two")], target_fields=["id", "name"])
            rows = hook.get_records(f"SELECT id, name FROM {TABLE} ORDER BY id")
            rec(context, "records", rows)
            rec(context, "records_type", [type(rows).__name__, type(rows[0]).__name__])
            first = hook.get_first(f"SELECT id, name FROM {TABLE} ORDER BY id DESC")
            rec(context, "first", [type(first).__name__, first])
            rec(context, "first_none", hook.get_first(f"SELECT id FROM {TABLE} WHERE id > 9"))
            rec(
                context, "params", hook.get_records(f"SELECT name FROM {TABLE} WHERE id = %s", (2,))
            )
            rec(
                context,
                "several",
                hook.run(
                    f"DELETE FROM {TABLE} WHERE id = 1; SELECT count(*) FROM {TABLE}",
                    handler=fetch_all_handler,
                ),
            )
            rec(context, "after", hook.get_records(f"SELECT id FROM {TABLE} ORDER BY id"))
        finally:
            hook.run(f"DROP TABLE IF EXISTS {TABLE}")

    use()
