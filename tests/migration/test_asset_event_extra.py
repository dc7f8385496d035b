"""Migration 0018: dataset events made before it read with no extra and no alias; after it,
an event keeps its extra and the alias it went through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from conveyor.store import datasets
from conveyor.store.engine import Store
from conveyor.store.tables import dataset, dataset_event
from migration_steps import BACKENDS, emptied_store, migrate


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with emptied_store(request, tmp_path) as store:
        yield store


def _event(**extra: Any) -> dict[str, Any]:
    return {
        "dataset_id": 1,
        "source_dag_id": "d",
        "source_run_id": "r",
        "source_task_id": "t",
        "source_map_index": -1,
        "created_at": datetime.now(UTC),
        **extra,
    }


def test_old_events_survive_with_no_extra_and_new_ones_keep_theirs(empty_store: Store) -> None:
    migrate(empty_store, "0016")
    with empty_store.write() as conn:
        conn.execute(
            insert(dataset).values(id=1, uri="s3://a", extra={}, created_at=datetime.now(UTC))
        )
        # Only the columns 0016 has: the insert names no others.
        conn.execute(insert(dataset_event).values(**_event()))
    migrate(empty_store, "head")
    with empty_store.write() as conn:
        conn.execute(insert(dataset_event).values(**_event(extra={"rows": 3}, source_alias="x")))
    with empty_store.read() as conn:
        old, new = datasets.events_of(conn, "s3://a")
        via_alias = datasets.events_of(conn, "airflow://asset-alias/x")
    assert (old.extra, old.source_alias) == ({}, None)
    assert (new.extra, new.source_alias) == ({"rows": 3}, "x")
    assert [e.id for e in via_alias] == [new.id]
