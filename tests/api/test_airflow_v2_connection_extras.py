"""``POST /api/v2/connections/defaults`` (Conveyor's default connections, never replacing
one) and ``POST``/``GET /api/v2/connections/enqueue-test`` (a test run in the web server,
its outcome read back by token), with their roles and the api_test_connection setting.
Both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import PASSWORDS, World, close, make_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor.connections.defaults import default_connections
from conveyor.store.engine import Store
from conveyor.store.tables import audit_log
from conveyor.web.app import create_app

TOKEN = "Airflow-Connection-Test-Token"


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=())
    yield built
    close(built)


def _as(world: World, role: str) -> TestClient:
    token = world.client().post("/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _testing_allowed(world: World) -> World:
    settings = world.settings.model_copy(update={"api_test_connection": True})
    return World(world.tmp, settings, world.store, create_app(settings, Store(world.store.url)))


def _actions(world: World) -> list[str]:
    with world.store.read() as conn:
        return list(conn.execute(select(audit_log.c.action)).scalars())


def test_default_connections_are_created_once_and_never_replace_one(world: World) -> None:
    admin, op = _as(world, "admin"), _as(world, "op")
    mine = {"connection_id": "postgres_default", "conn_type": "postgres", "host": "db.internal"}
    _ok(admin.post("/api/v2/connections", json=mine), 201)
    assert op.post("/api/v2/connections/defaults").status_code == 403
    _ok(admin.post("/api/v2/connections/defaults"), 204)
    listed = _ok(admin.get("/api/v2/connections", params={"limit": 100}))
    ids = {c["connection_id"] for c in listed["connections"]}
    assert {c.conn_id for c in default_connections()} <= ids
    assert _ok(admin.get("/api/v2/connections/postgres_default"))["host"] == "db.internal"
    fs = _ok(admin.get("/api/v2/connections/fs_default"))
    assert fs["conn_type"] == "fs" and fs["password"] is None
    _ok(admin.post("/api/v2/connections/defaults"), 204)  # again: nothing changes
    assert _ok(admin.get("/api/v2/connections", params={"limit": 100}))["total_entries"] == len(ids)
    assert "connection.defaults" in _actions(world)


def test_a_test_is_enqueued_run_and_read_back_by_its_token(world: World) -> None:
    refused = _as(world, "admin").post(
        "/api/v2/connections/enqueue-test", json={"connection_id": "x", "conn_type": "sqlite"}
    )
    assert refused.status_code == 403 and "api_test_connection" in refused.json()["detail"]
    allowed = _testing_allowed(world)
    admin, op = _as(allowed, "admin"), _as(allowed, "op")
    good = {
        "connection_id": "probe",
        "conn_type": "sqlite",
        "host": str(world.tmp / "probe.db"),
        "commit_on_success": True,
    }
    queued = _ok(admin.post("/api/v2/connections/enqueue-test", json=good), 202)
    assert queued["connection_id"] == "probe" and queued["state"] == "success"
    polled = _ok(op.get("/api/v2/connections/enqueue-test", headers={TOKEN: queued["token"]}))
    assert polled["state"] == "success" and polled["token"] == queued["token"]
    assert polled["result_message"] and polled["created_at"].endswith("Z")
    assert _ok(admin.get("/api/v2/connections/probe"))["conn_type"] == "sqlite"  # committed

    bad = {
        "connection_id": "unreachable",
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": 9,
        "password": "s3cret-pass-word",
        "commit_on_success": True,
    }
    failed = _ok(admin.post("/api/v2/connections/enqueue-test", json=bad), 202)
    assert failed["state"] == "failed"
    read = _ok(op.get("/api/v2/connections/enqueue-test", headers={TOKEN: failed["token"]}))
    assert read["state"] == "failed" and "s3cret-pass-word" not in (read["result_message"] or "")
    assert admin.get("/api/v2/connections/unreachable").status_code == 404  # not committed

    unknown = op.get("/api/v2/connections/enqueue-test", headers={TOKEN: "nope"})
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    assert op.get("/api/v2/connections/enqueue-test").status_code == 422  # no token
    assert (
        _as(allowed, "viewer")
        .get("/api/v2/connections/enqueue-test", headers={TOKEN: queued["token"]})
        .status_code
        == 403
    )
    assert op.post("/api/v2/connections/enqueue-test", json=good).status_code == 403
    elsewhere = admin.post("/api/v2/connections/enqueue-test", json={**good, "queue": "gpu"})
    assert elsewhere.status_code == 400 and "queue" in elsewhere.json()["detail"]
    assert "connection.test" in _actions(world)
    allowed.app.state.store.dispose()
