"""Attacks on logins, sessions and tokens from issue 14, against a real app and store.

Brute force (6), tokens that never expire and survive a reset (7), a cookie that outlives
logout (10).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from api_helpers import PASSWORDS, PREFIX, World, csrf_from, fresh_fixture  # noqa: F401
from fastapi.testclient import TestClient
from sqlalchemy import update
from test_cli_web import conveyor, env  # noqa: F401  (env is a fixture)

from conveyor.clock import utcnow
from conveyor.store import login_throttle
from conveyor.store.engine import Store
from conveyor.store.tables import api_token
from conveyor.web import accounts, login
from conveyor.web.app import create_app
from conveyor.web.security import verify_password


def _try_login(client: TestClient, username: str, password: str) -> int:
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    if answer.status_code == 429:
        assert int(answer.headers["retry-after"]) >= 1
    return answer.status_code


class StoppedClock:
    """The login throttle's clock, moved only by the test: a window that a loaded machine
    spends on twenty argon2 checks must not run out before the test looks at it."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def throttle_clock(monkeypatch: pytest.MonkeyPatch) -> StoppedClock:
    clock = StoppedClock()
    monkeypatch.setattr(login_throttle, "utcnow", clock)
    return clock


# 6: brute force -------------------------------------------------------------------------


def test_twenty_wrong_passwords_then_the_right_one_waits_for_the_window(
    fresh: World, throttle_clock: StoppedClock
) -> None:
    settings = fresh.settings.model_copy(
        update={"login_backoff_seconds": 2.0, "login_max_failures": 5}
    )
    app = create_app(settings, Store(fresh.store.url))
    client = TestClient(app, base_url=f"http://testserver{PREFIX}")

    codes = [_try_login(client, "op", f"guess-{n}") for n in range(20)]

    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert _try_login(client, "op", PASSWORDS["op"]) == 429  # the right one, too soon
    # The count is in the store: another web process refuses as well, for another user from
    # the same address too.
    other = TestClient(create_app(settings, Store(fresh.store.url)), base_url=client.base_url)
    assert _try_login(other, "op", PASSWORDS["op"]) == 429
    assert _try_login(other, "viewer", PASSWORDS["viewer"]) == 429
    throttle_clock.advance(1.9)
    assert _try_login(client, "op", PASSWORDS["op"]) == 429  # still inside the window
    throttle_clock.advance(0.3)
    assert _try_login(client, "op", PASSWORDS["op"]) == 303
    assert client.get("/api/v1/me").json()["username"] == "op"
    # The success cleared the count: one more failure does not lock again.
    assert _try_login(other, "op", "wrong-again") == 401
    for c in (client, other):
        c.close()
        c.app.state.store.dispose()  # type: ignore[attr-defined]


def test_the_wait_doubles_with_each_failure_after_the_lock(
    fresh: World, throttle_clock: StoppedClock
) -> None:
    settings = fresh.settings.model_copy(
        update={"login_backoff_seconds": 1.0, "login_max_failures": 2}
    )
    app = create_app(settings, Store(fresh.store.url))
    client = TestClient(app, base_url=f"http://testserver{PREFIX}")
    assert [_try_login(client, "viewer", "bad") for _ in range(2)] == [401, 401]
    assert _try_login(client, "viewer", "bad") == 429  # 1 s to wait
    throttle_clock.advance(1.1)
    assert _try_login(client, "viewer", "bad") == 401  # the third failure: a 2 s wait now
    form = client.get("/login")
    waited = client.post(
        "/login",
        data={"username": "viewer", "password": "x", "csrf_token": csrf_from(form.text)},
    )
    assert waited.status_code == 429 and waited.headers["retry-after"] == "2"
    client.close()
    app.state.store.dispose()


# 10: logout ends the session on the server ----------------------------------------------


def test_a_copied_cookie_stops_working_after_logout(fresh: World) -> None:
    browser = fresh.client("viewer")
    thief = fresh.client()
    thief.cookies.update(dict(browser.cookies))
    assert thief.get("/api/v1/me").status_code == 200

    out = browser.post(
        "/logout", data={"csrf_token": browser.headers["X-CSRF-Token"]}, follow_redirects=False
    )

    assert out.status_code == 303
    assert thief.get("/api/v1/me").status_code == 401
    assert browser.get("/api/v1/me").status_code == 401
    assert fresh.client("viewer").get("/api/v1/me").status_code == 200  # a new login works


def test_a_new_password_ends_sessions_and_revokes_tokens(fresh: World) -> None:
    browser = fresh.client("op")
    token = accounts.create_token(fresh.store, "op", "script")
    scripted = fresh.token_client(token)
    assert scripted.get("/api/v1/me").status_code == 200

    accounts.set_password(fresh.store, "op", "brand-new-password")

    assert scripted.get("/api/v1/me").status_code == 401
    assert browser.get("/api/v1/me").status_code == 401
    assert fresh.client().get("/api/v1/tokens").status_code == 401


