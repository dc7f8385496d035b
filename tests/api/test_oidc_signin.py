"""Signing in through a real OpenID Connect provider (``oidc_servers``), on both stores.

The whole code flow with the app's own pages and the provider's sign-in form (state, nonce
and PKCE), the user record and role from the groups claim, sign-out through the provider;
and the ID token checks at the function that makes them, with tokens the provider signed:
one for another client (audience), one tampered with, one with another nonce.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.store import audit
from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.web import accounts, audit_sampling, oidc_provider
from conveyor.web.app import create_app
from oidc_servers import OIDCProvider, running_provider

WEB_URL = "http://testserver"
MAPPING = {"ops": ["op"], "readers": ["Viewer"]}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OIDCProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as running:
        yield running


def oidc_settings(tmp_path: Path, store_url: str, provider: OIDCProvider, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "auth_type": "oidc",
        "auth_oidc_issuer": provider.issuer,
        "auth_oidc_client_id": "conveyor",
        "auth_oidc_client_secret": "conveyor-client-secret",
        "auth_roles_mapping": json.dumps(MAPPING),
        "web_url": WEB_URL,
        **extra,
    }
    (tmp_path / "dags").mkdir(exist_ok=True)
    return make_settings(tmp_path, tmp_path / "dags", store_url, **values)


class Site:
    def __init__(self, settings: Settings, store_url: str) -> None:
        self.settings = settings
        self.store = Store(store_url)
        self.app = create_app(settings, Store(store_url))
        self.clients: list[TestClient] = []

    def client(self) -> TestClient:
        client = TestClient(self.app, base_url=WEB_URL)
        self.clients.append(client)
        return client

    def user(self, username: str) -> user_rows.UserRow | None:
        with self.store.read() as conn:
            return user_rows.get_user(conn, username)

    def audit(self) -> list[audit.AuditEntry]:
        with self.store.read() as conn:
            return audit.list_entries(conn, audit.AuditFilter(), limit=500)[0]

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.app.state.store.dispose()
        self.store.dispose()


@pytest.fixture
def site(tmp_path: Path, store_url: str, provider: OIDCProvider) -> Iterator[Site]:
    built = Site(oidc_settings(tmp_path, store_url, provider), store_url)
    yield built
    built.close()


def provider_sign_in(url: str, sub: str) -> str:
    """The provider's sign-in form, filled in as ``sub``: where it sends the browser."""
    with httpx.Client(timeout=30) as browser:
        form = browser.get(url)
        assert form.status_code == 200, form.text
        answer = browser.post(url, data={"sub": sub})
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


def sign_in(site: Site, sub: str, client: TestClient | None = None) -> Any:
    """The code flow through the app's pages and the provider's form; the callback's answer."""
    client = client or site.client()
    start = client.get("/login/oidc?next=/dags", follow_redirects=False)
    assert start.status_code == 303, start.text
    back = provider_sign_in(start.headers["location"], sub)
    assert back.startswith(f"{WEB_URL}/login/oidc/callback?")
    return client.get(back.removeprefix(WEB_URL), follow_redirects=False)


def test_the_login_page_offers_the_provider(site: Site) -> None:
    page = site.client().get("/login?next=/dags")
    assert 'href="/login/oidc?next=/dags"' in page.text
    assert 'name="password"' in page.text  # break-glass local users (auth_allow_local_users)


