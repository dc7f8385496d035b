"""Migration 0019: the audit log table comes with the upgrade and goes with the downgrade,
on SQLite and PostgreSQL, and what is recorded after it reads back."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect

from conveyor.store import audit, schema
from conveyor.store.engine import Store


def _migrate(store: Store, revision: str, *, down: bool = False) -> None:
    with store.engine.begin() as conn:
        config = schema._alembic_config(conn)
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    else:
        store = Store(request.getfixturevalue("pg_database_url"))
        schema.reset(store)  # a clone of the migrated template: start again from empty
        _migrate(store, "base", down=True)
    yield store
    store.dispose()


def _tables(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def test_the_audit_log_comes_and_goes_with_0019(empty_store: Store) -> None:
    _migrate(empty_store, "0016")
    assert "audit_log" not in _tables(empty_store)
    _migrate(empty_store, "0019")
    assert "audit_log" in _tables(empty_store)
    with empty_store.write() as conn:
        audit.record(conn, "ann", "pool.set", "small", {"slots": 2}, via="cli")
    with empty_store.read() as conn:
        [entry], total = audit.list_entries(conn, audit.AuditFilter(actor="ann"))
    assert total == 1 and (entry.action, entry.target, entry.details) == (
        "pool.set",
        "small",
        {"slots": 2},
    )
    _migrate(empty_store, "0016", down=True)
    assert "audit_log" not in _tables(empty_store)
