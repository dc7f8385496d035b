"""The third review's findings, each replayed: secrets nested inside a connection's extra or a
variable's JSON (masked wherever an op or a viewer reads them, and in a try's log and XCom),
and JSON nested too deep to show (refused by every writer with a 4xx, shown cut when an
older row holds it). Both backends."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import CONVEYOR, World, close, make_world, run_cli
from sqlalchemy import update

from conveyor.connections import repository
from conveyor.connections.models import Connection
from conveyor.loading.processor import DagFileProcessor
from conveyor.store.tables import dag_run
from conveyor.strict_json import MAX_DEPTH, TOO_DEEP

#: Credentials that sit inside objects and lists of a connection's extra, as the providers
#: take them: an AWS connection's service_config, HTTP headers, a kubeconfig.
S3_SECRET = "aws-Nested/Secret+Key0"
HEADER_TOKEN = "Bearer hdr-9Qx7Tok"
KUBE_TOKEN = "kube-user-tok-55Zr"
LISTED_KEY = "listed-client-key-4u"
VARIABLE_PASSWORD = "var-nested-Pw-31"
EXTRA: dict[str, Any] = {
    "region_name": "eu-west-1",
    "service_config": {
        "s3": {"endpoint_url": "http://s3.local", "aws_secret_access_key": S3_SECRET}
    },
    "headers": {"Authorization": HEADER_TOKEN, "X-Tenant": "acme"},
    "kube_config": {"users": [{"name": "u", "user": {"token": KUBE_TOKEN}}]},
    "clients": [{"name": "one", "client_key": LISTED_KEY}],
}
SECRETS = (S3_SECRET, HEADER_TOKEN, KUBE_TOKEN, LISTED_KEY, VARIABLE_PASSWORD)

READER = """
from conveyor import DAG, BashOperator, task
from conveyor.connections import Variable, get_connection

with DAG("reader"):
    BashOperator(
        task_id="render",
        bash_command="echo rendered {{ conn.nested.extra_dejson.headers.Authorization }}",
    )

    @task
    def read():
        extra = get_connection("nested").extra_dejson
        settings = Variable.get("app_settings", deserialize_json=True)
        print("s3", extra["service_config"]["s3"]["aws_secret_access_key"])
        print("header", extra["headers"]["Authorization"])
        print("kube", extra["kube_config"]["users"][0]["user"]["token"])
        print("listed", extra["clients"][0]["client_key"])
        print("variable", settings["db"]["password"], "of", settings["db"]["user"])
        return {"found": extra["headers"]["Authorization"], "user": settings["db"]["user"]}

    read()
