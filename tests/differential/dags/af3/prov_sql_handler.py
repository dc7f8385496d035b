"""SQLExecuteQueryOperator's handler: fetch_one_handler, a handler of one's own, none."""

from airflow.providers.common.sql.hooks.handlers import fetch_one_handler
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, task
from difrec import START, rec


def column_names(cursor):
    return [column[0] for column in cursor.description]


with DAG("prov_sql_handler", schedule=None, start_date=START, catchup=False):
    first = SQLExecuteQueryOperator(
        task_id="first",
        conn_id="diffsuite_sql",
        sql="SELECT 7 AS n, 'seven' AS word UNION ALL SELECT 8, 'eight' ORDER BY 1",
        handler=fetch_one_handler,
    )
    names = SQLExecuteQueryOperator(
        task_id="names",
        conn_id="diffsuite_sql",
        sql="SELECT 1 AS alpha, 2 AS beta",
        handler=column_names,
    )
    nothing = SQLExecuteQueryOperator(
        task_id="nothing", conn_id="diffsuite_sql", sql="SELECT 1", do_xcom_push=False
    )
    logged = SQLExecuteQueryOperator(
        task_id="logged",
        conn_id="diffsuite_sql",
        sql="SELECT 'shown' AS s",
        show_return_value_in_logs=True,
    )

    @task
    def look(**context):
        for name in ("first", "names", "nothing", "logged"):
            rec(context, name, context["ti"].xcom_pull(task_ids=name))

    [first, names, nothing, logged] >> look()
