"""``POST /api/v2/dags/{dag_id}/favorite`` and ``/unfavorite``, and ``GET /api/v2/dags``'s
``is_favorite`` filter: each user's own favourites, kept in the store (SQLite and
PostgreSQL), gone with the user; a DAG the user may not read is not theirs to mark."""

from __future__ import annotations

from typing import Any

from api_helpers import PASSWORDS, World, make_world, module_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor.store.tables import audit_log
from conveyor.web import accounts

world = module_world("world", lambda tmp, url: make_world(tmp, url, execute=()))


def _as(world: World, role: str, password: str | None = None) -> TestClient:
    token = world.client().post(
        "/auth/token", json={"username": role, "password": password or PASSWORDS[role]}
    )
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _favourites(client: TestClient, favourite: bool = True) -> list[str]:
    listed = _ok(client.get("/api/v2/dags", params={"is_favorite": favourite}))
    assert listed["total_entries"] == len(listed["dags"])
    return [d["dag_id"] for d in listed["dags"]]


def test_each_user_marks_and_lists_their_own_favourites(world: World) -> None:
    viewer, op = _as(world, "viewer"), _as(world, "op")
    assert _favourites(viewer) == []
    _ok(viewer.post("/api/v2/dags/pipeline/favorite"), 204)
    _ok(viewer.post("/api/v2/dags/pipeline/favorite"), 204)  # again: still one mark
    assert _favourites(viewer) == ["pipeline"]
    assert "pipeline" not in _favourites(viewer, favourite=False)
    assert "failing" in _favourites(viewer, favourite=False)
    assert _favourites(op) == []  # the viewer's marks are theirs alone
    refused = op.post("/api/v2/dags/pipeline/unfavorite")
    assert refused.status_code == 409 and "not one of your favourites" in refused.json()["detail"]
    _ok(viewer.post("/api/v2/dags/pipeline/unfavorite"), 204)
    assert _favourites(viewer) == []
    assert viewer.post("/api/v2/dags/nope/favorite").status_code == 404
    assert viewer.post("/api/v2/dags/nope/unfavorite").status_code == 404
    assert world.client().post("/api/v2/dags/pipeline/favorite").status_code == 401
    with world.store.read() as conn:
        actions = set(
            conn.execute(select(audit_log.c.action).where(audit_log.c.actor == "viewer")).scalars()
        )
    assert {"dag.favorite", "dag.unfavorite"} <= actions


def test_a_users_favourites_go_with_the_user(world: World) -> None:
    accounts.create_user(world.store, "fan", "viewer", "fan-secret-123")
    fan = _as(world, "fan", "fan-secret-123")
    _ok(fan.post("/api/v2/dags/failing/favorite"), 204)
    assert _favourites(fan) == ["failing"]
    accounts.delete_user(world.store, "fan")
    accounts.create_user(world.store, "fan", "viewer", "fan-secret-456")
    again = _as(world, "fan", "fan-secret-456")
    assert _favourites(again) == []
