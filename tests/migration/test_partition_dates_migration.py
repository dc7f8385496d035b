"""Migration 0035: ``partition_date`` on runs and on the partitioned queue, and the rollups'
``partition_key_log``, on SQLite and PostgreSQL; runs made before it keep their key and have
no date; the downgrade drops all three."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, inspect, select

from conveyor.store.engine import Store
from migration_steps import BACKENDS, emptied_store, migrate

AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def _columns(store: Store, table: str) -> set[str]:
    return {c["name"] for c in inspect(store.engine).get_columns(table)}


def test_0035_adds_partition_dates_and_downgrades(empty_store: Store) -> None:
    migrate(empty_store, "0034")
    old = MetaData()
    with empty_store.engine.begin() as conn:
        old.reflect(conn)
        t = old.tables
        conn.execute(t["dag_source"].insert().values(source_hash="s", fileloc="f", source="x"))
        conn.execute(
            t["dag_version"]
            .insert()
            .values(version_hash="v", dag_id="d", source_hash="s", serialized={}, created_at=AT)
        )
        conn.execute(
            t["dag_run"].insert().values(
                id=1, dag_id="d", run_id="scheduled__1", run_type="scheduled", state="success",
                logical_date=AT, data_interval_start=AT, data_interval_end=AT, conf={},
                version_hash="v", created_by="test", queued_at=AT, partition_key="2026-01-01",
            )
        )  # fmt: skip
    migrate(empty_store, "0035")
    tables = MetaData()
    tables.reflect(empty_store.engine)
    runs = tables.tables["dag_run"]
    with empty_store.read() as conn:
        kept = conn.execute(select(runs.c.partition_key, runs.c.partition_date)).one()
    assert tuple(kept) == ("2026-01-01", None)
    assert {"partition_date", "fingerprint"} <= _columns(empty_store, "partition_dag_queue")
    assert "source_key" in _columns(empty_store, "partition_key_log")
    migrate(empty_store, "0034", down=True)
    assert "partition_key_log" not in inspect(empty_store.engine).get_table_names()
    assert "partition_date" not in _columns(empty_store, "dag_run")
    assert not {"partition_date", "fingerprint"} & _columns(empty_store, "partition_dag_queue")
    assert "partition_key" in _columns(empty_store, "dag_run")
