"""Signing in through the directory in a real browser: the login pages of a running
``conveyor web`` against a real OpenLDAP server and a real OpenID Connect provider.

LDAP: the login form takes the directory's password, a wrong password and an unknown user
read the same, and the role comes from the user's group. OpenID Connect: the login page's
single sign-on button leads to the provider's sign-in form and back, signed in with the
role of the groups claim; signing out goes through the provider's sign-out page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import ui_servers
from ui_servers import Conveyor, free_port, started

from ldap_servers import PASSWORDS as LDAP_PASSWORDS
from ldap_servers import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, LDAPServer, group_dn, running_slapd
from oidc_servers import OIDCProvider, running_provider

ui_servers.require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(240)
WAIT_MS = 30_000

browser = ui_servers.browser_fixture()


@pytest.fixture(scope="module")
def ldap_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with running_slapd(tmp_path_factory.mktemp("slapd")) as ldap:
        root = tmp_path_factory.mktemp("conveyor-ldap")
        with started(root, settings=_ldap(ldap)) as site:
            yield site


def _ldap(ldap: LDAPServer) -> dict[str, str]:
    mapping = {group_dn("ops"): ["op"], group_dn("viewers"): ["viewer"]}
    return {
        "CONVEYOR_AUTH_TYPE": "ldap",
        "CONVEYOR_AUTH_LDAP_SERVER": ldap.url,
        "CONVEYOR_AUTH_LDAP_SEARCH": PEOPLE,
        "CONVEYOR_AUTH_LDAP_BIND_USER": SERVICE_DN,
        "CONVEYOR_AUTH_LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "CONVEYOR_AUTH_LDAP_USE_TLS": "true",
        "CONVEYOR_AUTH_LDAP_TLS_CACERTFILE": str(ldap.ca_file),
        "CONVEYOR_AUTH_ROLES_MAPPING": json.dumps(mapping),
    }


@pytest.fixture(scope="module")
def oidc_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Conveyor, str]]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as provider:
        port = free_port()
        settings = _oidc(provider, port)
        root = tmp_path_factory.mktemp("conveyor-oidc")
        site = Conveyor(root, port=port, settings=settings)
        try:
            yield site.start(), provider.issuer
        finally:
            site.stop()


def _oidc(provider: OIDCProvider, port: int) -> dict[str, str]:
    return {
        "CONVEYOR_AUTH_TYPE": "oidc",
        "CONVEYOR_AUTH_OIDC_ISSUER": provider.issuer,
        "CONVEYOR_AUTH_OIDC_CLIENT_ID": "conveyor",
        "CONVEYOR_AUTH_OIDC_CLIENT_SECRET": "conveyor-client-secret",
        "CONVEYOR_AUTH_ROLES_MAPPING": json.dumps({"ops": ["op"], "readers": ["viewer"]}),
        "CONVEYOR_WEB_URL": f"http://127.0.0.1:{port}",
    }


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context.new_page()
    context.close()


def _form_sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _me(page: Page, url: str) -> dict[str, Any]:
    answer = page.request.get(f"{url}/api/v1/me")
    assert answer.ok, answer.text()
    return answer.json()  # type: ignore[no-any-return]


def test_ldap_users_sign_in_on_the_login_form(page: Page, ldap_site: Conveyor) -> None:
    _form_sign_in(page, ldap_site.url, "alice", LDAP_PASSWORDS["alice"])
    expect(page.locator("#dag-table")).to_be_visible(timeout=WAIT_MS)
    me = _me(page, ldap_site.url)
    assert (me["username"], me["role"]) == ("alice", "op")


def test_ldap_refusals_read_the_same(page: Page, ldap_site: Conveyor) -> None:
    shown = []
    for username in ("bob", "nobody-at-all"):
        _form_sign_in(page, ldap_site.url, username, "not-the-password")
        error = page.locator(".flash-error")
        expect(error).to_be_visible(timeout=WAIT_MS)
        shown.append(error.inner_text())
    assert shown == ["Wrong username or password."] * 2


def test_ldap_viewer_gets_the_viewer_role(page: Page, ldap_site: Conveyor) -> None:
    _form_sign_in(page, ldap_site.url, "bob", LDAP_PASSWORDS["bob"])
    expect(page.locator("#dag-table")).to_be_visible(timeout=WAIT_MS)
    me = _me(page, ldap_site.url)
    assert me["role"] == "viewer"
    # A viewer triggers nothing: the request the trigger page makes, with the session's
    # cookie and CSRF token, is refused.
    answer = page.request.post(
        f"{ldap_site.url}/api/v1/dags/hourly_sync/runs",
        data={},
        headers={"X-CSRF-Token": me["csrf_token"]},
    )
    assert answer.status == 403, answer.text()


def test_oidc_sign_in_and_out_through_the_provider(
    page: Page, oidc_site: tuple[Conveyor, str]
) -> None:
    site, issuer = oidc_site
    page.goto(f"{site.url}/login")
    page.click("#sso-login")
    expect(page).to_have_url(re.compile(re.escape(issuer) + r"/oauth2/authorize"), timeout=WAIT_MS)
    page.fill("input[name=sub]", "erin")
    page.click("form button[type=submit]:has-text('Authorize')")
    expect(page.locator("#dag-table")).to_be_visible(timeout=WAIT_MS)
    me = _me(page, site.url)
    assert (me["username"], me["role"]) == ("erin", "op")

    page.click("button:has-text('Log out')")
    expect(page).to_have_url(
        re.compile(re.escape(issuer) + r"/oauth2/end_session"), timeout=WAIT_MS
    )
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(re.escape(site.url) + r"/login"), timeout=WAIT_MS)
    assert page.request.get(f"{site.url}/api/v1/me").status == 401
