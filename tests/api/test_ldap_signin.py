"""Signing in through a real OpenLDAP server (``ldap_servers``), on both stores.

The login form of the real app, the directory's users and groups: the user record made at
the first sign-in, the role synced from the groups at each, nothing learned from a refusal,
StartTLS and LDAPS with the server's certificate checked, and a token of a user removed
from their group losing what the group gave.
"""

from __future__ import annotations

import base64
import json
import re
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from api_helpers import csrf_from
from fastapi.testclient import TestClient

from conftest import make_settings
from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import audit
from conveyor.store import roles as role_rows
from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.web import accounts, audit_sampling, auth, ldap_directory
from conveyor.web.airflow_api import jwt_tokens
from conveyor.web.app import create_app
from ldap_servers import (
    BASE,
    PASSWORDS,
    PEOPLE,
    SERVICE_DN,
    SERVICE_PASSWORD,
    LDAPServer,
    group_dn,
    running_slapd,
    user_dn,
)

MAPPING = {
    group_dn("ops"): ["op"],
    group_dn("viewers"): ["viewer"],
    group_dn("admins"): ["admin"],
    group_dn("team-b"): ["op"],
}


@pytest.fixture(scope="module")
def ldap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LDAPServer]:
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


def ldap_settings(tmp_path: Path, store_url: str, server: LDAPServer, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "auth_type": "ldap",
        "auth_ldap_server": server.url,
        "auth_ldap_search": PEOPLE,
        "auth_ldap_bind_user": SERVICE_DN,
        "auth_ldap_bind_password": SERVICE_PASSWORD,
        "auth_roles_mapping": json.dumps(MAPPING),
        "auth_ldap_use_tls": True,
        "auth_ldap_tls_cacertfile": str(server.ca_file),
        **extra,
    }
    (tmp_path / "dags").mkdir(exist_ok=True)
    return make_settings(tmp_path, tmp_path / "dags", store_url, **values)


class Site:
    """The app on one store, with browser-like clients."""

    def __init__(self, settings: Settings, store_url: str) -> None:
        self.settings = settings
        self.store = Store(store_url)
        self.app = create_app(settings, Store(store_url))
        self.clients: list[TestClient] = []

    def client(self) -> TestClient:
        client = TestClient(self.app, base_url="http://testserver")
        self.clients.append(client)
        return client

    def sign_in(self, username: str, password: str, client: TestClient | None = None) -> Any:
        client = client or self.client()
        form = client.get("/login")
        return client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_from(form.text)},
            follow_redirects=False,
        )

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
def site(tmp_path: Path, store_url: str, ldap: LDAPServer) -> Iterator[Site]:
    built = Site(ldap_settings(tmp_path, store_url, ldap), store_url)
    yield built
    built.close()


def test_first_sign_in_makes_the_user_with_the_role_of_their_group(site: Site) -> None:
    client = site.client()
    answer = site.sign_in("alice", PASSWORDS["alice"], client)

    assert answer.status_code == 303, answer.text
    me = client.get("/api/v1/me").json()
    assert (me["username"], me["role"]) == ("alice", "op")
    row = site.user("alice")
    assert row is not None and row.directory == "ldap" and row.role == "op"
    # No password of theirs is kept: the local form cannot sign them in with anything.
    assert not row.password_hash.startswith("$argon2")
    entries = [(e.action, e.actor, e.via) for e in site.audit()]
    assert ("login", "alice", "ldap") in entries and ("user.create", "alice", "ldap") in entries
    login = next(e for e in site.audit() if e.action == "login")
    assert login.address == "testclient" and login.details is not None
    assert login.details["groups"] == [group_dn("ops")]


