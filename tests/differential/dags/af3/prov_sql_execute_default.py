"""SQLExecuteQueryOperator's XCom by default: every row of the (last) statement."""

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_sql_execute_default", schedule=None, start_date=START, catchup=False):
    one = SQLExecuteQueryOperator(
        task_id="one",
        conn_id="diffsuite_sql",
        sql="SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y' ORDER BY 1",
    )
    several = SQLExecuteQueryOperator(
        task_id="several", conn_id="diffsuite_sql", sql="SELECT 1 AS a; SELECT 2 AS b, 3 AS c"
    )
    empty = SQLExecuteQueryOperator(
        task_id="empty", conn_id="diffsuite_sql", sql="SELECT 1 WHERE false"
    )

    @task
    def look(**context):
        for name in ("one", "several", "empty"):
            rec(context, name, context["ti"].xcom_pull(task_ids=name))

    [one, several, empty] >> look()
