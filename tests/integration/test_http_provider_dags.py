"""A DAG file in Airflow's spelling that uses the http provider, run to its end with
``conveyor run`` against a real HTTP server on a private loopback port; the test then reads
what the server received. Connections come from ``AIRFLOW_CONN_<ID>``, as an Airflow
deployment would set them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import http_servers
import pytest
from http_servers import Answer, Recorder, Seen
from sql_servers import ended, run_dag_file

# A DAG run in a process of its own: slower than the default per-test limit on a busy machine.
pytestmark = pytest.mark.timeout(300)

HTTP_DAG = '''
"""Wait for a service, create an item, rename it, read it back and page through a list."""
import json
from datetime import datetime

from airflow import DAG
from airflow.exceptions import AirflowException
from airflow.hooks import HttpHook as HttpHookFromPackage
from airflow.hooks.http_hook import HttpHook as HttpHook110
from airflow.operators.http_operator import SimpleHttpOperator as SimpleHttpOperator110
from airflow.operators.python import PythonOperator
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.operators.http import HttpOperator, SimpleHttpOperator
from airflow.providers.http.sensors.http import HttpSensor
from airflow.sensors.http_sensor import HttpSensor as HttpSensor110


def next_page(response):
    following = response.json().get("next")
    return {"data": {"page": following}} if following else None


def use_hook(ti, ds):
    hook = HttpHook(method="GET", http_conn_id="api")
    response = hook.run("items/7", data={"fields": "name"}, headers={"X-Trace": "t-1"})
    assert response.status_code == 200 and response.ok, response.status_code
    assert response.json() == {"id": 7, "name": "renamed"}, response.text
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.text) == response.json()
    broken = HttpHook110(method="GET", http_conn_id="api").run(
        "broken", extra_options={"check_response": False}
    )
    assert broken.status_code == 500 and not broken.ok and broken.text == "it broke"
    try:
        HttpHookFromPackage(method="GET", http_conn_id="api").run("broken")
    except AirflowException as exc:
        message = str(exc)
        assert message.startswith("500:Internal Server Error"), message
        assert "/api/v2/broken" in message and "'api'" in message, message
    else:
        raise AssertionError("a 500 did not raise")
    assert ti.xcom_pull(task_ids="rename") == "renamed"
    assert ti.xcom_pull(task_ids="pages") == [["a", "b"], ["c"]]
    assert json.loads(ti.xcom_pull(task_ids="create")) == {"id": 7, "name": f"item-{ds}"}
    hook = HttpHook(method="DELETE", http_conn_id="api")
    assert hook.run("items/7").status_code == 204


with DAG("http_provider", start_date=datetime(2024, 1, 1), schedule_interval=None,
         catchup=False) as dag:
    ready = HttpSensor(
        task_id="ready", http_conn_id="api", endpoint="ready",
        response_check=lambda response: response.json()["ready"],
        poke_interval=0.2, timeout=30,
    )
    alive = HttpSensor110(
        task_id="alive", http_conn_id="api", endpoint="/ready", mode="reschedule",
        poke_interval=0.2, timeout=30,
    )
    create = SimpleHttpOperator(
        task_id="create", http_conn_id="api", endpoint="items",
        data=json.dumps({"name": "item-{{ ds }}"}),
        headers={"Content-Type": "application/json"},
        response_check=lambda response, ds: response.status_code == 201 and bool(ds),
        log_response=True,
    )
    rename = HttpOperator(
        task_id="rename", http_conn_id="api", method="PUT",
        endpoint="items/{{ params.item_id }}", params={"item_id": 7},
        data={"name": "renamed"},
        response_filter=lambda response: response.json()["name"],
    )
    pages = HttpOperator(
        task_id="pages", http_conn_id="api", method="GET", endpoint="pages",
        data={"page": "1"}, pagination_function=next_page,
        response_filter=lambda responses: [r.json()["items"] for r in responses],
    )
    ping = SimpleHttpOperator110(
        task_id="ping", http_conn_id="api", method="POST", endpoint="ping",
        data={"on": "{{ ds }}"},
    )
    check = PythonOperator(task_id="check", python_callable=use_hook)
    [ready, alive] >> create >> rename >> pages >> ping >> check
'''

USER, PASSWORD = "robot", "Pa55w0rd-http-9"


def _api() -> dict[tuple[str, str], object]:
    items: dict[int, dict[str, object]] = {}
    polls = {"ready": 0}

    def ready(seen: Seen) -> Answer:
        polls["ready"] += 1  # not there twice, then there
        if polls["ready"] <= 2:
            return 404, {"error": "starting"}, {}
        return 200, {"ready": True}, {}

    def create(seen: Seen) -> Answer:
        items[7] = {"id": 7, **seen.json()}
        return 201, items[7], {}

    def rename(seen: Seen) -> Answer:
        items[7]["name"] = seen.form()["name"][0]
        return 200, items[7], {}

    def page(seen: Seen) -> Answer:
        number = seen.query["page"][0]
        if number == "1":
            return 200, {"items": ["a", "b"], "next": "2"}, {}
        return 200, {"items": ["c"]}, {}

    base = "/api/v2"
    return {
        ("GET", f"{base}/ready"): ready,
        ("POST", f"{base}/items"): create,
        ("PUT", f"{base}/items/7"): rename,
        ("GET", f"{base}/items/7"): lambda seen: (200, items[7], {}),
        ("DELETE", f"{base}/items/7"): lambda seen: (204, b"", {}),
        ("GET", f"{base}/pages"): page,
        ("POST", f"{base}/ping"): lambda seen: (200, "pong", {}),
        ("GET", f"{base}/broken"): lambda seen: (500, "it broke", {}),
    }


@pytest.fixture
def api() -> Iterator[Recorder]:
    yield from http_servers.serve(Recorder(routes=_api()))  # type: ignore[arg-type]


def test_an_http_dag_runs_to_success(tmp_path: Path, api: Recorder) -> None:
    port = api.url.rsplit(":", 1)[1]
    done = run_dag_file(
        tmp_path,
        "http_provider.py",
        HTTP_DAG,
        # Airflow's URI: the path is the base path; extra keys become headers.
        {"AIRFLOW_CONN_API": f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/api/v2?X-Tenant=acme"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert PASSWORD not in output

    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert all(s.headers.get("authorization") == auth for s in api.seen)
    assert all(s.headers.get("x-tenant") == "acme" for s in api.seen)
    assert len(api.requests("GET", "/api/v2/ready")) >= 4  # two 404s were "not yet"
    (ping,) = api.requests("POST", "/api/v2/ping")
    ds = ping.form()["on"][0]  # the run's logical date, rendered into both
    assert ds.startswith("20") and len(ds) == 10, ds
    (created,) = api.requests("POST", "/api/v2/items")
    assert created.json() == {"name": f"item-{ds}"}
    assert created.headers["content-type"] == "application/json"
    (renamed,) = api.requests("PUT", "/api/v2/items/7")
    assert renamed.form() == {"name": ["renamed"]}
    assert [s.query for s in api.requests("GET", "/api/v2/pages")] == [
        {"page": ["1"]},
        {"page": ["2"]},
    ]
    (read,) = api.requests("GET", "/api/v2/items/7")
    assert read.query == {"fields": ["name"]} and read.headers["x-trace"] == "t-1"
    assert len(api.requests("GET", "/api/v2/broken")) == 2
    assert len(api.requests("DELETE", "/api/v2/items/7")) == 1


BAD_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.http.sensors.http import HttpSensor


def not_http():
    HttpHook(method="GET", http_conn_id="not_http").run("x")


with DAG("bad_http", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    HttpOperator(task_id="wrong_host", http_conn_id="api_down", endpoint="items")
    PythonOperator(task_id="unknown_type", python_callable=not_http)
    HttpOperator(task_id="refused", http_conn_id="api", endpoint="items/7", method="GET",
                 response_check=lambda response: response.status_code == 201)
    HttpSensor(task_id="server_error", http_conn_id="api", endpoint="broken",
               poke_interval=0.1, timeout=10)
"""


