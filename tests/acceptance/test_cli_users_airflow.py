"""``conveyor users create`` as Airflow's scripts call it, on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli, make_cli

from conveyor.store import users
from conveyor.store.engine import Store
from conveyor.web.security import verify_password


@pytest.fixture
def cli(tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return make_cli(tmp_path, store_url, store, monkeypatch)


def _user(cli: Cli, name: str) -> users.UserRow | None:
    with cli.store.read() as conn:
        return users.get_user(conn, name)


@pytest.mark.parametrize(
    ("role", "stored"),
    [("Admin", "admin"), ("Op", "op"), ("User", "op"), ("VIEWER", "viewer"), ("op", "op")],
)
def test_airflows_flags_and_role_names(cli: Cli, role: str, stored: str) -> None:
    result = cli(
        "users", "create",
        "--username", "alice",
        "--role", role,
        "--password", "correct horse battery",
        "--email", "alice@example.com",
        "--firstname", "Alice",
        "--lastname", "Smith",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    found = _user(cli, "alice")
    assert found is not None and found.role == stored
    assert verify_password(found.password_hash, "correct horse battery")
    assert "password:" not in result.output  # a given password is not printed back


def test_short_flags_and_a_generated_password(cli: Cli) -> None:
    result = cli("users", "create", "-u", "bob", "-r", "Viewer", "--use-random-password")
    assert result.exit_code == 0, result.output
    found = _user(cli, "bob")
    assert found is not None and found.role == "viewer"
    printed = result.output.split("password: ")[1].split()[0]
    assert verify_password(found.password_hash, printed)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-u", "carol", "-r", "Public"], "'Public': use admin, op or viewer"),
        (["-r", "admin"], "missing the user name"),
        (["dave", "-u", "erin", "-r", "admin"], "two user names"),
        (["-u", "carol", "-r", "op", "-p", "x" * 20, "--use-random-password"], "give one of"),
    ],
)
def test_bad_input_is_refused_and_creates_nobody(cli: Cli, args: list[str], message: str) -> None:
    result = cli("users", "create", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    with cli.store.read() as conn:
        assert users.list_users(conn) == []
