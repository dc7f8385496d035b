"""Tokens made with tokens (5), answers that carry a secret (no-store), redirects that name
the client's Host, and session keys of blanks: attacks performed against a real app."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

import pytest
from api_helpers import World, csrf_from, fresh_fixture  # noqa: F401  (a fixture)
from fastapi.testclient import TestClient

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.web import accounts
from conveyor.web.security import secret_key

# 5: a token cannot outlive the token that made it, nor survive it -----------------------


def test_a_token_cannot_mint_a_longer_lived_token_nor_leave_one_behind(fresh: World) -> None:
    viewer = fresh.client("viewer")
    made = viewer.post("/api/v1/tokens", json={"name": "leaked", "expires_in_days": 30}).json()
    leaked = fresh.token_client(made["token"])

    forever = leaked.post("/api/v1/tokens", json={"name": "backdoor", "expires_in_days": 3650})
    child = leaked.post("/api/v1/tokens", json={"name": "child", "expires_in_days": 10})
    default = leaked.post("/api/v1/tokens", json={"name": "default"})

    assert forever.status_code == 422, forever.text
    assert "outlives" in forever.json()["detail"]
    assert child.status_code == 201 and default.status_code == 201, (child.text, default.text)
    assert child.json()["parent_id"] == made["id"] == default.json()["parent_id"]
    # Without a lifetime, a token's child gets the default (90 days) cut to the parent's end.
    ends = datetime.fromisoformat(default.json()["expires_at"])
    assert ends == datetime.fromisoformat(made["expires_at"])
    grandchild = fresh.token_client(child.json()["token"]).post(
        "/api/v1/tokens", json={"name": "grandchild", "expires_in_days": 5}
    )
    assert grandchild.status_code == 201, grandchild.text
    descendants = [child.json(), default.json(), grandchild.json()]
    for token in descendants:
        assert fresh.token_client(token["token"]).get("/api/v1/me").status_code == 200

    # The leaked token revokes itself: what it made goes with it.
    assert leaked.delete(f"/api/v1/tokens/{made['id']}").status_code == 204

    for token in descendants:
        assert fresh.token_client(token["token"]).get("/api/v1/me").status_code == 401
    assert viewer.get("/api/v1/tokens").json()["tokens"] == []


def test_tokens_made_in_a_session_or_the_cli_are_not_tied_to_another(fresh: World) -> None:
    viewer = fresh.client("viewer")
    long = viewer.post("/api/v1/tokens", json={"name": "long", "expires_in_days": 3650})
    by_cli = accounts.create_token(fresh.store, "viewer", "cron")

    assert long.status_code == 201 and long.json()["parent_id"] is None
    assert viewer.delete(f"/api/v1/tokens/{long.json()['id']}").status_code == 204
    assert fresh.token_client(by_cli).get("/api/v1/me").status_code == 200


# Answers that carry a secret shown once are kept in no cache ----------------------------


def test_answers_with_a_new_token_or_password_are_not_stored(fresh: World) -> None:
    admin = fresh.client("admin")
    page = admin.get("/tokens")

    on_page = admin.post(
        "/tokens", data={"name": "ui", "expires_in_days": "7", "csrf_token": csrf_from(page.text)}
    )
    by_api = admin.post("/api/v1/tokens", json={"name": "api"})
    user = admin.post("/api/v1/users", json={"username": "newcomer", "role": "viewer"})

    for answer in (on_page, by_api, user):
        assert answer.status_code == 201, answer.text
        assert answer.headers["cache-control"] == "no-store"


# Redirects never name the Host the client sent -------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/dags/", "/conveyor/api/v1/dags/", "/tokens/"])
def test_trailing_slash_redirects_do_not_reflect_the_host_header(fresh: World, path: str) -> None:
    client = TestClient(fresh.app)
    fresh.clients.append(client)

    answer = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)

    assert answer.status_code in (307, 308), answer.text
    location = answer.headers["location"]
    assert "evil.example" not in location and location.startswith("/")
    assert not location.startswith("//")


# Session keys of blanks or one character ---------------------------------------------------


@pytest.mark.parametrize("key", [" " * 40, "\t \n" * 20, "a" * 64, "ab" * 32])
def test_session_keys_of_blanks_or_few_characters_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match="the setting secret_key"):
        secret_key(Settings(home=tmp_path, secret_key=key).resolved())
    (tmp_path / "secret_key").write_text(key)
    with pytest.raises(ConfigError, match="session key file"):
        secret_key(Settings(home=tmp_path).resolved())


def test_a_random_session_key_is_taken(tmp_path: Path) -> None:
    key = secrets.token_hex(32)
    assert secret_key(Settings(home=tmp_path, secret_key=key).resolved()) == key
