"""SQLThresholdCheckOperator: numeric bounds, and bounds that are queries themselves."""

from airflow.exceptions import AirflowException
from airflow.providers.common.sql.operators.sql import SQLThresholdCheckOperator
from airflow.sdk import DAG
from difrec import START, rec


def failed(context):
    rec(context, "airflow_exception", isinstance(context["exception"], AirflowException))


with DAG(
    "prov_sql_threshold_check",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": failed},
):
    SQLThresholdCheckOperator(
        task_id="inside",
        conn_id="diffsuite_sql",
        sql="SELECT 5",
        min_threshold=1,
        max_threshold=10,
    )
    SQLThresholdCheckOperator(
        task_id="above",
        conn_id="diffsuite_sql",
        sql="SELECT 11",
        min_threshold=1,
        max_threshold=10,
    )
    SQLThresholdCheckOperator(
        task_id="query_bounds",
        conn_id="diffsuite_sql",
        sql="SELECT 5",
        min_threshold="SELECT 6",
        max_threshold="SELECT 9",
    )
