"""HttpOperator: the XCom is the text, or what response_filter gives; response_check."""

from airflow.exceptions import AirflowException
from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG, task
from difrec import START, rec


def failed(context):
    rec(context, "airflow_exception", isinstance(context["exception"], AirflowException))


with DAG(
    "prov_http_operator",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": failed},
):
    text = HttpOperator(
        task_id="text", http_conn_id="diffsuite_http", endpoint="text", method="GET"
    )
    filtered = HttpOperator(
        task_id="filtered",
        http_conn_id="diffsuite_http",
        endpoint="json",
        method="GET",
        response_filter=lambda response: response.json()["items"],
        response_check=lambda response: response.json()["nested"]["ok"],
    )
    posted = HttpOperator(
        task_id="posted",
        http_conn_id="diffsuite_http",
        endpoint="echo/{{ ds }}",
        data={"a": "1", "b": "{{ dag_run.run_type }}"},
        headers={"X-Custom": "custom-{{ ds_nodash }}"},
        response_filter=lambda response: response.json(),
    )
    got = HttpOperator(
        task_id="got",
        http_conn_id="diffsuite_http",
        endpoint="echo",
        method="GET",
        data={"q": "x y"},
        response_filter=lambda response: [response.status_code, response.json()["query"]],
    )
    checked_false = HttpOperator(
        task_id="checked_false",
        http_conn_id="diffsuite_http",
        endpoint="json",
        method="GET",
        response_check=lambda response: "missing" in response.json(),
    )

    @task
    def look(**context):
        for name in ("text", "filtered", "posted", "got"):
            rec(context, name, context["ti"].xcom_pull(task_ids=name))

    [text, filtered, posted, got] >> look()