def test_bad_connections_fail_naming_the_connection_never_the_password(
    tmp_path: Path, api: Recorder
) -> None:
    api.routes[("GET", "/api/v2/items/7")] = lambda seen: (200, {"id": 7}, {})
    api.routes[("GET", "/api/v2/broken")] = lambda seen: (503, "down", {})
    secret = "Wr0ng-Pa55word-42"
    port = api.url.rsplit(":", 1)[1]
    with http_servers.refusing_port() as closed:
        done = run_dag_file(
            tmp_path,
            "bad.py",
            BAD_DAG,
            {
                "AIRFLOW_CONN_API_DOWN": f"http://someone:{secret}@127.0.0.1:{closed}/v1",
                "AIRFLOW_CONN_NOT_HTTP": f"postgres://someone:{secret}@127.0.0.1:5432/db",
                "AIRFLOW_CONN_API": f"http://someone:{secret}@127.0.0.1:{port}/api/v2",
            },
        )
    output, logs = ended(done, tmp_path, 1)
    assert secret not in output and secret not in logs
    assert "connection 'api_down'" in output and "got no answer" in output
    assert "connection 'not_http' has type 'postgres'" in output
    assert "Response check returned False" in output
    assert "503:Service Unavailable" in output
    for task_id in ("wrong_host", "unknown_type", "refused", "server_error"):
        assert f"{task_id} failed on try 1" in output, task_id


def test_conveyor_dags_validate_finds_nothing_to_change_in_these_files() -> None:
    from conveyor.airflow_compat.lint import check_source

    for source in (HTTP_DAG, BAD_DAG):
        assert check_source(source) == [], json.dumps(source[:80])