def test_the_role_follows_the_groups_at_each_sign_in(site: Site, ldap: LDAPServer) -> None:
    assert site.sign_in("bob", PASSWORDS["bob"]).status_code == 303
    assert site.user("bob").role == "viewer"  # type: ignore[union-attr]
    ldap.ldif(
        f"dn: {group_dn('admins')}\nchangetype: modify\nadd: member\nmember: {user_dn('bob')}\n",
        modify=True,
    )
    try:
        assert site.sign_in("bob", PASSWORDS["bob"]).status_code == 303
        assert site.user("bob").role == "admin"  # type: ignore[union-attr]
        change = [e for e in site.audit() if e.action == "user.role"]
        assert change and change[0].details is not None
        assert (change[0].details["previous"], change[0].details["roles"]) == (
            ["viewer"],
            ["admin"],
        )
    finally:
        ldap.ldif(
            f"dn: {group_dn('admins')}\nchangetype: modify\ndelete: member\n"
            f"member: {user_dn('bob')}\n",
            modify=True,
        )
    assert site.sign_in("bob", PASSWORDS["bob"]).status_code == 303
    assert site.user("bob").role == "viewer"  # type: ignore[union-attr]


def test_wrong_password_and_unknown_user_answer_alike(site: Site) -> None:
    wrong = site.sign_in("alice", "not-her-password")
    unknown = site.sign_in("nobody-here", "not-her-password")
    empty = site.sign_in("alice", "")  # an anonymous bind would succeed: never sent

    for answer in (wrong, unknown, empty):
        assert answer.status_code == 401
        assert "Wrong username or password." in answer.text
    assert _page(wrong.text, "alice") == _page(unknown.text, "nobody-here")
    assert site.user("nobody-here") is None and site.user("alice") is None
    failed = [e.actor for e in site.audit() if e.action == "login.failed"]
    assert sorted(failed) == ["alice", "alice", "nobody-here"]


def _page(html: str, username: str) -> str:
    """The page without what differs by design: the name typed and the form's CSRF token."""
    return re.sub(r'(csrf[-_]token"? (?:content|value)=)"[^"]*"', r"\1", html).replace(
        username, "X"
    )


def test_wrong_password_and_unknown_user_take_the_same_time(site: Site) -> None:
    settings = site.settings.model_copy(update={"login_max_failures": 1000})
    timed = Site(settings, site.store.url)
    client = timed.client()
    times: dict[str, list[float]] = {"alice": [], "nobody-here": []}
    try:
        for _ in range(8):
            for name, samples in times.items():
                started = time.perf_counter()
                assert timed.sign_in(name, "wrong-password-1", client).status_code == 401
                samples.append(time.perf_counter() - started)
    finally:
        timed.close()
    known, unknown = (statistics.median(v) for v in times.values())
    # Both bind once after a search, and both check a password hash: no class apart.
    assert abs(known - unknown) < 0.5 * max(known, unknown), times


def test_the_login_throttle_holds_directory_sign_ins(site: Site) -> None:
    settings = site.settings.model_copy(update={"login_max_failures": 2})
    throttled = Site(settings, site.store.url)
    try:
        codes = [throttled.sign_in("alice", f"guess-{n}").status_code for n in range(3)]
        right = throttled.sign_in("alice", PASSWORDS["alice"]).status_code
    finally:
        throttled.close()
    assert codes == [401, 401, 429] and right == 429


def test_a_user_whom_no_group_gives_a_role_is_refused(site: Site) -> None:
    answer = site.sign_in("carol", PASSWORDS["carol"])

    assert answer.status_code == 403 and "no role in Conveyor" in answer.text
    assert site.user("carol") is None
    refused = [e for e in site.audit() if e.action == "login.refused"]
    assert refused and refused[0].actor == "carol" and refused[0].via == "ldap"


def test_the_registration_role_lets_them_in(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_user_registration_role="Viewer"), store_url
    )
    try:
        assert site.sign_in("carol", PASSWORDS["carol"]).status_code == 303
        assert site.user("carol").role == "viewer"  # type: ignore[union-attr]
    finally:
        site.close()


def test_a_directory_name_cannot_take_over_a_local_user(site: Site) -> None:
    accounts.create_user(site.store, "dave", "viewer", "local-password-1")

    # dave's directory password is not his local one: refused, and nothing changes.
    assert site.sign_in("dave", PASSWORDS["dave"]).status_code == 401
    assert site.user("dave").role == "viewer"  # type: ignore[union-attr]
    # The local password still works (auth_allow_local_users).
    assert site.sign_in("dave", "local-password-1").status_code == 303


