"""A 4xx or 5xx answer: HttpOperator fails the try, HttpHook.run raises, unless
check_response is off."""

from airflow.exceptions import AirflowException
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG, task
from difrec import START, rec


def raised(thunk):
    """What ``except AirflowException`` sees of ``thunk()``."""
    try:
        thunk()
    except AirflowException as error:
        return ["caught", str(error)[:13]]
    return "nothing raised"


def failed(context):
    error = context["exception"]
    rec(context, "airflow_exception", isinstance(error, AirflowException))
    rec(context, "starts", str(error)[:13])


with DAG(
    "prov_http_errors",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": failed},
):
    HttpOperator(
        task_id="not_found", http_conn_id="diffsuite_http", endpoint="status/404", method="GET"
    )
    HttpOperator(
        task_id="server_error", http_conn_id="diffsuite_http", endpoint="status/500", method="GET"
    )

    @task
    def hook(**context):
        http = HttpHook(method="GET", http_conn_id="diffsuite_http")
        rec(context, "raised_404", raised(lambda: http.run("status/404")))
        rec(context, "raised_503", raised(lambda: http.run("status/503")))
        unchecked = http.run("status/404", extra_options={"check_response": False})
        rec(context, "unchecked", [unchecked.status_code, unchecked.ok, unchecked.json()])

    hook()
