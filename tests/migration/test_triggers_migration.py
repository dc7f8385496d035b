"""Migration 0017 (deferral) on both stores: it adds the trigger and triggerer tables and a
resumed try's columns, its downgrade takes exactly those away, and it upgrades again.
(``test_schema.py`` checks that the head matches ``store/tables.py``.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from conveyor.store import schema
from conveyor.store.engine import Store
from migration_steps import BACKENDS, emptied_store, migrate


def _shape(store: Store) -> tuple[set[str], set[str]]:
    found = inspect(store.engine)
    tables = set(found.get_table_names())
    return tables, {c["name"] for c in found.get_columns("task_instance")}


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def test_deferral_tables_come_and_go_with_the_migration(empty_store: Store) -> None:
    migrate(empty_store, "0016")
    before_tables, before_columns = _shape(empty_store)
    assert {"trigger", "triggerer"}.isdisjoint(before_tables)

    migrate(empty_store, "0017")
    tables, columns = _shape(empty_store)
    assert tables - before_tables == {"trigger", "triggerer"}
    assert columns - before_columns == {"next_method", "next_kwargs"}
    found = inspect(empty_store.engine)
    [fk] = found.get_foreign_keys("trigger")
    assert (fk["referred_table"], fk["options"].get("ondelete")) == ("task_instance", "CASCADE")

    migrate(empty_store, "0016", down=True)
    assert _shape(empty_store) == (before_tables, before_columns)
    migrate(empty_store, "head")
    assert schema.current_revision(empty_store) == schema.head_revision()
