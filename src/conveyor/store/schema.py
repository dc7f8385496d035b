"""Create, upgrade, check and reset the store's schema with Alembic.

``migrate`` is idempotent: running it on a current schema does nothing. An in-memory store
(tests, ``conveyor.testing``) is created straight from the table definitions instead.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from conveyor.store.engine import Store
from conveyor.store.schema_version import recorded_revision
from conveyor.store.tables import metadata

__all__ = [
    "current_revision",
    "head_revision",
    "is_current",
    "migrate",
    "recorded_revision",
    "reset",
]

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic_config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(store: Store) -> None:
    """Bring the schema to the newest revision."""
    if store.in_memory:
        metadata.create_all(store.engine)
        return
    with store.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")


def is_current(store: Store) -> bool:
    return store.in_memory or current_revision(store) == head_revision()


def reset(store: Store) -> None:
    """Drop every table and create the schema again: all history is lost."""
    with store.engine.begin() as conn:
        metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate(store)
