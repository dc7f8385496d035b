"""Secrets a try read stay masked in every spelling Conveyor itself writes, and wherever a
viewer reads: a password with ``@ : / + = %`` printed through ``get_uri()``, ``.uri`` and
``sqlalchemy_url()`` (percent-encoded), the strings inside a secret JSON variable, and a
secret a task returns as its XCom (shown masked, handed on in clear to the task that pulls
it). The attack: a viewer reading them in the log, the error, the timeline, a callback's
context, the REST log, ``conveyor tasks logs`` or the XCom view."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from api_helpers import World, close, leak_places, make_world
from sqlalchemy import select

from conveyor.connections import repository
from conveyor.connections.models import Connection
from conveyor.store.tables import task_instance

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
PASSWORD = "p@ss:w/rd+=%Zq9 x"
CONFIG = {"user": "svc-app", "pw": "Kx9-Lmq2/T+t"}
TOKEN = "tok/Zm27+xQp4L="

SPELLED = """
import json
from pathlib import Path

from conveyor import DAG, task
from conveyor.connections import Variable, get_connection

def notify(context):
    Path("@TMP@/notified.json").write_text(json.dumps({"exception": str(context["exception"])}))

with DAG("spelled"):
    @task(on_failure_callback=notify)
    def connect():
        wh = get_connection("warehouse")
        config = Variable.get("app_config", deserialize_json=True)
        print("uri", wh.get_uri())
        print("dot", wh.uri)
        print("sqlalchemy", wh.sqlalchemy_url())
        print("config", config["pw"], json.dumps(config))
        raise ValueError(f"cannot reach {wh.sqlalchemy_url()} as {config['pw']}")

    @task
    def fetch_token():
        return {"token": get_connection("api").password, "rows": 3}

    @task
    def use_token(got):
        # Downstream gets the value as it was returned, not its masked copy.
        assert got["token"] == get_connection("api").password, "the XCom was masked"
        return "used"

    connect()
    use_token(fetch_token())
"""


def spellings(secret: str) -> list[str]:
    """The forms of a secret a viewer must never read."""
    return [secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe=" +")]


def leaked(text: str) -> list[str]:
    secrets = [PASSWORD, CONFIG["pw"], TOKEN]
    return [form for s in secrets for form in spellings(s) if form in text]


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    made = make_world(tmp_path, store_url, execute=())
    text = textwrap.dedent(SPELLED).replace("@TMP@", str(tmp_path))
    (made.settings.dags_path / "spelled.py").write_text(text)
    warehouse = Connection(
        "warehouse",
        "postgresql",
        host="db.internal",
        port=5432,
        login="etl",
        password=PASSWORD,
        schema="s",
    )
    repository.set_connection(made.store, made.settings, warehouse)
    repository.set_connection(made.store, made.settings, Connection("api", "http", password=TOKEN))
    config = json.dumps(CONFIG)
    repository.set_variable(made.store, made.settings, "app_config", config, secret=True)
    try:
        yield made
    finally:
        close(made)


def _cli_logs(world: World, run_id: str, task_id: str) -> str:
    environ = {
        **os.environ,
        "CONVEYOR_HOME": str(world.settings.home),
        "CONVEYOR_DATABASE_URL": world.store.url,
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [CONVEYOR, "tasks", "logs", "spelled", run_id, task_id],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_spelling_of_a_secret_is_masked_wherever_a_viewer_reads(world: World) -> None:
    from conveyor.loading.processor import DagFileProcessor

    DagFileProcessor(world.store, world.settings.dags_path, timeout=30, scan_every=1).sync()
    run_pk = world.trigger("spelled")
    world.run(run_pk)
    run_id = world.run_id(run_pk)
    with world.store.read() as conn:
        states = dict(
            conn.execute(
                select(task_instance.c.task_id, task_instance.c.state).where(
                    task_instance.c.run_pk == run_pk
                )
            ).all()
        )
        ti_id = conn.execute(
            select(task_instance.c.id).where(
                task_instance.c.run_pk == run_pk, task_instance.c.task_id == "connect"
            )
        ).scalar_one()
        error, events, callback_errors = leak_places(conn, ti_id)
    assert states == {"connect": "failed", "fetch_token": "success", "use_token": "success"}

    viewer = world.client("viewer")
    base = f"/api/v1/dags/spelled/runs/{run_id}/tasks"
    rest_log = viewer.get(f"{base}/connect/tries/1/log")
    assert rest_log.status_code == 200, rest_log.text
    log = rest_log.text
    # The lines are there, with the secrets masked.
    assert "postgresql://etl:***@db.internal:5432/s" in log, log
    assert "config *** " in log, log

    seen = {
        "error": error or "",
        "timeline": json.dumps([[m, d] for m, d in events]),
        "callbacks": json.dumps(callback_errors),
        "callback context": (world.tmp / "notified.json").read_text(),
        "REST log": log,
        "conveyor tasks logs": _cli_logs(world, run_id, "connect"),
        "task API": viewer.get(f"{base}/connect").text,
        "XCom API": viewer.get(f"{base}/fetch_token/xcom").text,
    }
    assert "etl:***@" in seen["error"] and "as ***" in seen["error"], seen["error"]
    assert {where: leaked(text) for where, text in seen.items() if leaked(text)} == {}
    xcom = viewer.get(f"{base}/fetch_token/xcom").json()["xcom"]
    assert [x["value"] for x in xcom] == [{"token": "***", "rows": 3}]
    assert viewer.get(f"{base}/use_token/xcom").json()["xcom"][0]["value"] == "used"
