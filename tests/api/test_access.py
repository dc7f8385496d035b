"""Who may do what: login, roles, CSRF, API tokens, sessions, the path prefix."""

from __future__ import annotations

import re

import pytest
from api_helpers import (
    PASSWORDS,
    PREFIX,
    World,
    csrf_from,
    login,
    world_fixture,  # noqa: F401  (fixtures)
)

from conveyor.web import accounts

READS = [
    "/api/v1/me",
    "/api/v1/dags",
    "/api/v1/import-errors",
    "/api/v1/dags/pipeline",
    "/api/v1/dags/pipeline/source",
    "/api/v1/dags/pipeline/grid",
    "/api/v1/dags/pipeline/runs",
    "/api/v1/runs",
    "/api/v1/workers",
    "/api/v1/schedulers",
    "/api/v1/dags/pipeline/landing-times",
    "/api/v1/dags/pipeline/calendar",
    "/api/v1/assets",
    "/api/v1/dag-dependencies",
    "/api/v1/triggerers",
]


def _writes(world: World) -> list[tuple[str, str, dict[str, object]]]:
    whole = f"/api/v1/dags/failing/runs/{world.run_ids['failing']}"
    run = f"{whole}/tasks/explode"
    return [
        ("PATCH", "/api/v1/dags/pipeline", {"is_paused": True}),
        ("POST", "/api/v1/dags/pipeline/runs", {"conf": {}}),
        ("POST", f"{run}/clear", {}),
        ("POST", f"{run}/mark", {"state": "success"}),
        ("POST", f"{whole}/clear", {}),
        ("POST", f"{whole}/mark", {"state": "failed"}),
        ("POST", "/api/v1/users", {"username": "someone", "role": "viewer"}),
    ]


@pytest.mark.parametrize("path", READS)
def test_anonymous_gets_401_with_a_reason(world: World, path: str) -> None:
    response = world.client(None).get(path)
    assert response.status_code == 401
    assert "login required" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", READS)
def test_viewer_reads_everything(world: World, path: str) -> None:
    assert world.client("viewer").get(path).status_code == 200


def test_viewer_is_refused_every_write_with_403(world: World) -> None:
    client = world.client("viewer")
    for method, path, body in _writes(world):
        response = client.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert "'viewer'" in response.json()["detail"]
    # Nothing changed.
    assert world.client("admin").get("/api/v1/dags/pipeline").json()["is_paused"] is False


def test_anonymous_is_refused_every_write_with_401(world: World) -> None:
    client = world.client(None)
    for method, path, body in _writes(world):
        assert client.request(method, path, json=body).status_code == 401, (method, path)


def test_op_may_not_manage_users(world: World) -> None:
    client = world.client("op")
    assert client.get("/api/v1/users").status_code == 403
    response = client.post("/api/v1/users", json={"username": "x1", "role": "admin"})
    assert response.status_code == 403
    assert "needs 'admin'" in response.json()["detail"]


def test_wrong_password_is_refused_without_saying_which_part(world: World) -> None:
    client = world.client(None)
    for username, password in (("admin", "wrong-password"), ("nobody", "whatever-pass")):
        form = client.get("/login")
        response = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_from(form.text)},
        )
        assert response.status_code == 401
        assert "Wrong username or password" in response.text
    assert client.get("/api/v1/me").status_code == 401


def test_login_form_without_csrf_token_is_refused(world: World) -> None:
    client = world.client(None)
    client.get("/login")
    response = client.post(
        "/login", data={"username": "admin", "password": PASSWORDS["admin"], "csrf_token": "x"}
    )
    assert response.status_code == 403
    assert client.get("/api/v1/me").status_code == 401


def test_session_write_without_csrf_header_is_refused(world: World) -> None:
    client = world.client("admin")
    del client.headers["X-CSRF-Token"]
    response = client.patch("/api/v1/dags/pipeline", json={"is_paused": True})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    client.headers["X-CSRF-Token"] = "forged"
    assert client.patch("/api/v1/dags/pipeline", json={"is_paused": True}).status_code == 403
    assert client.get("/api/v1/dags/pipeline").json()["is_paused"] is False


def test_session_cookie_is_httponly_samesite_and_scoped_to_the_prefix(world: World) -> None:
    client = world.client(None)
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "viewer",
            "password": PASSWORDS["viewer"],
            "csrf_token": csrf_from(form.text),
        },
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert f"path={PREFIX}" in cookie
    assert "admin-secret" not in cookie and "viewer" not in cookie  # signed, not readable


def test_login_redirects_to_next_inside_the_prefix_and_never_elsewhere(world: World) -> None:
    client = world.client(None)
    form = client.get("/login", params={"next": "/dags/pipeline"})
    assert 'name="next" value="/dags/pipeline"' in form.text
    data = {"username": "op", "password": PASSWORDS["op"], "csrf_token": csrf_from(form.text)}
    done = client.post("/login", data={**data, "next": "/dags/pipeline"}, follow_redirects=False)
    assert done.headers["location"] == f"{PREFIX}/dags/pipeline"
    other = world.client(None)
    form = other.get("/login")
    data["csrf_token"] = csrf_from(form.text)
    evil = other.post("/login", data={**data, "next": "//evil.example"}, follow_redirects=False)
    assert evil.headers["location"] == f"{PREFIX}/"


