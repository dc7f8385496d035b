"""Getting into ``/api/v2`` as Airflow's callers do: a JWT from ``POST /auth/token``,
Conveyor's own API tokens, basic auth where allowed; and a path Airflow does not have is a 404.

Both stores; the DAGs are parsed by the real file processor (api_helpers.make_world).
"""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest
from api_helpers import PASSWORDS, PREFIX, World, close, make_world, module_world
from fastapi.testclient import TestClient

from conveyor.store import schema
from conveyor.store.engine import Store
from conveyor.web import accounts
from conveyor.web.app import create_app

world = module_world("world", lambda tmp, url: make_world(tmp, url, execute=()))


def _token(client: TestClient, username: str, password: str) -> str:
    response = client.post("/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def _bearer(world: World, token: str) -> TestClient:
    return world.token_client(token)


def test_a_token_from_auth_token_opens_the_api_and_expires_when_set(world: World) -> None:
    client = world.client()
    token = _token(client, "viewer", PASSWORDS["viewer"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "viewer"
    assert claims["exp"] - claims["iat"] == world.settings.api_jwt_expiry_seconds
    listed = _bearer(world, token).get("/api/v2/dags")
    assert listed.status_code == 200, listed.text
    assert "pipeline" in [d["dag_id"] for d in listed.json()["dags"]]
    # A form body, and the path airflowctl logs in at, answer the same.
    form = client.post("/auth/token/cli", data={"username": "op", "password": PASSWORDS["op"]})
    assert form.status_code == 201, form.text
    assert (
        jwt.decode(form.json()["access_token"], options={"verify_signature": False})["sub"] == "op"
    )


def test_no_token_a_forged_one_or_a_wrong_password_is_401(world: World) -> None:
    client = world.client()
    assert client.get("/api/v2/dags").status_code == 401
    wrong = client.post("/auth/token", json={"username": "viewer", "password": "nope-nope"})
    assert wrong.status_code == 401
    forged = jwt.encode({"sub": "admin", "exp": 4_000_000_000, "iat": 1}, "x" * 64, "HS512")
    answer = _bearer(world, forged).get("/api/v2/dags")
    assert answer.status_code == 401
    assert "invalid access token" in answer.json()["detail"]


def test_a_malformed_token_request_names_the_field(world: World) -> None:
    client = world.client()
    missing = client.post("/auth/token", json={"username": "viewer"})
    assert missing.status_code == 422
    assert "password" in missing.json()["detail"]
    not_json = client.post(
        "/auth/token", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400


def test_roles_apply_to_token_holders(world: World) -> None:
    viewer = _bearer(world, _token(world.client(), "viewer", PASSWORDS["viewer"]))
    refused = viewer.patch("/api/v2/dags/pipeline", json={"is_paused": True})
    assert refused.status_code == 403
    assert "op" in refused.json()["detail"]
    op = _bearer(world, _token(world.client(), "op", PASSWORDS["op"]))
    done = op.patch("/api/v2/dags/pipeline", json={"is_paused": True})
    assert done.status_code == 200, done.text
    assert done.json()["is_paused"] is True
    op.patch("/api/v2/dags/pipeline", json={"is_paused": False})


def test_conveyor_api_tokens_work_as_bearer_tokens(world: World) -> None:
    token = accounts.create_token(world.store, "viewer", "ci")
    answer = world.token_client(token).get("/api/v2/dags/pipeline")
    assert answer.status_code == 200, answer.text
    assert answer.json()["dag_id"] == "pipeline"


def test_a_new_password_ends_the_tokens_issued_before(world: World) -> None:
    accounts.create_user(world.store, "mover", "viewer", "first-password-1")
    token = _token(world.client(), "mover", "first-password-1")
    assert _bearer(world, token).get("/api/v2/dags").status_code == 200
    accounts.set_password(world.store, "mover", "second-password-2")
    answer = _bearer(world, token).get("/api/v2/dags")
    assert answer.status_code == 401
    assert "no longer valid" in answer.json()["detail"]


def test_basic_auth_is_refused_unless_the_setting_allows_it(world: World) -> None:
    credentials = base64.b64encode(f"viewer:{PASSWORDS['viewer']}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    refused = world.client().get("/api/v2/dags", headers=headers)
    assert refused.status_code == 401
    assert "api_basic_auth" in refused.json()["detail"]
    settings = world.settings.model_copy(update={"api_basic_auth": True})
    app = create_app(settings, Store(world.store.url))
    with TestClient(app, base_url=f"http://testserver{PREFIX}") as client:
        allowed = client.get("/api/v2/dags", headers=headers)
        assert allowed.status_code == 200, allowed.text
        wrong = base64.b64encode(b"viewer:wrong-password").decode()
        assert (
            client.get("/api/v2/dags", headers={"Authorization": f"Basic {wrong}"}).status_code
            == 401
        )
    app.state.store.dispose()


def test_changes_through_v2_are_in_the_audit_log(world: World) -> None:
    op = _bearer(world, _token(world.client(), "op", PASSWORDS["op"]))
    made = op.post("/api/v2/dags/pipeline/dagRuns", json={"logical_date": None, "conf": {"n": 1}})
    assert made.status_code == 200, made.text
    run_id = made.json()["dag_run_id"]
    paused = op.patch("/api/v2/dags/pipeline", json={"is_paused": True})
    assert paused.status_code == 200
    op.patch("/api/v2/dags/pipeline", json={"is_paused": False})
    entries = world.client("admin").get("/api/v1/audit", params={"actor": "op"}).json()
    found = {(e["action"], e["target"], e["via"]) for e in entries["entries"]}
    assert ("run.trigger", f"pipeline/{run_id}", "api") in found
    assert ("dag.pause", "pipeline", "api") in found


def test_the_last_routes_once_501_ask_who_calls_and_other_paths_are_404(world: World) -> None:
    # Served now (test_airflow_v2_spec.py checks every route of the spec): they ask who calls.
    client = world.client()
    assert client.post("/api/v2/assets/1/materialize").status_code == 401
    assert client.delete("/api/v2/dags/d/dagRuns/r/taskInstances/t").status_code == 401
    assert client.get("/api/v2/no-such-thing").status_code == 404


def test_the_same_app_without_a_path_prefix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'conveyor.db'}"
    migrated = Store(url)
    schema.migrate(migrated)
    migrated.dispose()  # its pooled connection closed, not left to the collector
    built = make_world(tmp_path, url, base_url="", execute=())
    try:
        client = TestClient(built.app)
        token = _token(client, "admin", PASSWORDS["admin"])
        answer = client.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["total_entries"] >= 2
    finally:
        close(built)


@pytest.mark.parametrize("limit", [0, 1])
def test_paging_and_ordering(world: World, limit: int) -> None:
    client = world.client("viewer")
    every = client.get("/api/v2/dags", params={"order_by": "-dag_id"}).json()
    ids = [d["dag_id"] for d in every["dags"]]
    assert ids == sorted(ids, reverse=True) and every["total_entries"] == len(ids)
    page = client.get("/api/v2/dags", params={"limit": limit, "offset": 1}).json()
    assert [d["dag_id"] for d in page["dags"]] == sorted(ids)[1 : 1 + limit]
    bad = client.get("/api/v2/dags", params={"order_by": "colour"})
    assert bad.status_code == 400 and "colour" in bad.json()["detail"]
    malformed = client.get("/api/v2/dags", params={"limit": "many"})
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["query", "limit"]
