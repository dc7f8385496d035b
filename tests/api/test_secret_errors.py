"""A failed try's error leaves the try masked like its log: the stored error, the timeline,
the task API, the callbacks' context and a notifier's text show ``***`` for the secrets the
try read, never the secrets themselves (the attack: a viewer reading a password in an error).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, close, leak_places, make_world
from sqlalchemy import select

from conveyor.connections import repository
from conveyor.connections.models import Connection
from conveyor.store.tables import task_instance

PASSWORD = "pw-Hj3!kQ9zR"
TOKEN = "tok-Zm27xQp4L"

LEAKY = """
import json
from pathlib import Path

from conveyor import DAG, task
from conveyor.connections import Variable, get_connection
from conveyor.notifiers import DEFAULT_MESSAGE, render_message

def notify(context):
    # What a notifier would send, and what every failure callback is handed.
    Path("@TMP@/notified.json").write_text(json.dumps({
        "text": render_message(DEFAULT_MESSAGE, context),
        "exception": str(context["exception"]),
        "type": type(context["exception"]).__name__,
    }))

def dag_failed(context):
    raise RuntimeError("alerting failed while sending @PASSWORD@")

with DAG("leaky", on_failure_callback=dag_failed):
    @task(on_failure_callback=notify)
    def connect():
        wh = get_connection("warehouse")
        token = Variable.get("api_token")
        raise ValueError(f"login refused for {wh.login}:{wh.password} with token {token}")

    connect()
"""


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    made = make_world(tmp_path, store_url, execute=())
    text = textwrap.dedent(LEAKY).replace("@TMP@", str(tmp_path))
    (made.settings.dags_path / "leaky.py").write_text(text.replace("@PASSWORD@", PASSWORD))
    uri = f"postgresql://etl:{PASSWORD}@db.internal:5432/sales"
    repository.set_connection(made.store, made.settings, Connection.from_uri("warehouse", uri))
    repository.set_variable(made.store, made.settings, "api_token", TOKEN)
    try:
        yield made
    finally:
        close(made)


def test_a_failed_tries_error_shows_secrets_masked_everywhere_it_goes(world: World) -> None:
    from conveyor.loading.processor import DagFileProcessor

    DagFileProcessor(world.store, world.settings.dags_path, timeout=30, scan_every=1).sync()
    run_pk = world.trigger("leaky")
    world.run(run_pk)
    with world.store.read() as conn:
        ti_id = conn.execute(
            select(task_instance.c.id).where(task_instance.c.run_pk == run_pk)
        ).scalar_one()
        error, events, callback_errors = leak_places(conn, ti_id)
        run_state = conn.execute(
            select(task_instance.c.state).where(task_instance.c.id == ti_id)
        ).scalar()
    assert run_state == "failed"

    # The stored error: the message is there, the secrets are not.
    assert error is not None and "login refused for etl:*** with token ***" in error
    assert PASSWORD not in error and TOKEN not in error
    # The timeline: the failed: message and its detail.
    failed = [m for m, _ in events if m.startswith("failed")]
    assert failed and "etl:*** with token ***" in failed[0], events
    timeline = json.dumps([[m, d] for m, d in events])
    assert PASSWORD not in timeline and TOKEN not in timeline
    # A DAG callback that raised with the secret in its message: stored masked.
    assert callback_errors and all(PASSWORD not in (e or "") for e in callback_errors)
    assert any("***" in (e or "") for e in callback_errors), callback_errors

    # What a viewer reads through the API.
    client = world.client("viewer")
    run_id = world.run_id(run_pk)
    body = client.get(f"/api/v1/dags/leaky/runs/{run_id}/tasks/connect")
    assert body.status_code == 200, body.text
    assert "etl:*** with token ***" in body.text
    assert PASSWORD not in body.text and TOKEN not in body.text

    # The failure callback's context and a notifier's text.
    notified = json.loads((world.tmp / "notified.json").read_text())
    assert "etl:*** with token ***" in notified["exception"]
    assert notified["type"] == "ValueError"  # the task's exception, its text masked
    assert "***" in notified["text"] and "leaky.connect failed" in notified["text"]
    assert PASSWORD not in json.dumps(notified) and TOKEN not in json.dumps(notified)


def test_an_admin_marks_a_variable_and_connection_fields_secret_for_ops(world: World) -> None:
    admin, op = world.client("admin"), world.client("op")
    put = admin.put("/api/v1/variables/seed", json={"value": "s33d-91", "secret": True})
    assert put.status_code == 200, put.text
    assert put.json()["value"] == "***" and put.json()["secret"] is True
    seen = op.get("/api/v1/variables/seed").json()
    assert seen["value"] == "***" and seen["secret"] is True
    assert "s33d-91" not in op.get("/api/v1/variables").text
    assert admin.get("/api/v1/variables/seed?reveal=true").json()["value"] == "s33d-91"

    body = {
        "conn_type": "http",
        "host": "api.example",
        "login": "robot-7788",
        "extra": {"tenant": "acme-42917", "region": "eu"},
        "secret_fields": ["tenant", "login"],
    }
    assert admin.put("/api/v1/connections/svc", json=body).status_code == 200
    shown = op.get("/api/v1/connections/svc")
    assert shown.status_code == 200, shown.text
    assert "acme-42917" not in shown.text and "robot-7788" not in shown.text
    assert shown.json()["extra"] == {"tenant": "***", "region": "eu"}
    assert shown.json()["secret_fields"] == ["login", "tenant"]
