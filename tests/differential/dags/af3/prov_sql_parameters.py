"""SQLExecuteQueryOperator's parameters: %(name)s with a dict, %s with a list, templated."""

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_sql_parameters", schedule=None, start_date=START, catchup=False):
    named = SQLExecuteQueryOperator(
        task_id="named",
        conn_id="diffsuite_sql",
        sql="SELECT %(word)s::text AS w, %(n)s::int + 1 AS n",
        parameters={"word": "hi", "n": 41},
    )
    positional = SQLExecuteQueryOperator(
        task_id="positional",
        conn_id="diffsuite_sql",
        sql="SELECT %s::text || '!', %s::int * 2",
        parameters=["wow", 21],
    )
    templated = SQLExecuteQueryOperator(
        task_id="templated",
        conn_id="diffsuite_sql",
        sql="SELECT '{{ ds }}' AS day, %(run)s::text AS run_type",
        parameters={"run": "{{ dag_run.run_type }}"},
    )

    @task
    def look(**context):
        for name in ("named", "positional", "templated"):
            rec(context, name, context["ti"].xcom_pull(task_ids=name))

    [named, positional, templated] >> look()
