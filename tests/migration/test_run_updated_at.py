"""Migration 0026: runs made before it get ``updated_at`` from the latest time they hold
(end, else start, else queued), on SQLite and PostgreSQL; the downgrade drops the column."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, inspect, select

from conveyor.store.engine import Store
from migration_steps import BACKENDS, emptied_store, migrate

QUEUED = datetime(2024, 1, 1, tzinfo=UTC)
STARTED = QUEUED + timedelta(minutes=1)
ENDED = QUEUED + timedelta(minutes=5)


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def _write_runs(store: Store) -> None:
    """Three runs as 0025's schema holds them: ended, running, queued."""
    old = MetaData()
    with store.engine.begin() as conn:
        old.reflect(conn)
        t = old.tables
        conn.execute(t["dag_source"].insert().values(source_hash="s", fileloc="f", source="x"))
        conn.execute(
            t["dag_version"]
            .insert()
            .values(version_hash="v", dag_id="d", source_hash="s", serialized={}, created_at=QUEUED)
        )
        for number, (start, end) in enumerate([(STARTED, ENDED), (STARTED, None), (None, None)]):
            conn.execute(
                t["dag_run"].insert().values(
                    id=number + 1, dag_id="d", run_id=f"manual__{number}", run_type="manual",
                    state="success", logical_date=QUEUED + timedelta(days=number),
                    data_interval_start=QUEUED, data_interval_end=QUEUED, conf={},
                    version_hash="v", created_by="test", queued_at=QUEUED,
                    start_date=start, end_date=end,
                )
            )  # fmt: skip


def test_0026_dates_each_run_by_its_latest_time_and_downgrades(empty_store: Store) -> None:
    migrate(empty_store, "0025")
    _write_runs(empty_store)
    migrate(empty_store, "0026")
    tables = MetaData()
    tables.reflect(empty_store.engine)
    runs = tables.tables["dag_run"]
    with empty_store.read() as conn:
        found = conn.execute(select(runs.c.id, runs.c.updated_at).order_by(runs.c.id)).all()
    as_utc = [(pk, when.replace(tzinfo=UTC) if when.tzinfo is None else when) for pk, when in found]
    assert as_utc == [(1, ENDED), (2, STARTED), (3, QUEUED)]
    migrate(empty_store, "0025", down=True)
    columns = {c["name"] for c in inspect(empty_store.engine).get_columns("dag_run")}
    assert "updated_at" not in columns and "backfill_id" in columns