def test_local_users_can_be_turned_off(tmp_path: Path, store_url: str, ldap: LDAPServer) -> None:
    site = Site(ldap_settings(tmp_path, store_url, ldap, auth_allow_local_users=False), store_url)
    try:
        accounts.create_user(site.store, "break-glass", "admin", "local-password-1")
        assert site.sign_in("break-glass", "local-password-1").status_code == 401
        assert site.sign_in("alice", PASSWORDS["alice"]).status_code == 303
    finally:
        site.close()


def test_group_search_for_directories_without_memberof(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    site = Site(
        ldap_settings(
            tmp_path,
            store_url,
            ldap,
            auth_ldap_group_search=f"ou=groups,{BASE}",
            auth_ldap_group_search_filter="(&(objectClass=posixGroup)(memberUid={uid}))",
        ),
        store_url,
    )
    try:
        assert site.sign_in("bob", PASSWORDS["bob"]).status_code == 303
        assert site.user("bob").role == "op"  # type: ignore[union-attr]  (team-b, not viewers)
    finally:
        site.close()


def test_ldaps_checks_the_certificate(tmp_path: Path, store_url: str, ldap: LDAPServer) -> None:
    trusted = ldap_settings(
        tmp_path, store_url, ldap, auth_ldap_server=ldap.ldaps_url, auth_ldap_use_tls=False
    )
    identity = ldap_directory.authenticate(trusted, "alice", PASSWORDS["alice"])
    assert identity is not None and identity.groups == (group_dn("ops"),)

    untrusted = trusted.model_copy(update={"auth_ldap_tls_cacertfile": None})
    with pytest.raises(ldap_directory.DirectoryUnavailableError):
        ldap_directory.authenticate(untrusted, "alice", PASSWORDS["alice"])
    # The check is only off when asked.
    self_signed = untrusted.model_copy(update={"auth_ldap_allow_self_signed": True})
    assert ldap_directory.authenticate(self_signed, "alice", PASSWORDS["alice"]) is not None


def test_starttls_checks_the_certificate(tmp_path: Path, store_url: str, ldap: LDAPServer) -> None:
    settings = ldap_settings(tmp_path, store_url, ldap, auth_ldap_tls_cacertfile=None)
    with pytest.raises(ldap_directory.DirectoryUnavailableError):
        ldap_directory.authenticate(settings, "alice", PASSWORDS["alice"])


def test_an_unreachable_directory_says_so(tmp_path: Path, store_url: str, ldap: LDAPServer) -> None:
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_ldap_server="ldap://127.0.0.1:9"), store_url
    )
    try:
        answer = site.sign_in("alice", PASSWORDS["alice"])
        assert answer.status_code == 503 and "could not be reached" in answer.text
    finally:
        site.close()


def test_a_token_loses_what_the_group_gave(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_directory_recheck_seconds=0), store_url
    )
    try:
        assert site.sign_in("dave", PASSWORDS["dave"]).status_code == 303
        token = accounts.create_token(site.store, "dave", "script")
        api = TestClient(site.app, headers={"Authorization": f"Bearer {token}"})
        site.clients.append(api)
        assert api.get("/api/v1/me").json()["role"] == "admin"
        assert api.get("/api/v1/users").status_code == 200

        ldap.ldif(
            f"dn: {group_dn('admins')}\nchangetype: modify\ndelete: member\n"
            f"member: {user_dn('dave')}\n",
            modify=True,
        )
        try:
            assert api.get("/api/v1/users").status_code == 401  # no group left: no token
            assert accounts.list_tokens(site.store, "dave") == []
        finally:
            ldap.ldif(
                f"dn: {group_dn('admins')}\nchangetype: modify\nadd: member\n"
                f"member: {user_dn('dave')}\n",
                modify=True,
            )
        revoked = [e for e in site.audit() if e.action == "token.revoke" and e.actor == "dave"]
        assert revoked and revoked[0].via == "ldap"
    finally:
        site.close()


