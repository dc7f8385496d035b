"""split_statements and return_last: one result per statement, or the last one's."""

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, task
from difrec import START, rec

SQL = "SELECT 1 AS a; SELECT 2 AS b UNION ALL SELECT 3"

with DAG("prov_sql_return_last", schedule=None, start_date=START, catchup=False):
    every = SQLExecuteQueryOperator(
        task_id="every", conn_id="diffsuite_sql", sql=SQL, split_statements=True, return_last=False
    )
    last = SQLExecuteQueryOperator(
        task_id="last", conn_id="diffsuite_sql", sql=SQL, split_statements=True
    )
    listed = SQLExecuteQueryOperator(
        task_id="listed", conn_id="diffsuite_sql", sql=["SELECT 4", "SELECT 5, 6"]
    )
    listed_last = SQLExecuteQueryOperator(
        task_id="listed_last",
        conn_id="diffsuite_sql",
        sql=["SELECT 4", "SELECT 5, 6"],
        return_last=True,
    )

    @task
    def look(**context):
        for name in ("every", "last", "listed", "listed_last"):
            rec(context, name, context["ti"].xcom_pull(task_ids=name))

    [every, last, listed, listed_last] >> look()
