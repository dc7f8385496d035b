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
    try:  # disposed: a connection left to the garbage collector warns in a later test
        assert schema.current_revision(store) is None
        schema.migrate(store)
        assert schema.current_revision(store) == schema.head_revision()
        assert _differences(store) == []
    finally:
        store.dispose()


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        schema.migrate(store)
        schema.migrate(store)
        assert schema.is_current(store)
    finally:
        store.dispose()


PARTIAL = {
    "uq_dag_run_scheduled_tick": "run_type = 'scheduled'",
    "ix_task_instance_stop_try": "stop_try IS NOT NULL",
    "ix_run_deadline_pending": "state = 'pending'",
}


def _index_conditions(store: Store) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%'"
        ).all()
    return {name: sql.split(" WHERE ", 1)[1].strip() for name, sql in rows}


def test_an_in_memory_store_has_the_migrations_partial_indexes(tmp_path: Path) -> None:
    """An in-memory store is made from store/tables.py (create_all), a file store by the
    migrations: the same partial indexes either way (a full unique tick index would refuse a
    manual run on a scheduled run's date)."""
    memory, migrated = Store("sqlite://"), Store(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        schema.migrate(memory)
        schema.migrate(migrated)
        made = _index_conditions(memory)
        assert made == PARTIAL
        assert set(_index_conditions(migrated)) == set(PARTIAL)
    finally:
        memory.dispose()
        migrated.dispose()


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


def _fill(table: Any, given: dict[str, Any]) -> dict[str, Any]:
    """A row of ``table`` (reflected at an old revision): ``given``, and a plain value for
    every other column that must have one."""
    import datetime as dt

    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        if column.primary_key and column.autoincrement is not False and column.name == "id":
            continue
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = str
        samples = {int: 1, str: "x", dict: {}, dt.datetime: dt.datetime(2026, 1, 1)}
        row[column.name] = samples.get(kind, "x")
    return row


def _written_at(store: Store, revision: str, rows: dict[str, dict[str, Any]]) -> Any:
    """The store migrated only to ``revision``, with ``rows`` (by table, the columns not given
    filled by :func:`_fill`) written in that schema; the schema as it was then."""
    from alembic import command
    from sqlalchemy import MetaData

    with store.engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), revision)
        old = MetaData()
        old.reflect(conn)
        for name, given in rows.items():
            conn.execute(old.tables[name].insert().values(**_fill(old.tables[name], given)))
    return old


def test_xcom_rows_written_before_shown_read_as_they_were(tmp_path: Path) -> None:
    """0015 adds ``xcom.shown``; a value stored before it has none and is shown as it is."""
    from conveyor.store.reads.tasks import xcom_values

    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        rows = {
            "dag_source": {"source_hash": "s"},
            "dag_version": {"version_hash": "v", "source_hash": "s"},
            "dag_run": {"id": 1, "version_hash": "v"},
            "xcom": {"run_pk": 1, "task_id": "t", "key": "return_value", "value": {"n": 3}},
        }
        old = _written_at(store, "0014", rows)
        assert "shown" not in old.tables["xcom"].columns
        schema.migrate(store)
        with store.read() as conn:
            assert [r.value for r in xcom_values(conn, 1, "t")] == [{"n": 3}]
    finally:
        store.dispose()


def test_runs_and_tries_written_before_notes_read_without_them(tmp_path: Path) -> None:
    """0020 adds notes (``dag_run.user_note``, ``task_instance.user_note``) and
    ``task_try.rendered``; rows written before it have none, and downgrading drops them."""
    from alembic import command
    from sqlalchemy import MetaData

    from conveyor.store.reads.runs import get_run
    from conveyor.store.reads.tasks import instances, rendered_fields

    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        rows = {
            "dag_source": {"source_hash": "s"},
            "dag_version": {"version_hash": "v", "source_hash": "s"},
            "dag_run": {"id": 1, "version_hash": "v", "dag_id": "d", "run_id": "r"},
            "task_instance": {"id": 1, "run_pk": 1, "task_id": "t"},
            "task_try": {"ti_id": 1, "try_number": 1},
        }
        old = _written_at(store, "0016", rows)
        assert "user_note" not in old.tables["dag_run"].columns
        schema.migrate(store)
        with store.read() as conn:
            assert get_run(conn, "d", "r").user_note is None
            assert [i.user_note for i in instances(conn, 1)] == [None]
            assert rendered_fields(conn, 1, 1) is None
        with store.engine.begin() as conn:
            command.downgrade(schema._alembic_config(conn), "0016")
            after = MetaData()
            after.reflect(conn)
            assert "rendered" not in after.tables["task_try"].columns
            assert "user_note" not in after.tables["task_instance"].columns
    finally:
        store.dispose()
