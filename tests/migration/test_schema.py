"""Migrations: upgrading an empty database gives exactly the tables of store/tables.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conveyor.store import schema
from conveyor.store.engine import Store
from conveyor.store.tables import metadata


def _differences(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_sqlite_upgrade_from_empty_matches_tables(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    assert schema.current_revision(store) is None
    schema.migrate(store)
    assert schema.current_revision(store) == schema.head_revision()
    assert _differences(store) == []


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    schema.migrate(store)
    schema.migrate(store)
    assert schema.is_current(store)


@pytest.mark.postgres
def test_postgres_upgrade_from_empty_matches_tables(pg_database_url: str) -> None:
    store = Store(pg_database_url)  # cloned from a template migrated with schema.migrate
    try:
        assert schema.current_revision(store) == schema.head_revision()
        assert _differences(store) == []
        schema.reset(store)
        assert schema.is_current(store)
        assert _differences(store) == []
    finally:
        store.dispose()