def test_an_access_token_for_api_v2_loses_what_the_group_gave(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    """A JWT for ``/api/v2`` asks the directory again as a Conveyor token does."""
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_directory_recheck_seconds=0), store_url
    )
    try:
        assert site.sign_in("dave", PASSWORDS["dave"]).status_code == 303
        row = site.user("dave")
        assert row is not None
        jwt = jwt_tokens.issue(site.settings, "dave", auth.password_fingerprint(row.password_hash))
        api = TestClient(site.app, headers={"Authorization": f"Bearer {jwt}"})
        site.clients.append(api)
        assert api.get("/api/v2/pools").status_code == 200  # admin, from the group

        ldap.ldif(
            f"dn: {group_dn('admins')}\nchangetype: modify\ndelete: member\n"
            f"member: {user_dn('dave')}\n",
            modify=True,
        )
        try:
            refused = api.get("/api/v2/pools")  # no group left: the token is void
            assert refused.status_code == 401 and "directory" in refused.json()["detail"]
        finally:
            ldap.ldif(
                f"dn: {group_dn('admins')}\nchangetype: modify\nadd: member\n"
                f"member: {user_dn('dave')}\n",
                modify=True,
            )
    finally:
        site.close()


def test_a_token_follows_a_group_change(tmp_path: Path, store_url: str, ldap: LDAPServer) -> None:
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_directory_recheck_seconds=0), store_url
    )
    try:
        assert site.sign_in("alice", PASSWORDS["alice"]).status_code == 303
        token = accounts.create_token(site.store, "alice", "script")
        api = TestClient(site.app, headers={"Authorization": f"Bearer {token}"})
        site.clients.append(api)
        ldap.ldif(
            f"dn: {group_dn('viewers')}\nchangetype: modify\nadd: member\n"
            f"member: {user_dn('alice')}\n",
            modify=True,
        )
        ldap.ldif(
            f"dn: {group_dn('ops')}\nchangetype: modify\ndelete: member\n"
            f"member: {user_dn('alice')}\n",
            modify=True,
        )
        try:
            assert api.get("/api/v1/me").json()["role"] == "viewer"
            assert site.user("alice").role == "viewer"  # type: ignore[union-attr]
        finally:
            ldap.ldif(
                f"dn: {group_dn('ops')}\nchangetype: modify\nadd: member\n"
                f"member: {user_dn('alice')}\n",
                modify=True,
            )
            ldap.ldif(
                f"dn: {group_dn('viewers')}\nchangetype: modify\ndelete: member\n"
                f"member: {user_dn('alice')}\n",
                modify=True,
            )
    finally:
        site.close()


def test_settings_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        make_settings(tmp_path, tmp_path, "sqlite://", auth_type="ldap")
    assert "auth_ldap_server and auth_ldap_search" in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        make_settings(
            tmp_path, tmp_path, "sqlite://", auth_roles_mapping="{not json", auth_type="local"
        )
    assert "auth_roles_mapping" in str(raised.value)


def test_groups_give_named_roles(tmp_path: Path, store_url: str, ldap: LDAPServer) -> None:
    mapping = {**MAPPING, group_dn("ops"): ["op", "team_a", "not-made-yet"]}
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_roles_mapping=json.dumps(mapping)),
        store_url,
    )
    try:
        with site.store.write() as conn:
            role_rows.create_role(conn, "team_a")
        assert site.sign_in("alice", PASSWORDS["alice"]).status_code == 303
        with site.store.read() as conn:
            # The role no one made is left out; the sign-in goes on with the others.
            assert user_rows.get_roles(conn, "alice") == ["op", "team_a"]
    finally:
        site.close()


def test_named_roles_alone_let_a_user_in(tmp_path: Path, store_url: str, ldap: LDAPServer) -> None:
    mapping = {group_dn("viewers"): ["team_b"]}
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_roles_mapping=json.dumps(mapping)),
        store_url,
    )
    try:
        with site.store.write() as conn:
            role_rows.create_role(conn, "team_b")
        client = site.client()
        assert site.sign_in("bob", PASSWORDS["bob"], client).status_code == 303
        assert site.user("bob").role == user_rows.NO_BUILT_IN  # type: ignore[union-attr]
        with site.store.read() as conn:
            assert user_rows.get_roles(conn, "bob") == ["team_b"]
    finally:
        site.close()


