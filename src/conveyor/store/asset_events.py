"""Asset events that no task made: created through the API (Airflow's
``POST /assets/events``), queued for the DAGs scheduled on the asset as a task's update is,
and forgetting queued updates on request (``DELETE .../queuedEvents``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from conveyor.clock import utcnow
from conveyor.stats import airflow as stats
from conveyor.store.datasets import (
    RecordedEvent,
    consumer_schedules,
    queue_event,
    tell_after_commit,
)
from conveyor.store.engine import after_commit
from conveyor.store.reads.assets import queued_where
from conveyor.store.sql import upsert
from conveyor.store.tables import dataset, dataset_dag_queue, dataset_event


def record_external_event(
    conn: Connection, asset_id: int, extra: dict[str, Any], partition_key: str | None = None
) -> int | None:
    """Record an event of asset ``asset_id`` with no source task (of the partition
    ``partition_key``), queue it for the DAGs scheduled on the asset's URI; its id, or None
    when there is no such asset."""
    uri = conn.execute(select(dataset.c.uri).where(dataset.c.id == asset_id)).scalar()
    if uri is None:
        return None
    now = utcnow()
    event_id = int(
        conn.execute(
            insert(dataset_event)
            .values(
                dataset_id=asset_id,
                source_dag_id="",
                source_run_id="",
                source_task_id="",
                source_map_index=-1,
                created_at=now,
                extra=extra or None,
                partition_key=partition_key,
            )
            .returning(dataset_event.c.id)
        ).scalar_one()
    )
    told = RecordedEvent(str(uri), extra or {}, None, None, None, None, None, partition_key)
    tell_after_commit(conn, [told])
    after_commit(conn, lambda: stats.asset_updates(1))
    schedules = consumer_schedules(conn)
    queue_event(conn, schedules, str(uri), lambda: asset_id, event_id, partition_key, now)
    return event_id


def forget_queued(
    conn: Connection,
    *,
    asset_id: int | None = None,
    dag_id: str | None = None,
    before: datetime | None = None,
    hidden_dag_ids: Sequence[str] = (),
) -> int:
    """Delete pending updates (of an asset, for a DAG, older than ``before``); how many."""
    where = queued_where(asset_id, dag_id, before)
    if hidden_dag_ids:
        where.append(dataset_dag_queue.c.target_dag_id.not_in(list(hidden_dag_ids)))
    return int(conn.execute(delete(dataset_dag_queue).where(*where)).rowcount)


def ensure_assets(conn: Connection, uris: Sequence[str]) -> None:
    """Give each of these URIs a dataset row (an id), as a DAG naming it does in Airflow."""
    for uri in uris:
        upsert(
            conn, dataset, {"uri": uri, "extra": {}, "created_at": utcnow()}, key=["uri"], update=[]
        )
