"""The class names of the errors a failed SQL check, a 4xx answer and a false
response_check raise (every one is an AirflowException on both systems: the other
provider DAGs check that)."""

from airflow.providers.common.sql.operators.sql import SQLCheckOperator, SQLValueCheckOperator
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG, task
from difrec import START, attempt, rec


def failed(context):
    rec(context, "error", type(context["exception"]).__name__)


with DAG(
    "prov_exception_classes",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": failed},
):
    SQLCheckOperator(task_id="sql_check", conn_id="diffsuite_sql", sql="SELECT 0")
    SQLValueCheckOperator(
        task_id="value_check", conn_id="diffsuite_sql", sql="SELECT 1", pass_value=2
    )
    HttpOperator(
        task_id="response_check",
        http_conn_id="diffsuite_http",
        endpoint="json",
        method="GET",
        response_check=lambda response: False,
    )

    @task
    def hook(**context):
        http = HttpHook(method="GET", http_conn_id="diffsuite_http")
        attempt(context, "status", lambda: http.run("status/404"))

    hook()
