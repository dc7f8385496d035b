"""What the migration tests share: a store emptied of every table, on each backend, and a
step of the Alembic chain up or down.

Imported as ``migration_steps`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command

from conveyor.store import schema
from conveyor.store.engine import Store

#: ``params`` of an ``empty_store`` fixture: SQLite, and PostgreSQL when it is there.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def migrate(store: Store, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) the store's schema to ``revision``."""
    with store.engine.begin() as conn:
        move = command.downgrade if down else command.upgrade
        move(schema._alembic_config(conn), revision)


@contextmanager
def emptied_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store with no table, on the backend of ``request.param``; disposed of after."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    else:
        store = Store(request.getfixturevalue("pg_database_url"))
        schema.reset(store)  # a clone of the migrated template: start again from empty
        migrate(store, "base", down=True)
    try:
        yield store
    finally:
        store.dispose()
