"""The audit log over the API: every successful action recorded once, with who, from where
and what (secrets left out); failed actions and failed logins; filters and paging; roles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, close, make_world

from conveyor.store import audit


@pytest.fixture(name="quiet")
def quiet_fixture(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=())
    yield built
    close(built)


def _entries(world: World, **filters: str) -> list[dict[str, object]]:
    response = world.client("admin").get("/api/v1/audit", params=filters)
    assert response.status_code == 200, response.text
    entries: list[dict[str, object]] = response.json()["entries"]
    return entries


def test_actions_are_recorded_with_actor_address_and_no_secrets(quiet: World) -> None:
    op = quiet.client("op")
    admin = quiet.client("admin")
    assert (
        op.post("/api/v1/dags/pipeline/runs", json={"run_id": "r1", "conf": {"n": 5}}).status_code
        == 201
    )
    assert op.patch("/api/v1/dags/pipeline", json={"is_paused": True}).status_code == 200
    assert op.patch("/api/v1/dags/pipeline", json={"is_paused": False}).status_code == 200
    put = admin.put(
        "/api/v1/connections/db1",
        json={"conn_type": "postgresql", "host": "h", "password": "hunter2-pw"},
    )
    assert put.status_code == 200, put.text
    assert admin.put("/api/v1/variables/api_key", json={"value": "s3cr3t-value"}).status_code == 200
    assert admin.put("/api/v1/pools/small", json={"slots": 2}).status_code == 200
    assert (
        admin.post("/api/v1/users", json={"username": "dora", "role": "viewer"}).status_code == 201
    )
    assert admin.patch("/api/v1/users/dora", json={"role": "op"}).status_code == 200
    assert admin.delete("/api/v1/users/dora").status_code == 204
    # Refused actions leave no row: a viewer's trigger (403) and a bad pool (422).
    assert quiet.client("viewer").post("/api/v1/dags/pipeline/runs", json={}).status_code == 403
    assert admin.put("/api/v1/pools/bad", json={"slots": -1}).status_code == 422

    entries = _entries(quiet)
    actions = [e["action"] for e in reversed(entries) if e["action"] != "login"]
    assert actions == [
        "run.trigger",
        "dag.pause",
        "dag.unpause",
        "connection.set",
        "variable.set",
        "pool.set",
        "user.create",
        "user.role",
        "user.delete",
    ]
    trigger = next(e for e in entries if e["action"] == "run.trigger")
    assert trigger["actor"] == "op" and trigger["via"] == "session"
    assert trigger["dag_id"] == "pipeline" and trigger["target"] == "pipeline/r1"
    assert trigger["details"] == {"run_id": "r1", "conf": {"n": 5}}
    assert trigger["address"]
    text = str(entries)
    assert "hunter2-pw" not in text and "s3cr3t-value" not in text
    conn = next(e for e in entries if e["action"] == "connection.set")
    assert conn["target"] == "db1" and conn["details"]["password"] == "***"  # type: ignore[index]
    assert next(e for e in entries if e["action"] == "user.role")["details"] == {"role": "op"}


def test_failed_logins_tokens_filters_paging_and_roles(quiet: World) -> None:
    client = quiet.client()
    form = client.get("/login")
    from api_helpers import csrf_from

    bad = client.post(
        "/login",
        data={"username": "op", "password": "wrong-password", "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    assert bad.status_code == 401
    token = quiet.client("op").post("/api/v1/tokens", json={"name": "script"}).json()
    scripted = quiet.token_client(token["token"])
    for n in range(3):
        assert (
            scripted.post("/api/v1/dags/pipeline/runs", json={"run_id": f"t{n}"}).status_code == 201
        )

    failed = _entries(quiet, action="login.failed")
    assert [(e["actor"], e["via"]) for e in failed] == [("op", "login")]
    by_token = _entries(quiet, action="run.trigger")
    assert {e["via"] for e in by_token} == {f"token:{token['id']}"}
    assert _entries(quiet, action="run.", actor="op", dag_id="pipeline") == by_token
    assert _entries(quiet, actor="nobody") == []
    page = (
        quiet.client("admin")
        .get("/api/v1/audit", params={"action": "run.trigger", "limit": 2, "offset": 2})
        .json()
    )
    assert page["total"] == 3 and [e["details"]["run_id"] for e in page["entries"]] == ["t0"]
    naive = quiet.client("admin").get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and "time zone" in naive.text
    assert quiet.client("viewer").get("/api/v1/audit").status_code == 403
    assert quiet.client("op").get("/api/v1/audit").status_code == 200


def test_record_redacts_and_lists(store: object) -> None:
    from conveyor.store.engine import Store

    assert isinstance(store, Store)
    with store.write() as conn:
        audit.record(
            conn,
            "alice",
            "note.add",
            "d/r/t",
            {"text": "x" * 600, "password": "p"},
            dag_id="d",
            via="cli",
        )
    with store.read() as conn:
        [entry], total = audit.list_entries(conn, audit.AuditFilter(dag_id="d"))
    assert total == 1 and entry.actor == "alice" and entry.via == "cli"
    assert entry.details is not None and entry.details["password"] == "***"
    assert len(entry.details["text"]) == audit.MAX_DETAIL_TEXT + 1
