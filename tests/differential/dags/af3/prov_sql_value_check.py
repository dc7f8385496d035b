"""SQLValueCheckOperator: pass_value with and without a tolerance, numbers and text."""

from airflow.exceptions import AirflowException
from airflow.providers.common.sql.operators.sql import SQLValueCheckOperator
from airflow.sdk import DAG
from difrec import START, rec


def failed(context):
    rec(context, "airflow_exception", isinstance(context["exception"], AirflowException))


with DAG(
    "prov_sql_value_check",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": failed},
):
    SQLValueCheckOperator(
        task_id="within",
        conn_id="diffsuite_sql",
        sql="SELECT 95, 104",
        pass_value=100,
        tolerance=0.1,
    )
    SQLValueCheckOperator(
        task_id="outside",
        conn_id="diffsuite_sql",
        sql="SELECT 95",
        pass_value=100,
        tolerance=0.01,
    )
    SQLValueCheckOperator(
        task_id="exact", conn_id="diffsuite_sql", sql="SELECT 100", pass_value=100
    )
    SQLValueCheckOperator(
        task_id="text", conn_id="diffsuite_sql", sql="SELECT 'ok'", pass_value="ok"
    )
    SQLValueCheckOperator(
        task_id="text_differs", conn_id="diffsuite_sql", sql="SELECT 'no'", pass_value="ok"
    )
