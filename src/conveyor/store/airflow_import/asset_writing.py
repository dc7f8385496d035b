"""Write Airflow's asset events into Conveyor's, and queue the updates a DAG had not consumed.

An event is taken once: one the store holds already (the same asset, source and time) is left
as it is, and so is its queue entry, which Conveyor's scheduler may have consumed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, insert, select

from conveyor.store.airflow_import.records import AirflowAssetEvent
from conveyor.store.datasets import dataset_id
from conveyor.store.sql import upsert
from conveyor.store.tables import dataset_dag_queue, dataset_event


def put_events(conn: Connection, events: Sequence[AirflowAssetEvent]) -> list[int | None]:
    """Insert the events the store lacks; each event's new id, None where it was there."""
    made: list[int | None] = []
    for found in events:
        asset = dataset_id(conn, found.uri)
        e = dataset_event.c
        source = (
            found.source_dag_id or "",
            found.source_run_id or "",
            found.source_task_id or "",
        )
        there = conn.execute(
            select(e.id).where(
                and_(
                    e.dataset_id == asset,
                    e.source_dag_id == source[0],
                    e.source_run_id == source[1],
                    e.source_task_id == source[2],
                    e.source_map_index == found.source_map_index,
                    e.created_at == found.at,
                )
            )
        ).first()
        if there is not None:
            made.append(None)
            continue
        new_id = conn.execute(
            insert(dataset_event)
            .values(
                dataset_id=asset,
                source_dag_id=source[0],
                source_run_id=source[1],
                source_task_id=source[2],
                source_map_index=found.source_map_index,
                created_at=found.at,
                extra=found.extra or None,
                partition_key=found.partition_key,
                source_alias=found.source_alias,
            )
            .returning(e.id)
        ).scalar_one()
        made.append(int(new_id))
    return made


def queue_update(conn: Connection, uri: str, dag_id: str, event_id: int, at: datetime) -> None:
    """The DAG's pending update of the asset, unless one is pending already."""
    upsert(
        conn,
        dataset_dag_queue,
        {
            "dataset_id": dataset_id(conn, uri),
            "target_dag_id": dag_id,
            "event_id": event_id,
            "created_at": at,
        },
        key=["dataset_id", "target_dag_id"],
        update=[],
    )
