"""SQLExecuteQueryOperator's sql naming a .sql file beside the DAG: rendered, then run."""

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_sql_file", schedule=None, start_date=START, catchup=False):
    query = SQLExecuteQueryOperator(
        task_id="query",
        conn_id="diffsuite_sql",
        sql="prov_sql_file_query.sql",
        params={"colour": "blue"},
    )

    @task
    def look(**context):
        rec(context, "rows", context["ti"].xcom_pull(task_ids="query"))

    query >> look()