def test_the_flow_asks_for_state_nonce_and_pkce(site: Site) -> None:
    start = site.client().get("/login/oidc", follow_redirects=False)
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert start.headers["location"].startswith(f"{site.settings.auth_oidc_issuer}/")
    assert query["client_id"] == ["conveyor"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{WEB_URL}/login/oidc/callback"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32


def test_signing_in_makes_the_user_with_their_groups_role(site: Site) -> None:
    client = site.client()
    answer = sign_in(site, "erin", client)

    assert answer.status_code == 303 and answer.headers["location"] == "/dags", answer.text
    me = client.get("/api/v1/me").json()
    assert (me["username"], me["role"]) == ("erin", "op")
    row = site.user("erin")
    assert row is not None and row.directory == "oidc"
    login = next(e for e in site.audit() if e.action == "login")
    assert (login.actor, login.via, login.address) == ("erin", "oidc", "testclient")
    assert login.details is not None and login.details["groups"] == ["ops"]


def test_a_user_whom_no_group_gives_a_role_is_refused(site: Site) -> None:
    answer = sign_in(site, "gina")
    assert answer.status_code == 403 and "no role in Conveyor" in answer.text
    assert site.user("gina") is None
    assert any(e.action == "login.refused" and e.actor == "gina" for e in site.audit())


def test_the_role_follows_the_groups_claim(site: Site, provider: OIDCProvider) -> None:
    assert sign_in(site, "frank").status_code == 303
    assert site.user("frank").role == "viewer"  # type: ignore[union-attr]
    provider.set_user("frank", {"preferred_username": "frank", "groups": ["ops"]})
    try:
        assert sign_in(site, "frank").status_code == 303
        assert site.user("frank").role == "op"  # type: ignore[union-attr]
    finally:
        provider.set_user("frank", {"preferred_username": "frank", "groups": ["readers"]})
    changes = [e for e in site.audit() if e.action == "user.role"]
    assert changes and changes[0].details is not None
    assert (changes[0].details["previous"], changes[0].details["roles"]) == (["viewer"], ["op"])


def test_losing_every_role_revokes_the_tokens(site: Site, provider: OIDCProvider) -> None:
    assert sign_in(site, "frank").status_code == 303
    token = accounts.create_token(site.store, "frank", "script")
    provider.set_user("frank", {"preferred_username": "frank", "groups": []})
    try:
        assert sign_in(site, "frank").status_code == 403
    finally:
        provider.set_user("frank", {"preferred_username": "frank", "groups": ["readers"]})
    api = TestClient(site.app, headers={"Authorization": f"Bearer {token}"})
    site.clients.append(api)
    assert api.get("/api/v1/me").status_code == 401


def test_a_callback_from_another_browser_is_refused(site: Site) -> None:
    started = site.client().get("/login/oidc", follow_redirects=False)
    back = provider_sign_in(started.headers["location"], "erin")
    stranger = site.client()  # another browser: no state of this flow in its session
    answer = stranger.get(back.removeprefix(WEB_URL), follow_redirects=False)
    assert answer.status_code == 400 and site.user("erin") is None
    assert stranger.get("/api/v1/me").status_code == 401


def test_a_callback_is_good_once(site: Site) -> None:
    client = site.client()
    started = client.get("/login/oidc", follow_redirects=False)
    back = provider_sign_in(started.headers["location"], "erin").removeprefix(WEB_URL)
    assert client.get(back, follow_redirects=False).status_code == 303
    assert client.get(back, follow_redirects=False).status_code == 400


def test_a_local_name_is_not_taken_over(site: Site) -> None:
    accounts.create_user(site.store, "admin", "admin", "local-password-1")
    answer = sign_in(site, "admin")  # the provider's "admin" is someone else
    assert answer.status_code == 403
    assert site.user("admin").directory is None  # type: ignore[union-attr]


def test_sign_out_goes_through_the_provider(site: Site) -> None:
    client = site.client()
    assert sign_in(site, "erin", client).status_code == 303
    csrf = client.get("/api/v1/me").json()["csrf_token"]
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    target = urlsplit(out.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == site.settings.auth_oidc_issuer
    assert parse_qs(target.query)["post_logout_redirect_uri"] == [f"{WEB_URL}/login"]
    assert client.get("/api/v1/me").status_code == 401


# The ID token checks, with tokens the provider signed --------------------------------------


def provider_id_token(settings: Settings, sub: str, client_id: str, nonce: str) -> str:
    """An ID token the provider issues for ``client_id`` through the code flow."""
    own = settings.model_copy(update={"auth_oidc_client_id": client_id})
    verifier = secrets.token_urlsafe(48)
    url = oidc_provider.authorization_url(own, "http://testserver/cb", "s" * 32, nonce, verifier)
    back = provider_sign_in(url, sub)
    code = parse_qs(urlsplit(back).query)["code"][0]
    return oidc_provider.exchange_code(own, code, "http://testserver/cb", verifier)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


@pytest.fixture
def verify(site: Site) -> Any:
    found = oidc_provider.provider(site.settings)

    def check(token: str, nonce: str) -> dict[str, Any]:
        return oidc_provider.verify_id_token(
            token, found.jwks, issuer=found.issuer, client_id="conveyor", nonce=nonce
        )

    return check


def test_a_token_the_provider_signed_for_us_is_accepted(site: Site, verify: Any) -> None:
    token = provider_id_token(site.settings, "erin", "conveyor", "nonce-1")
    assert verify(token, "nonce-1")["groups"] == ["ops"]


def test_a_token_for_another_client_is_refused(site: Site, verify: Any) -> None:
    token = provider_id_token(site.settings, "erin", "another-app", "nonce-2")
    assert _claims(token)["aud"] in ("another-app", ["another-app"])  # the provider signed it
    with pytest.raises(oidc_provider.InvalidIdTokenError, match="aud"):
        verify(token, "nonce-2")


def test_a_tampered_token_is_refused(site: Site, verify: Any) -> None:
    token = provider_id_token(site.settings, "frank", "conveyor", "nonce-3")
    header, payload, signature = token.split(".")
    claims = {**_claims(token), "groups": ["ops"], "preferred_username": "admin"}
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(oidc_provider.InvalidIdTokenError):
        verify(forged, "nonce-3")
    unsigned = f"{_b64(json.dumps({'alg': 'none'}).encode())}.{payload}."
    with pytest.raises(oidc_provider.InvalidIdTokenError):
        verify(unsigned, "nonce-3")


def test_a_replayed_token_with_another_nonce_is_refused(site: Site, verify: Any) -> None:
    token = provider_id_token(site.settings, "erin", "conveyor", "nonce-4")
    with pytest.raises(oidc_provider.InvalidIdTokenError, match="nonce"):
        verify(token, "nonce-of-another-sign-in")


def test_an_unsigned_token_is_refused_though_discovery_lists_none(site: Site) -> None:
    """The review's attack: the provider's discovery document listed ``none``, and an ID
    token with ``alg: none`` and no signature was accepted."""
    token = provider_id_token(site.settings, "frank", "conveyor", "nonce-5")
    claims = {**_claims(token), "preferred_username": "admin", "groups": ["ops"]}
    unsigned = f"{_b64(json.dumps({'alg': 'none'}).encode())}.{_b64(json.dumps(claims).encode())}."
    found = oidc_provider.provider(site.settings)
    listed = found.algorithms
    found.algorithms = [*(listed or ["RS256"]), "none"]  # as the discovery document said
    try:
        with pytest.raises(oidc_provider.InvalidIdTokenError):
            oidc_provider.verified_claims(site.settings, unsigned, "nonce-5")
        # The token the provider signed is still good: the default takes its algorithm.
        assert oidc_provider.verified_claims(site.settings, token, "nonce-5")["sub"] == "frank"
    finally:
        found.algorithms = listed


def test_the_accepted_algorithms_are_a_setting(tmp_path: Path, provider: OIDCProvider) -> None:
    settings = oidc_settings(tmp_path, "sqlite://", provider)
    assert "none" not in settings.auth_oidc_id_token_algorithms
    assert "HS256" not in settings.auth_oidc_id_token_algorithms  # asymmetric only
    with pytest.raises(ConfigError, match="none"):
        oidc_settings(tmp_path, "sqlite://", provider, auth_oidc_id_token_algorithms=["none"])
    only_es = oidc_settings(tmp_path, "sqlite://", provider, auth_oidc_id_token_algorithms="ES256")
    token = provider_id_token(only_es, "erin", "conveyor", "nonce-6")
    with pytest.raises(oidc_provider.InvalidIdTokenError):  # the provider signs with RS256
        oidc_provider.verified_claims(only_es, token, "nonce-6")


# The user is the provider's subject (issue 63) ---------------------------------------------


def test_another_subject_with_the_same_name_is_refused(site: Site, provider: OIDCProvider) -> None:
    """The review's attack: another person at the provider whose preferred_username is
    ``frank`` signed in as the Conveyor user frank, could list and revoke his tokens, and
    their groups replaced his roles."""
    assert sign_in(site, "frank").status_code == 303
    frank = site.user("frank")
    assert frank is not None and frank.subject == f"{provider.issuer} frank"
    token = accounts.create_token(site.store, "frank", "script")
    provider.set_user("mallory", {"preferred_username": "frank", "groups": ["ops"]})

    browser = site.client()
    answer = sign_in(site, "mallory", browser)

    assert answer.status_code == 403 and "another account" in answer.text
    assert browser.get("/api/v1/me").status_code == 401
    assert site.user("frank").role == "viewer"  # type: ignore[union-attr]
    assert [t.name for t in accounts.list_tokens(site.store, "frank")] == ["script"]
    assert token
    refused = [e for e in site.audit() if e.action == "login.refused"]
    assert refused and refused[0].details is not None
    assert refused[0].details["subject"] == f"{provider.issuer} mallory"


def test_a_subject_is_found_whatever_name_it_gives_later(
    site: Site, provider: OIDCProvider
) -> None:
    assert sign_in(site, "erin").status_code == 303
    provider.set_user("erin", {"preferred_username": "erin-renamed", "groups": ["ops"]})
    try:
        browser = site.client()
        assert sign_in(site, "erin", browser).status_code == 303
        assert browser.get("/api/v1/me").json()["username"] == "erin"
        assert site.user("erin-renamed") is None
    finally:
        provider.set_user(
            "erin", {"preferred_username": "erin", "email": "erin@example.com", "groups": ["ops"]}
        )


def test_a_user_from_before_subjects_is_linked_by_an_admin_only(
    site: Site, provider: OIDCProvider
) -> None:
    """With auth_roles_sync_at_login = false the review's viewer became ``frank`` with
    admin; a user made before subjects were kept is not taken by whoever signs in first."""
    with site.store.write() as conn:
        user_rows.create_directory_user(conn, "frank", "admin", "oidc")  # no subject yet
    provider.set_user("mallory", {"preferred_username": "frank", "groups": ["readers"]})
    answer = sign_in(site, "mallory")
    assert answer.status_code == 403 and "conveyor users link frank" in answer.text
    assert site.user("frank").subject is None  # type: ignore[union-attr]

    accounts.link_subject(site.store, "frank", f"{provider.issuer} frank")
    assert sign_in(site, "frank").status_code == 303
    assert sign_in(site, "mallory").status_code == 403


def test_an_email_names_a_user_only_when_verified(site: Site, provider: OIDCProvider) -> None:
    provider.set_user("sam", {"email": "erin@example.com", "groups": ["ops"]})
    browser = site.client()
    assert sign_in(site, "sam", browser).status_code == 303
    assert browser.get("/api/v1/me").json()["username"] == "sam"  # not the unverified email
    verified = {"email": "tess@example.com", "email_verified": True, "groups": ["ops"]}
    provider.set_user("tess", verified)
    browser = site.client()
    assert sign_in(site, "tess", browser).status_code == 303
    assert browser.get("/api/v1/me").json()["username"] == "tess@example.com"


def test_forged_callbacks_are_counted_and_sampled_not_written_each(site: Site) -> None:
    """The review's attack: 1,500 forged callbacks from one client wrote 1,500 audit rows
    (261 a second). Here 205: the first few are written, then one in a hundred, each with
    how many went unwritten before it, so the rows still add up to every refusal."""
    client = site.client()
    for n in range(205):
        answer = client.get(f"/login/oidc/callback?state=forged-{n}&code=x", follow_redirects=False)
        assert answer.status_code == 400
    rows = [e for e in site.audit() if e.action == "login.failed"]
    assert len(rows) == audit_sampling.BURST + 2
    assert sum(1 + (e.details or {}).get("unrecorded", 0) for e in rows) == 205
    # Another client's refusal is still written at once.
    stranger = TestClient(site.app, base_url=WEB_URL, client=("192.0.2.9", 50000))
    site.clients.append(stranger)
    assert stranger.get("/login/oidc/callback?state=x&code=y").status_code == 400
    assert next(e.address for e in site.audit() if e.action == "login.failed") == "192.0.2.9"