def test_logout_ends_the_session_and_needs_the_csrf_token(world: World) -> None:
    client = world.client("viewer")
    token = client.headers["X-CSRF-Token"]
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.get("/api/v1/me").status_code == 200
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == f"{PREFIX}/login"
    assert client.get("/api/v1/me").status_code == 401


def test_login_page_links_and_assets_carry_the_prefix(world: World) -> None:
    html = world.client(None).get("/login").text
    assert f'action="{PREFIX}/login"' in html
    urls = re.findall(r'(?:href|src|action)="([^"]+)"', html)
    assert urls, "the page has links"
    assert all(u.startswith(PREFIX + "/") for u in urls), urls


def test_pages_redirect_to_login_with_next_under_the_prefix(world: World) -> None:
    response = world.client(None).get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"{PREFIX}/login?next=/"


def test_openapi_servers_carry_the_prefix(world: World) -> None:
    doc = world.client(None).get("/api/v1/openapi.json").json()
    assert doc["servers"] == [{"url": PREFIX}]
    assert "/api/v1/dags/{dag_id}/runs" in doc["paths"]
    assert all(path.startswith("/api/v1/") for path in doc["paths"])


def test_app_answers_a_proxy_that_strips_the_prefix(world: World) -> None:
    token = accounts.create_token(world.store, "viewer", "behind a stripping proxy")
    client = world.client(None, prefix="")
    response = client.get("/api/v1/dags", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    # Links still carry the prefix the browser sees.
    assert f'action="{PREFIX}/login"' in client.get("/login").text


def test_api_token_authenticates_scripts_without_csrf(world: World) -> None:
    token = accounts.create_token(world.store, "op", "nightly script")
    client = world.token_client(token)
    me = client.get("/api/v1/me").json()
    assert me == {
        "username": "op",
        "role": "op",
        "roles": [],
        "via_token": True,
        "csrf_token": None,
    }
    # A write with a token needs no CSRF token: a browser never sends this header itself.
    paused = client.patch("/api/v1/dags/failing", json={"is_paused": True})
    assert paused.status_code == 200 and paused.json()["is_paused"] is True
    assert client.patch("/api/v1/dags/failing", json={"is_paused": False}).status_code == 200


def test_token_keeps_its_users_role(world: World) -> None:
    token = accounts.create_token(world.store, "viewer", "dashboard")
    client = world.token_client(token)
    assert client.get("/api/v1/dags").status_code == 200
    assert client.patch("/api/v1/dags/pipeline", json={"is_paused": True}).status_code == 403


def test_unknown_token_is_refused(world: World) -> None:
    client = world.token_client("cvy_not-a-real-token")
    assert client.get("/api/v1/dags").status_code == 401


def test_user_creates_own_token_through_the_api(world: World) -> None:
    created = world.client("viewer").post("/api/v1/tokens", json={"name": "my laptop"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert world.token_client(token).get("/api/v1/me").json()["username"] == "viewer"


def test_tokens_are_stored_hashed(world: World) -> None:
    from sqlalchemy import select

    from conveyor.store.tables import api_token, web_user

    token = accounts.create_token(world.store, "admin", "hash check")
    with world.store.read() as conn:
        hashes = list(conn.execute(select(api_token.c.token_hash)).scalars())
        passwords = list(conn.execute(select(web_user.c.password_hash)).scalars())
    assert token not in hashes and all(len(h) == 64 for h in hashes)
    assert all(p.startswith("$argon2id$") for p in passwords)
    assert not any(secret in p for p in passwords for secret in PASSWORDS.values())


def test_admin_manages_users_and_a_deleted_user_loses_access(world: World) -> None:
    admin = world.client("admin")
    created = admin.post("/api/v1/users", json={"username": "temp.user", "role": "op"})
    assert created.status_code == 201
    password = created.json()["password"]
    assert len(password) >= 12
    other = world.client(None)
    login(other, "temp.user", password)
    assert other.get("/api/v1/me").json()["role"] == "op"
    names = [u["username"] for u in admin.get("/api/v1/users").json()["users"]]
    assert "temp.user" in names
    again = admin.post("/api/v1/users", json={"username": "temp.user", "role": "op"})
    assert again.status_code == 409 and "exists" in again.json()["detail"]
    assert admin.delete("/api/v1/users/temp.user").status_code == 204
    assert other.get("/api/v1/me").status_code == 401  # the session dies with the user
    assert admin.delete("/api/v1/users/temp.user").status_code == 404


def test_last_admin_cannot_be_deleted(world: World) -> None:
    response = world.client("admin").delete("/api/v1/users/admin")
    assert response.status_code == 409
    assert "last admin" in response.json()["detail"]


def test_a_new_password_ends_existing_sessions(world: World) -> None:
    accounts.create_user(world.store, "rotating", "viewer", "first-password")
    client = world.client(None)
    login(client, "rotating", "first-password")
    assert client.get("/api/v1/me").status_code == 200
    accounts.set_password(world.store, "rotating", "second-password")
    assert client.get("/api/v1/me").status_code == 401
    login(client, "rotating", "second-password")
    assert client.get("/api/v1/me").status_code == 200
