"""HttpSensor in poke mode that succeeds at its first poke, with and without response_check."""

from airflow.providers.http.sensors.http import HttpSensor
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_http_sensor", schedule=None, start_date=START, catchup=False):
    plain = HttpSensor(
        task_id="plain",
        http_conn_id="diffsuite_http",
        endpoint="json",
        poke_interval=1,
        timeout=30,
    )
    checked = HttpSensor(
        task_id="checked",
        http_conn_id="diffsuite_http",
        endpoint="echo",
        request_params={"q": "1"},
        response_check=lambda response: response.json()["query"] == {"q": "1"},
        poke_interval=1,
        timeout=30,
    )

    @task
    def look(**context):
        rec(context, "plain", context["ti"].xcom_pull(task_ids="plain"))
        rec(context, "checked", context["ti"].xcom_pull(task_ids="checked"))

    [plain, checked] >> look()
