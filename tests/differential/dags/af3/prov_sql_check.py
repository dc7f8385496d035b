"""SQLCheckOperator: every value of the first row true passes; a false one fails the try."""

from airflow.exceptions import AirflowException
from airflow.providers.common.sql.operators.sql import SQLCheckOperator
from airflow.sdk import DAG
from difrec import START, rec


def failed(context):
    rec(context, "airflow_exception", isinstance(context["exception"], AirflowException))


with DAG(
    "prov_sql_check",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": failed},
):
    SQLCheckOperator(task_id="passes", conn_id="diffsuite_sql", sql="SELECT 1, 'a', true")
    SQLCheckOperator(task_id="zero", conn_id="diffsuite_sql", sql="SELECT 1, 0")
    SQLCheckOperator(task_id="no_row", conn_id="diffsuite_sql", sql="SELECT 1 WHERE false")
