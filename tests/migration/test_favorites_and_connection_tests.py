"""Migration 0027: users made before it have no favourite DAG and keep working; after it, a
user's favourites go with the user, and a recorded connection test is found by its token.
Going back down drops both tables and leaves the users as they were."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, inspect, select

from conveyor.store import favorites
from conveyor.store.engine import Store
from conveyor.store.tables import connection_test, dag_favorite, web_user
from migration_steps import BACKENDS, emptied_store, migrate


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def test_favourites_and_connection_tests_come_and_go_with_0027(empty_store: Store) -> None:
    migrate(empty_store, "0026")
    now = datetime.now(UTC)
    with empty_store.write() as conn:
        conn.execute(
            insert(web_user).values(
                username="ada", role="viewer", password_hash="$argon2id$x", created_at=now
            )
        )

    migrate(empty_store, "head")

    with empty_store.write() as conn:
        assert favorites.favorite_dag_ids(conn, "ada") == set()
        favorites.add(conn, "ada", "pipeline")
        conn.execute(
            insert(connection_test).values(
                token="t1", connection_id="db", state="success", created_at=now
            )
        )
    with empty_store.read() as conn:
        assert favorites.favorite_dag_ids(conn, "ada") == {"pipeline"}
        found = conn.execute(select(connection_test.c.state)).scalar_one()
        assert found == "success"
    with empty_store.write() as conn:
        conn.execute(delete(web_user).where(web_user.c.username == "ada"))
    with empty_store.read() as conn:
        assert conn.execute(select(dag_favorite)).all() == []  # gone with the user

    migrate(empty_store, "0026", down=True)
    tables = set(inspect(empty_store.engine).get_table_names())
    assert "web_user" in tables
    assert not {"dag_favorite", "connection_test"} & tables
