"""Migration 0019: the audit log table comes with the upgrade and goes with the downgrade,
on SQLite and PostgreSQL, and what is recorded after it reads back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from conveyor.store import audit
from conveyor.store.engine import Store
from migration_steps import BACKENDS, emptied_store, migrate


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def _tables(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def test_the_audit_log_comes_and_goes_with_0019(empty_store: Store) -> None:
    migrate(empty_store, "0016")
    assert "audit_log" not in _tables(empty_store)
    migrate(empty_store, "0019")
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
    migrate(empty_store, "0016", down=True)
    assert "audit_log" not in _tables(empty_store)
