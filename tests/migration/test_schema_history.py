"""Every revision still builds the schema that users' databases were built with.

The chain is walked from an empty database up to the head, one revision at a time, and back
down to empty; after each step every table's schema (columns, keys, constraints, indexes,
as the database itself describes them) is reduced to a short hash, and the hashes of the
tables that the step changed must be those recorded in ``schema_history.txt``. A
refactoring of a revision or of ``store/migrations/_ops.py`` must leave that file as it is.

Adding a revision adds states to the walk: write the file again with
``CONVEYOR_WRITE_SCHEMA_HISTORY=1`` (on both backends) and check that ``git diff`` shows
only the new revision's states and the walk down from it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from conveyor.store import schema
from conveyor.store.engine import Store
from migration_steps import BACKENDS, emptied_store, migrate

RECORD = Path(__file__).with_name("schema_history.txt")

#: PostgreSQL's description of a schema: columns, constraints and indexes of each table.
_PG_COLUMNS = """
SELECT table_name, column_name, data_type, character_maximum_length, is_nullable,
       column_default
FROM information_schema.columns WHERE table_schema = 'public'
ORDER BY table_name, ordinal_position
"""
_PG_CONSTRAINTS = """
SELECT cl.relname, co.conname, pg_get_constraintdef(co.oid)
FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
JOIN pg_namespace ns ON ns.oid = cl.relnamespace WHERE ns.nspname = 'public'
ORDER BY cl.relname, co.conname
"""
_PG_INDEXES = """
SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY tablename, indexname
"""


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def _revisions() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    return [
        s.revision for s in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
    ]


def _sqlite_sql(sql: str) -> str:
    """A table's or index's SQL as SQLite keeps it, without what carries no meaning: white
    space, quotes around names, and the order of the table constraints (a batch copy of a
    table writes them in an order that changes from one process to the next)."""
    body, end = (sql[: sql.rindex(")")], ")") if sql.startswith("CREATE TABLE") else (sql, "")
    parts = [re.sub(r"\s+", " ", p).replace('"', "").strip() for p in re.split(r",\s*\n", body)]
    constraints = sorted(p for p in parts if p.startswith("CONSTRAINT"))
    return ", ".join([p for p in parts if not p.startswith("CONSTRAINT")] + constraints) + end


def _described(conn: Connection) -> dict[str, list[str]]:
    """Each table's schema as lines of text, by table (Alembic's own table left out)."""
    tables: dict[str, list[str]] = {}
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT tbl_name, type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            " ORDER BY tbl_name, type DESC, name"
        )
        for table, kind, name, sql in rows:
            tables.setdefault(table, []).append(f"{kind} {name}: {_sqlite_sql(sql)}")
    else:
        for query in (_PG_COLUMNS, _PG_CONSTRAINTS, _PG_INDEXES):
            for table, *rest in conn.exec_driver_sql(query):
                tables.setdefault(table, []).append(" ".join(map(str, rest)))
    tables.pop("alembic_version", None)
    return tables


def _hashes(store: Store) -> dict[str, str]:
    """Each table's schema reduced to a short hash, by table."""
    with store.read() as conn:
        described = _described(conn)
    return {
        table: hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
        for table, lines in sorted(described.items())
    }


def _walk(store: Store) -> dict[str, str]:
    """``"<step> <table>"`` -> the table's hash after that step, for the tables the step
    changed (``-``: it dropped the table)."""
    revisions = _revisions()
    steps = [(f"up {r}", r, False) for r in revisions]
    steps += [(f"down {r}", r, True) for r in reversed(["base", *revisions[:-1]])]
    states: dict[str, str] = {}
    before: dict[str, str] = {}
    for label, revision, down in steps:
        migrate(store, revision, down=down)
        after = _hashes(store)
        for table in sorted(before.keys() | after.keys()):
            if before.get(table) != after.get(table):
                states[f"{label} {table}"] = after.get(table, "-")
        before = after
    return states


def _recorded(dialect: str) -> dict[str, str]:
    lines = RECORD.read_text().splitlines() if RECORD.exists() else []
    prefix = f"{dialect} "
    return {
        key.removeprefix(prefix): digest
        for key, _, digest in (line.rpartition(" ") for line in lines if line.startswith(prefix))
    }


def _write(dialect: str, states: dict[str, str]) -> None:
    kept = RECORD.read_text().splitlines() if RECORD.exists() else []
    kept = [line for line in kept if line and not line.startswith(f"{dialect} ")]
    if not kept:
        kept = ["# tests/migration/test_schema_history.py: <backend> <step> <table> <hash>"]
    ours = [f"{dialect} {key} {digest}" for key, digest in states.items()]
    RECORD.write_text("\n".join(kept + ours) + "\n")


def test_every_revision_builds_the_recorded_schema_up_and_down(empty_store: Store) -> None:
    dialect = empty_store.engine.dialect.name
    states = _walk(empty_store)
    if os.environ.get("CONVEYOR_WRITE_SCHEMA_HISTORY") == "1":
        _write(dialect, states)
    recorded = _recorded(dialect)
    changed = [
        f"{key}: {recorded.get(key, 'absent')} -> {states.get(key, 'absent')}"
        for key in sorted(recorded.keys() | states.keys())
        if recorded.get(key) != states.get(key)
    ]
    assert not changed, f"{dialect}: schema history changed:\n" + "\n".join(changed)
