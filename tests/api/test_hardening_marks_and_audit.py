"""The third review's findings on marks and the audit log, each replayed (both backends):
rewriting a connection without ``secret_fields`` dropped its marks; the audit log showed a
field a mark makes secret in clear; ``conveyor audit list`` printed the terminal escape
sequences and newlines anyone can put into a failed login's user name; common secret key
names were not treated as secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, close, csrf_from, make_world, run_cli

from conveyor.connections.masking import looks_secret

LOGIN = "svc-Hidden-Login7"


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    built = make_world(tmp_path, store_url, execute=())
    yield built
    close(built)


def test_a_rewrite_keeps_the_marks_and_the_audit_log_masks_what_they_name(world: World) -> None:
    admin = world.client("admin")
    first = admin.put(
        "/api/v1/connections/marked",
        json={
            "conn_type": "http",
            "host": "api.internal",
            "login": LOGIN,
            "extra": {"tenant": "t-77-private"},
            "secret_fields": ["login", "tenant"],
        },
    )
    assert first.status_code == 200, first.text
    # Rewritten by someone who does not repeat the marks (an edit form, a script).
    again = admin.put(
        "/api/v1/connections/marked",
        json={"conn_type": "http", "host": "api2.internal", "login": LOGIN, "extra": {}},
    )
    assert again.status_code == 200, again.text
    shown = world.client("op").get("/api/v1/connections/marked").json()
    assert shown["login"] == "***" and shown["host"] == "api2.internal"
    assert shown["secret_fields"] == ["login"]  # "tenant" went with its key
    # Saying so removes them.
    cleared = admin.put(
        "/api/v1/connections/marked",
        json={"conn_type": "http", "login": LOGIN, "secret_fields": []},
    )
    assert cleared.json()["login"] == LOGIN

    audit = admin.get("/api/v1/audit", params={"action": "connection.set"}).json()
    details = [entry["details"] for entry in audit["entries"]]
    assert len(details) == 3
    # The first two were stored marked: their login is masked in the log.
    assert [d["login"] for d in reversed(details)] == ["***", "***", LOGIN]
    assert "t-77-private" not in str(details)


def test_audit_list_prints_no_terminal_control_from_stored_text(world: World) -> None:
    client = world.client()
    forged = "\x1b[2J\x1b[H\nfake-admin\tlogin\x9b31m\u202eevil"
    form = client.get("/login")
    refused = client.post(
        "/login",
        data={"username": forged, "password": "nope-nope", "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 401
    for output in ("table", "plain"):
        done = run_cli(world, "audit", "list", "-o", output, COLUMNS="400")
        assert done.exit_code == 0, done.output
        assert "\x1b" not in done.output and "\x9b" not in done.output
        assert "\u202e" not in done.output
        row = next(line for line in done.output.splitlines() if "login.failed" in line)
        # The whole name on its one line, its controls written as escapes.
        assert "\\x1b[2J\\x1b[H\\nfake-admin\\tlogin\\x9b31m\\u202eevil" in row


@pytest.mark.parametrize(
    "key",
    [
        "mongo_uri",
        "database_url",
        "DB_URL",
        "tls_key",
        "ssl_key",
        "jdbc_url",
        "proxy_url",
        "kms_key",
        "redis_url",
        "broker_url",
        "sql_alchemy_conn",
        "connection_uri",
        "kube_config",
        "salt",
        "otp",
        "encryption_salt",
        "result_backend_url",
    ],
)
def test_common_secret_key_names_are_secret(key: str) -> None:
    assert looks_secret(key)


@pytest.mark.parametrize(
    "key", ["endpoint_url", "base_url", "region_name", "host", "timeout", "key_path", "tenant"]
)
def test_ordinary_key_names_are_not(key: str) -> None:
    assert not looks_secret(key)
