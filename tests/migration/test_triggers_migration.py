"""Migration 0017 (deferral) on both stores: it adds the trigger and triggerer tables and a
resumed try's columns, its downgrade takes exactly those away, and it upgrades again.
(``test_schema.py`` checks that the head matches ``store/tables.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect

from conveyor.store import schema
from conveyor.store.engine import Store


def _to(store: Store, revision: str, *, down: bool = False) -> None:
    with store.engine.begin() as conn:
        move = command.downgrade if down else command.upgrade
        move(schema._alembic_config(conn), revision)


def _shape(store: Store) -> tuple[set[str], set[str]]:
    found = inspect(store.engine)
    tables = set(found.get_table_names())
    return tables, {c["name"] for c in found.get_columns("task_instance")}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    else:
        store = Store(request.getfixturevalue("pg_database_url"))
        schema.reset(store)
        with store.engine.begin() as conn:
            command.downgrade(schema._alembic_config(conn), "base")
    yield store
    store.dispose()


def test_deferral_tables_come_and_go_with_the_migration(empty_store: Store) -> None:
    _to(empty_store, "0016")
    before_tables, before_columns = _shape(empty_store)
    assert {"trigger", "triggerer"}.isdisjoint(before_tables)

    _to(empty_store, "0017")
    tables, columns = _shape(empty_store)
    assert tables - before_tables == {"trigger", "triggerer"}
    assert columns - before_columns == {"next_method", "next_kwargs"}
    found = inspect(empty_store.engine)
    [fk] = found.get_foreign_keys("trigger")
    assert (fk["referred_table"], fk["options"].get("ondelete")) == ("task_instance", "CASCADE")

    _to(empty_store, "0016", down=True)
    assert _shape(empty_store) == (before_tables, before_columns)
    _to(empty_store, "head")
    assert schema.current_revision(empty_store) == schema.head_revision()
