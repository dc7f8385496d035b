"""SQLExecuteQueryOperator on a MySQL connection: the XCom of one and of split statements."""

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_mysql_execute", schedule=None, start_date=START, catchup=False):
    one = SQLExecuteQueryOperator(
        task_id="one", conn_id="diffsuite_mysql", sql="SELECT 1 AS a, 'x' AS b"
    )
    split = SQLExecuteQueryOperator(
        task_id="split",
        conn_id="diffsuite_mysql",
        sql="SELECT 1; SELECT 2, 3",
        split_statements=True,
        return_last=False,
    )
    named = SQLExecuteQueryOperator(
        task_id="named",
        conn_id="diffsuite_mysql",
        sql="SELECT %(word)s, %(n)s + 1",
        parameters={"word": "hi", "n": 41},
    )

    @task
    def look(**context):
        for name in ("one", "split", "named"):
            rec(context, name, context["ti"].xcom_pull(task_ids=name))

    [one, split, named] >> look()
