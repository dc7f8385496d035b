"""Migration 0025: users made before it keep working with no subject; after it, one user
per OpenID Connect subject, and a user made before it is found by a subject only once an
admin linked them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.store.tables import web_user
from conveyor.web import accounts
from migration_steps import BACKENDS, emptied_store, migrate

ISSUER = "https://login.example.com"


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def test_users_before_the_upgrade_have_no_subject_and_a_subject_is_one_user(
    empty_store: Store,
) -> None:
    migrate(empty_store, "0024")
    now = datetime.now(UTC)
    with empty_store.write() as conn:
        for name, password_hash in (("frank", "!directory:oidc"), ("root", "$argon2id$x")):
            conn.execute(
                insert(web_user).values(
                    username=name, role="viewer", password_hash=password_hash, created_at=now
                )
            )

    migrate(empty_store, "head")

    frank_at_provider = user_rows.subject_key(ISSUER, "sub-frank")
    with empty_store.read() as conn:
        assert [(u.username, u.subject) for u in user_rows.list_users(conn)] == [
            ("frank", None),
            ("root", None),
        ]
        assert user_rows.get_user_by_subject(conn, frank_at_provider) is None
    with pytest.raises(accounts.AccountError, match="OpenID Connect"):
        accounts.link_subject(empty_store, "root", f"{ISSUER} sub-root")
    accounts.link_subject(empty_store, "frank", f"{ISSUER} sub-frank")
    with empty_store.write() as conn:
        found = user_rows.get_user_by_subject(conn, frank_at_provider)
        assert found is not None and found.username == "frank"
        user_rows.create_directory_user(conn, "other", "viewer", "oidc")
    with pytest.raises(IntegrityError), empty_store.write() as conn:
        user_rows.set_subject(conn, "other", frank_at_provider)  # one user per subject
    with pytest.raises(accounts.AccountError, match="frank"):
        accounts.link_subject(empty_store, "other", f"{ISSUER} sub-frank")