TEAM_DAG = """
from conveyor import DAG, BashOperator

with DAG("{dag_id}", schedule=None, access_control={{"{role}": {{"can_read", "can_edit"}}}}):
    BashOperator(task_id="hello", bash_command="echo hello")
"""


def test_a_team_member_sees_and_triggers_only_the_team_dag(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    mapping = {group_dn("ops"): ["team_a"], group_dn("viewers"): ["viewer"]}
    settings = ldap_settings(tmp_path, store_url, ldap, auth_roles_mapping=json.dumps(mapping))
    dags = settings.dags_path
    (dags / "a.py").write_text(TEAM_DAG.format(dag_id="team_a_etl", role="team_a"))
    (dags / "b.py").write_text(TEAM_DAG.format(dag_id="team_b_etl", role="team_b"))
    site = Site(settings, store_url)
    try:
        with site.store.write() as conn:
            role_rows.create_role(conn, "team_a")
            role_rows.create_role(conn, "team_b")
        DagFileProcessor(site.store, dags, timeout=30, scan_every=1).sync()
        alice, bob = site.client(), site.client()
        assert site.sign_in("alice", PASSWORDS["alice"], alice).status_code == 303
        assert site.sign_in("bob", PASSWORDS["bob"], bob).status_code == 303
        for client in (alice, bob):
            client.headers["X-CSRF-Token"] = client.get("/api/v1/me").json()["csrf_token"]

        listed = [d["dag_id"] for d in alice.get("/api/v1/dags").json()["dags"]]
        assert listed == ["team_a_etl"]
        assert alice.post("/api/v1/dags/team_a_etl/runs", json={}).status_code == 201
        assert alice.post("/api/v1/dags/team_b_etl/runs", json={}).status_code == 404
        # The viewer reads both and triggers neither.
        listed = sorted(d["dag_id"] for d in bob.get("/api/v1/dags").json()["dags"])
        assert listed == ["team_a_etl", "team_b_etl"]
        assert bob.post("/api/v1/dags/team_a_etl/runs", json={}).status_code == 403
    finally:
        site.close()


# Every way in asks one decision (issue 63) -------------------------------------------------


def test_local_users_turned_off_are_refused_at_every_way_in(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    """The review's attack: with local users off, the local admin's password still got an
    /api/v2 token (which wrote a variable), basic auth and the tokens and sessions made
    before still worked, and the token issued left no audit entry."""
    settings = ldap_settings(tmp_path, store_url, ldap, api_basic_auth=True, login_max_failures=50)
    on = Site(settings, store_url)
    off = Site(on.settings.model_copy(update={"auth_allow_local_users": False}), store_url)
    try:
        accounts.create_user(on.store, "break-glass", "admin", "local-password-1")
        credentials = {"username": "break-glass", "password": "local-password-1"}
        issued = on.client().post("/auth/token", json=credentials)
        assert issued.status_code == 201  # allowed while local users are on, and audited
        jwt = issued.json()["access_token"]
        assert [(e.actor, e.target) for e in on.audit() if e.action == "token.issue"] == [
            ("break-glass", "break-glass")
        ]
        token = accounts.create_token(on.store, "break-glass", "script")
        browser = on.client()
        assert on.sign_in("break-glass", "local-password-1", browser).status_code == 303
        cookies = dict(browser.cookies)
        basic = "Basic " + base64.b64encode(b"break-glass:local-password-1").decode()

        client = off.client()
        assert off.sign_in("break-glass", "local-password-1").status_code == 401
        assert client.post("/auth/token", json=credentials).status_code == 401
        assert client.post("/auth/token/cli", json=credentials).status_code == 401
        write = {"key": "planted", "value": "x"}
        for header in (f"Bearer {jwt}", f"Bearer {token}", basic):
            headers = {"Authorization": header}
            assert client.get("/api/v2/variables", headers=headers).status_code == 401, header
            assert client.post("/api/v2/variables", json=write, headers=headers).status_code == 401
            assert client.get("/api/v1/dags", headers=headers).status_code == 401, header
        stolen = off.client()
        stolen.cookies.update(cookies)
        assert stolen.get("/api/v1/me").status_code == 401  # the session made before
        assert not [e for e in off.audit() if e.action == "variable.set"]
        # A directory user still comes in, and an /api/v2 token for them is honoured.
        assert off.sign_in("alice", PASSWORDS["alice"]).status_code == 303
    finally:
        off.close()
        on.close()


def test_every_spelling_the_directory_matches_waits_with_the_name(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    """The review's attack: while ``bob`` was locked (429), ``BoB`` with the right password
    signed bob in. The directory matches each spelling below to bob's entry."""
    site = Site(ldap_settings(tmp_path, store_url, ldap, login_max_failures=2), store_url)
    try:
        codes = [site.sign_in("bob", f"guess-{n}").status_code for n in range(3)]
        assert codes == [401, 401, 429]
        for n, spelling in enumerate(("BoB", " bob", "bob ", "\uff42\uff4f\uff42", "BOB")):
            # Each from an address of its own: only the name's count can hold it.
            elsewhere = TestClient(site.app, client=(f"192.0.2.{n + 1}", 50000))
            site.clients.append(elsewhere)
            answer = site.sign_in(spelling, PASSWORDS["bob"], elsewhere)
            assert answer.status_code == 429, (spelling, answer.status_code)
        assert site.user("bob") is None
    finally:
        site.close()


def test_one_directory_entry_is_one_user_whatever_the_spelling(site: Site) -> None:
    """The review's attack: ``alice``, `` alice``, ``alice `` and the full-width ``alice``
    each became a Conveyor user with its own roles and tokens."""
    for spelling in ("alice", " alice", "alice ", "\uff41\uff4c\uff49\uff43\uff45", "ALICE"):
        client = site.client()
        assert site.sign_in(spelling, PASSWORDS["alice"], client).status_code == 303, spelling
        assert client.get("/api/v1/me").json()["username"] == "alice", spelling
    with site.store.read() as conn:
        assert [row.username for row in user_rows.list_users(conn)] == ["alice"]


def test_a_directory_name_with_markup_or_control_characters_is_not_stored(
    site: Site, ldap: LDAPServer
) -> None:
    name = "<img src=x>eve"
    dn = f"cn=eve,{PEOPLE}"
    ldap.ldif(
        f"dn: {dn}\nobjectClass: inetOrgPerson\nuid: {name}\ncn: eve\nsn: eve\n"
        "userPassword: eve-Secret-7\n"
    )
    ldap.ldif(
        f"dn: {group_dn('ops')}\nchangetype: modify\nadd: member\nmember: {dn}\n", modify=True
    )
    try:
        answer = site.sign_in(name, "eve-Secret-7")
        assert answer.status_code == 403
        with site.store.read() as conn:
            assert [row.username for row in user_rows.list_users(conn)] == []
        refused = [e for e in site.audit() if e.action == "login.refused"]
        assert refused and "markup" in str(refused[0].details)
    finally:
        ldap.ldif(
            f"dn: {group_dn('ops')}\nchangetype: modify\ndelete: member\nmember: {dn}\n",
            modify=True,
        )
        ldap.ldif(f"dn: {dn}\nchangetype: delete\n", modify=True)


def test_a_browser_session_loses_what_the_group_gave(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    """The review's attack: dave, removed from the admins group, kept admin in his browser
    session for up to 12 hours while his API tokens lost it."""
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_directory_recheck_seconds=0), store_url
    )
    try:
        browser = site.client()
        assert site.sign_in("dave", PASSWORDS["dave"], browser).status_code == 303
        assert browser.get("/api/v1/users").status_code == 200  # admin, from the group
        ldap.ldif(
            f"dn: {group_dn('admins')}\nchangetype: modify\ndelete: member\n"
            f"member: {user_dn('dave')}\n",
            modify=True,
        )
        try:
            assert browser.get("/api/v1/users").status_code == 401
            assert browser.get("/api/v1/me").status_code == 401  # the session is over
        finally:
            ldap.ldif(
                f"dn: {group_dn('admins')}\nchangetype: modify\nadd: member\n"
                f"member: {user_dn('dave')}\n",
                modify=True,
            )
    finally:
        site.close()


def test_throttled_logins_are_counted_and_sampled_not_written_each(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    """The review's attack: each throttled login wrote an audit row, without bound."""
    site = Site(ldap_settings(tmp_path, store_url, ldap, login_max_failures=2), store_url)
    try:
        codes = [site.sign_in("bob", f"guess-{n}").status_code for n in range(30)]
        assert codes == [401, 401] + [429] * 28
        actions = [e.action for e in site.audit()]
        assert actions.count("login.failed") == 2
        assert actions.count("login.throttled") == audit_sampling.BURST
    finally:
        site.close()


def test_a_flood_of_wrong_sign_ins_does_not_refuse_a_token_holder(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    """The review's attack: during a flood of wrong sign-ins from one address, another
    user's token calls from the same address (a proxy's, for every user behind it) got 429.
    Here the wrong sign-ins are basic auth on the Airflow 2 routes, each waiting for its
    password check (the checks are held), 20 at once."""
    settings = ldap_settings(
        tmp_path, store_url, ldap, api_basic_auth=True, login_max_failures=1000
    )
    site = Site(settings, store_url)
    accounts.create_user(site.store, "reader", "viewer", "reader-password-1")
    token = accounts.create_token(site.store, "reader", "script")
    checks = site.app.state.login_checks = ThreadPoolExecutor(1, "held-argon2")
    held = threading.Event()
    checks.submit(held.wait, 60)  # every password check waits behind this one
    wrong = {"Authorization": "Basic " + base64.b64encode(b"reader:wrong-guess").decode()}
    flood = ThreadPoolExecutor(20)
    try:
        client = site.client()
        answers = [flood.submit(client.get, "/api/v1/dags", headers=wrong) for _ in range(20)]
        deadline = time.monotonic() + 60
        # Each sign-in is either answered (429 at once) or waiting for its check.
        while sum(a.done() for a in answers) + checks._work_queue.qsize() < 20:
            assert time.monotonic() < deadline, "the flood did not settle"
            time.sleep(0.05)

        mine = client.get("/api/v1/version", headers={"Authorization": f"Bearer {token}"})

        assert mine.status_code == 200, mine.text
    finally:
        held.set()
        flood.shutdown(wait=True)
        checks.shutdown(wait=True)
        site.close()
    assert {a.result().status_code for a in answers} <= {401, 429}


def test_a_directory_user_gets_an_access_token_rechecked_like_their_session(
    tmp_path: Path, store_url: str, ldap: LDAPServer
) -> None:
    site = Site(
        ldap_settings(tmp_path, store_url, ldap, auth_directory_recheck_seconds=0), store_url
    )
    try:
        client = site.client()
        wrong = client.post("/auth/token", json={"username": "dave", "password": "nope-nope"})
        assert wrong.status_code == 401
        right = {"username": "dave", "password": PASSWORDS["dave"]}
        issued = client.post("/auth/token", json=right)
        assert issued.status_code == 201, issued.text
        api = TestClient(
            site.app, headers={"Authorization": f"Bearer {issued.json()['access_token']}"}
        )
        site.clients.append(api)
        assert api.get("/api/v2/pools").status_code == 200  # admin, from the group
        assert ("token.issue", "dave") in [(e.action, e.actor) for e in site.audit()]
        ldap.ldif(
            f"dn: {group_dn('admins')}\nchangetype: modify\ndelete: member\n"
            f"member: {user_dn('dave')}\n",
            modify=True,
        )
        try:
            assert api.get("/api/v2/pools").status_code == 401
        finally:
            ldap.ldif(
                f"dn: {group_dn('admins')}\nchangetype: modify\nadd: member\n"
                f"member: {user_dn('dave')}\n",
                modify=True,
            )
    finally:
        site.close()
