"""Migration 0016: tokens made before it keep working, with no parent; after it, deleting a
token deletes the tokens made with it (SQLite's table is rebuilt for the foreign key)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.store.tables import api_token, web_user
from migration_steps import BACKENDS, emptied_store, migrate


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def test_old_tokens_survive_the_upgrade_and_new_children_die_with_their_parent(
    empty_store: Store,
) -> None:
    migrate(empty_store, "0015")
    now = datetime.now(UTC)
    with empty_store.write() as conn:
        conn.execute(
            insert(web_user).values(
                username="ann", role="viewer", password_hash="x", created_at=now
            )
        )
        conn.execute(
            insert(api_token).values(
                username="ann",
                name="old",
                token_hash="a" * 64,
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )

    migrate(empty_store, "head")

    with empty_store.write() as conn:
        [old] = user_rows.list_tokens(conn, "ann")
        assert old.name == "old" and old.parent_id is None
        child = user_rows.add_token(conn, "ann", "child", "b" * 64, now, parent_id=old.id)
        user_rows.add_token(conn, "ann", "grandchild", "c" * 64, now, parent_id=child)
        user_rows.add_token(conn, "ann", "other", "d" * 64, now)
    with empty_store.write() as conn:
        user_rows.revoke_token(conn, old.id)
    with empty_store.read() as conn:
        assert conn.execute(select(api_token.c.name)).scalars().all() == ["other"]