"""


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    made = make_world(tmp_path, store_url, execute=())
    (made.settings.dags_path / "reader.py").write_text(textwrap.dedent(READER))
    DagFileProcessor(made.store, made.settings.dags_path, timeout=30, scan_every=1).sync()
    nested = Connection("nested", "aws", login="AKIA-LOGIN", password="top-pw", extra=EXTRA)
    repository.set_connection(made.store, made.settings, nested)
    settings = {"db": {"user": "etl", "password": VARIABLE_PASSWORD}, "retries": 3}
    repository.set_variable(made.store, made.settings, "app_settings", json.dumps(settings))
    try:
        yield made
    finally:
        close(made)


def test_unit_nested_extra_is_masked_and_registered() -> None:
    conn = Connection("nested", "aws", extra=EXTRA)
    shown = conn.masked_extra()
    assert shown["service_config"]["s3"] == {
        "endpoint_url": "http://s3.local",
        "aws_secret_access_key": "***",
    }
    assert shown["headers"] == {"Authorization": "***", "X-Tenant": "acme"}
    assert shown["kube_config"] == "***"  # a kubeconfig is a secret whole
    assert shown["clients"] == [{"name": "one", "client_key": "***"}]
    assert conn.extra_dejson == EXTRA  # the connection itself is untouched
    registered = json.dumps(conn.secret_values())
    assert all(secret in registered for secret in SECRETS[:4])
    assert "acme" not in registered and "http://s3.local" not in registered
    assert leaked(conn.get_uri(reveal=False)) == []


def test_nested_secrets_are_masked_wherever_an_op_or_a_viewer_reads(world: World) -> None:
    op = world.client("op")
    seen: dict[str, str] = {
        "API connection": op.get("/api/v1/connections/nested").text,
        "API connections": op.get("/api/v1/connections").text,
        "API variable": op.get("/api/v1/variables/app_settings").text,
        "API variables": op.get("/api/v1/variables").text,
    }
    for page in ("/admin/connections", "/admin/variables"):
        answer = world.client("admin").get(page)
        assert answer.status_code == 200, page
        seen[page] = answer.text
    for args in (
        ("connections", "get", "nested", "-o", "json"),
        ("connections", "list", "-o", "json"),
        ("connections", "export", "-"),
        ("variables", "get", "app_settings"),
        ("variables", "list", "-o", "json"),
        ("variables", "export", "-"),
    ):
        done = run_cli(world, *args, CONVEYOR_HOME=str(world.settings.home))  # its key
        assert done.exit_code == 0, done.output
        seen[" ".join(args)] = done.output
    assert {where: leaked(text) for where, text in seen.items() if leaked(text)} == {}
    # What is not secret is still shown.
    assert "acme" in seen["API connection"] and "eu-west-1" in seen["API connection"]
    assert '"user": "etl"' in seen["variables get app_settings"]

    run_pk = world.trigger("reader")
    world.run(run_pk)
    base = f"/api/v1/dags/reader/runs/{world.run_id(run_pk)}/tasks/read"
    viewer = world.client("viewer")
    log = viewer.get(f"{base}/tries/1/log")
    assert log.status_code == 200, log.text
    assert "header ***" in log.text and "variable *** of etl" in log.text, log.text
    xcom = viewer.get(f"{base}/xcom").json()["xcom"]
    assert [x["value"] for x in xcom] == [{"found": "***", "user": "etl"}]
    assert leaked(log.text + json.dumps(xcom)) == []
    # A template that reads a nested secret: its rendered field and its output are masked.
    render = f"/api/v1/dags/reader/runs/{world.run_id(run_pk)}/tasks/render"
    fields = viewer.get(f"{render}/tries/1/rendered")
    assert fields.status_code == 200, fields.text
    assert fields.json()["fields"]["bash_command"] == "echo rendered ***"
    output = viewer.get(f"{render}/tries/1/log").text
    assert "rendered ***" in output and leaked(fields.text + output) == []


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"d": value}
    return value


def test_json_nested_too_deep_is_refused_by_every_writer(world: World) -> None:
    op = world.client("op")
    answer = op.post("/api/v1/dags/reader/runs", json={"conf": _deep(MAX_DEPTH + 1)})
    assert answer.status_code == 422, answer.text
    assert f"nested more than {MAX_DEPTH} levels deep" in answer.text
    # Deep enough to break a recursive parser, from nobody at all: a 4xx, not a 500.
    flood = "[" * 100_000 + "]" * 100_000
    for path in ("/api/v1/dags/pipeline/runs", "/api/v1/variables", "/api/v1/connections"):
        anonymous = world.client().post(
            path, content=flood, headers={"Content-Type": "application/json"}
        )
        assert anonymous.status_code == 422, (path, anonymous.text)
    fine = op.post("/api/v1/dags/reader/runs", json={"conf": _deep(MAX_DEPTH)})
    assert fine.status_code in (200, 201), fine.text

    for levels in (MAX_DEPTH + 1, 600):
        done = run_cli(world, "dags", "trigger", "reader", "--conf", json.dumps(_deep(levels)))
        assert done.exit_code == 1, done.output
        assert f"nested more than {MAX_DEPTH} levels deep" in done.output
        assert "Traceback" not in done.output and "RecursionError" not in done.output


def test_a_stored_value_nested_too_deep_is_shown_cut_never_a_500(world: World) -> None:
    run_pk = world.trigger("reader")
    with world.store.write() as conn:  # as an older Conveyor could store it
        conn.execute(update(dag_run).where(dag_run.c.id == run_pk).values(conf=_deep(300)))
    viewer = world.client("viewer")
    for path in ("/api/v1/runs", "/api/v1/dags/reader/runs"):
        answer = viewer.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert TOO_DEEP in answer.text
    run = viewer.get(f"/api/v1/dags/reader/runs/{world.run_id(run_pk)}")
    assert run.status_code == 200 and TOO_DEEP in run.text
    page = viewer.get(f"/dags/reader/runs/{world.run_id(run_pk)}")
    assert page.status_code == 200


def test_a_task_cannot_return_json_nested_too_deep(tmp_path: Path) -> None:
    dag_file = tmp_path / "deep.py"
    dag_file.write_text(
        textwrap.dedent(
            """
            from conveyor import DAG, task

            with DAG("deep"):
                @task(retries=0)
                def dig():
                    value = "bottom"
                    for _ in range(300):
                        value = [value]
                    return value

                dig()
            """
        )
    )
    environ = {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [CONVEYOR, "run", str(dag_file)], env=environ, capture_output=True, text=True, timeout=120
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"nested more than {MAX_DEPTH} levels deep" in output
    assert "RecursionError" not in output