# 7: tokens expire, are listed and revoked -----------------------------------------------


def test_tokens_expire_list_and_revoke_through_the_api(fresh: World) -> None:
    viewer = fresh.client("viewer")
    made = viewer.post("/api/v1/tokens", json={"name": "laptop", "expires_in_days": 30})
    assert made.status_code == 201, made.text
    created = made.json()
    lifetime = datetime.fromisoformat(created["expires_at"]) - utcnow()
    assert timedelta(days=29, hours=23) < lifetime <= timedelta(days=30)
    default = viewer.post("/api/v1/tokens", json={"name": "default"}).json()
    scripted = fresh.token_client(created["token"])
    assert scripted.get("/api/v1/me").status_code == 200

    listed = viewer.get("/api/v1/tokens").json()["tokens"]
    assert {t["name"] for t in listed} == {"laptop", "default"}
    assert all("token" not in t for t in listed)
    assert fresh.client("op").get("/api/v1/tokens").json()["tokens"] == []
    assert fresh.client("op").delete(f"/api/v1/tokens/{created['id']}").status_code == 404
    assert fresh.client("op").get("/api/v1/tokens?username=viewer").status_code == 403
    assert len(fresh.client("admin").get("/api/v1/tokens?username=viewer").json()["tokens"]) == 2

    assert viewer.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    assert scripted.get("/api/v1/me").status_code == 401
    assert [t["name"] for t in viewer.get("/api/v1/tokens").json()["tokens"]] == ["default"]

    # An expired token is refused (and listed as expired until revoked).
    with fresh.store.write() as conn:
        conn.execute(
            update(api_token)
            .where(api_token.c.id == default["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert fresh.token_client(default["token"]).get("/api/v1/me").status_code == 401
    assert viewer.get("/api/v1/tokens").json()["tokens"][0]["expired"] is True
    zero = viewer.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 0})
    assert zero.status_code == 422


def test_tokens_page_creates_shows_once_and_revokes(fresh: World) -> None:
    admin = fresh.client("admin")
    page = admin.get("/tokens")
    assert page.status_code == 200 and "No tokens yet." in page.text

    created = admin.post(
        "/tokens",
        data={"name": "ui token", "expires_in_days": "7", "csrf_token": csrf_from(page.text)},
    )

    assert created.status_code == 201
    value = created.text.split('id="new-token-value">')[1].split("<")[0]
    assert value.startswith("cvy_")
    assert fresh.token_client(value).get("/api/v1/me").json()["username"] == "admin"
    again = admin.get("/tokens")
    assert "ui token" in again.text and value not in again.text
    token_id = again.text.split('data-token-id="')[1].split('"')[0]
    forged = admin.post(f"/tokens/{token_id}/revoke", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    revoked = admin.post(
        f"/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_from(again.text)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert fresh.token_client(value).get("/api/v1/me").status_code == 401


def test_cli_creates_lists_and_revokes_tokens(env: dict[str, str]) -> None:  # noqa: F811
    assert conveyor(env, "users", "create", "ann", "--role", "op").returncode == 0

    made = conveyor(env, "users", "token", "ann", "--name", "cron", "--expires-in", "30d")
    bad = conveyor(env, "users", "token", "ann", "--expires-in", "soon")

    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("cvy_") and "expires" in made.stderr
    assert bad.returncode != 0 and "--expires-in" in bad.stderr + bad.stdout
    listed = conveyor(env, "users", "tokens", "ann")
    assert "cron" in listed.stdout and made.stdout.strip() not in listed.stdout
    token_id = made.stderr.split("token ")[1].split(" ")[0]
    revoked = conveyor(env, "users", "revoke-token", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert "has no API tokens" in conveyor(env, "users", "tokens", "ann").stdout
    assert conveyor(env, "users", "revoke-token", token_id).returncode != 0


def test_password_checks_run_at_most_login_concurrent_checks_at_once(
    fresh: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh.settings.model_copy(
        update={
            "login_concurrent_checks": 1,
            "login_max_failures": 100,
            "max_expensive_requests_per_address": 10,  # the test client has one address
        }
    )
    app = create_app(settings, Store(fresh.store.url))
    running = 0
    most = 0
    lock = threading.Lock()

    def counted_verify(password_hash: str, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)  # long enough for the other logins to arrive meanwhile
            return verify_password(password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(login, "verify_password", counted_verify)
    clients = [TestClient(app, base_url=f"http://testserver{PREFIX}") for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda c: _try_login(c, "viewer", "wrong-password"), clients))

    assert codes == [401] * 4
    assert most == 1
    for client in clients:
        client.close()
    app.state.store.dispose()
