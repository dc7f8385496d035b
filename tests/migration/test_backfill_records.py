"""Migration 0024: a store with backfill runs made before it upgrades on SQLite and
PostgreSQL; those runs keep every row (and their task instances) and belong to no backfill,
a backfill recorded after it links its runs, and the downgrade takes both away again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, inspect, select, update

from conveyor.store import backfills
from conveyor.store.engine import Store
from migration_steps import BACKENDS, emptied_store, migrate

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def _write_old_backfill_run(store: Store) -> None:
    """A backfill run and its task instance, as 0023's schema holds them."""
    old = MetaData()
    with store.engine.begin() as conn:
        old.reflect(conn)
        t = old.tables
        conn.execute(t["dag_source"].insert().values(source_hash="s", fileloc="f", source="x"))
        conn.execute(
            t["dag_version"]
            .insert()
            .values(version_hash="v", dag_id="d", source_hash="s", serialized={}, created_at=WHEN)
        )
        conn.execute(
            t["dag_run"].insert().values(
                id=1, dag_id="d", run_id="backfill__2024-01-01T00:00:00+00:00",
                run_type="backfill", state="success", logical_date=WHEN,
                data_interval_start=WHEN, data_interval_end=WHEN, conf={}, version_hash="v",
                created_by="backfill:d:x", queued_at=WHEN,
            )
        )  # fmt: skip
        conn.execute(
            t["task_instance"].insert().values(
                id=1, run_pk=1, dag_id="d", run_id="r", task_id="t", state="success",
                try_number=1, max_tries=0, priority_weight=1, queue="default", map_index=-1,
                updated_at=WHEN,
            )
        )  # fmt: skip


def test_0024_upgrades_a_store_with_backfill_runs_and_downgrades(empty_store: Store) -> None:
    migrate(empty_store, "0023")
    _write_old_backfill_run(empty_store)
    migrate(empty_store, "0024")
    tables = MetaData()
    tables.reflect(empty_store.engine)
    assert "backfill" in tables.tables and "backfill_id" in tables.tables["dag_run"].c
    with empty_store.write() as conn:
        run = conn.execute(select(tables.tables["dag_run"])).one()
        assert (run.state, run.backfill_id) == ("success", None)
        assert conn.execute(select(tables.tables["task_instance"].c.id)).scalars().all() == [1]
        made = backfills.create(
            conn, dag_id="d", from_date=WHEN, to_date=WHEN, dag_run_conf={"a": 1},
            reprocess_behavior="none", max_active_runs=2, triggering_user_name="ann",
        )  # fmt: skip
        # As backfills.link_run did at 0024 (it sets dag_run.updated_at since 0026).
        runs_at_0024 = tables.tables["dag_run"]
        conn.execute(update(runs_at_0024).where(runs_at_0024.c.id == 1).values(backfill_id=made))
    with empty_store.read() as conn:
        found = backfills.get(conn, made)
        assert found is not None and found.dag_run_conf == {"a": 1} and not found.is_paused
        assert backfills.run_counts(conn, [made]) == {made: {"success": 1}}
        assert backfills.ended_backfills(conn) == [made]
    migrate(empty_store, "0023", down=True)
    inspector = inspect(empty_store.engine)
    assert "backfill" not in inspector.get_table_names()
    assert "backfill_id" not in {c["name"] for c in inspector.get_columns("dag_run")}
