"""The SQL of datasets: recording updates, queueing them for consumers, consuming them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from conveyor.clock import utcnow
from conveyor.model.schedules import DatasetSchedule
from conveyor.store import runs
from conveyor.store.runs import RunRow
from conveyor.store.sql import upsert
from conveyor.store.tables import dag, dataset, dataset_dag_queue, dataset_event


def dataset_id(conn: Connection, uri: str) -> int:
    """The id of the dataset with this URI, created on first use."""
    upsert(conn, dataset, {"uri": uri, "extra": {}, "created_at": utcnow()}, key=["uri"], update=[])
    return int(conn.execute(select(dataset.c.id).where(dataset.c.uri == uri)).scalar_one())


def consumers(conn: Connection) -> dict[str, list[str]]:
    """Active DAGs scheduled on datasets: dag_id -> their dataset URIs."""
    rows = conn.execute(
        select(dag.c.dag_id, dag.c.version_hash).where(
            dag.c.is_active.is_(True), dag.c.schedule.startswith(DatasetSchedule.PREFIX)
        )
    ).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        schedule = runs.serialized_dag(conn, row.version_hash).schedule
        if isinstance(schedule, DatasetSchedule):
            found[row.dag_id] = schedule.uris
    return found


def record_updates(
    conn: Connection, run: RunRow, task_id: str, map_index: int, uris: list[str]
) -> None:
    """One event per dataset the task updated, queued for every DAG that consumes it.

    A consumer's queue keeps the first update it has not consumed yet; later ones are events
    too but do not add runs: the DAG runs once per "all of my datasets were updated".
    """
    now = utcnow()
    wanted_by = consumers(conn)
    for uri in uris:
        ds_id = dataset_id(conn, uri)
        event_id = conn.execute(
            insert(dataset_event)
            .values(
                dataset_id=ds_id,
                source_dag_id=run.dag_id,
                source_run_id=run.run_id,
                source_task_id=task_id,
                source_map_index=map_index,
                created_at=now,
            )
            .returning(dataset_event.c.id)
        ).scalar_one()
        for dag_id, dag_uris in wanted_by.items():
            if uri in dag_uris:
                upsert(
                    conn,
                    dataset_dag_queue,
                    {
                        "dataset_id": ds_id,
                        "target_dag_id": dag_id,
                        "event_id": event_id,
                        "created_at": now,
                    },
                    key=["dataset_id", "target_dag_id"],
                    update=[],
                )


def queued_dag_ids(conn: Connection) -> list[str]:
    """DAGs with at least one pending dataset update."""
    return list(conn.execute(select(dataset_dag_queue.c.target_dag_id).distinct()).scalars())


@dataclass(frozen=True)
class PendingUpdate:
    dataset_id: int
    uri: str
    event_id: int
    source_dag_id: str
    source_run_id: str
    source_task_id: str
    at: datetime

    def as_conf(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "source_dag_id": self.source_dag_id,
            "source_run_id": self.source_run_id,
            "source_task_id": self.source_task_id,
            "at": self.at.isoformat(),
        }


def pending_updates(conn: Connection, dag_id: str) -> dict[str, PendingUpdate]:
    """The pending update of each dataset for this DAG, by URI."""
    rows = conn.execute(
        select(
            dataset.c.id,
            dataset.c.uri,
            dataset_event.c.id.label("event_id"),
            dataset_event.c.source_dag_id,
            dataset_event.c.source_run_id,
            dataset_event.c.source_task_id,
            dataset_event.c.created_at,
        )
        .select_from(dataset_dag_queue)
        .join(dataset, dataset.c.id == dataset_dag_queue.c.dataset_id)
        .join(dataset_event, dataset_event.c.id == dataset_dag_queue.c.event_id)
        .where(dataset_dag_queue.c.target_dag_id == dag_id)
    )
    return {
        r.uri: PendingUpdate(
            r.id,
            r.uri,
            r.event_id,
            r.source_dag_id,
            r.source_run_id,
            r.source_task_id,
            r.created_at,
        )
        for r in rows
    }


def consume(conn: Connection, dag_id: str, dataset_ids: list[int]) -> int:
    """Remove these pending updates of a DAG; how many there were."""
    return int(
        conn.execute(
            delete(dataset_dag_queue).where(
                dataset_dag_queue.c.target_dag_id == dag_id,
                dataset_dag_queue.c.dataset_id.in_(dataset_ids),
            )
        ).rowcount
    )


@dataclass(frozen=True)
class DatasetSummary:
    uri: str
    created_at: datetime
    last_event: dict[str, Any] | None
    events: int
    consumers: list[str]


def list_datasets(conn: Connection) -> list[DatasetSummary]:
    """Every dataset with its newest event, its number of events and the DAGs it schedules."""
    counts: dict[int, int] = dict(
        conn.execute(
            select(dataset_event.c.dataset_id, func.count()).group_by(dataset_event.c.dataset_id)
        ).all()
    )
    newest = (
        select(func.max(dataset_event.c.id)).group_by(dataset_event.c.dataset_id).scalar_subquery()
    )
    last = {
        r.dataset_id: r
        for r in conn.execute(select(dataset_event).where(dataset_event.c.id.in_(newest)))
    }
    by_uri: dict[str, list[str]] = {}
    for dag_id, uris in consumers(conn).items():
        for uri in uris:
            by_uri.setdefault(uri, []).append(dag_id)
    summaries = []
    for row in conn.execute(select(dataset).order_by(dataset.c.uri)):
        event = last.get(row.id)
        summaries.append(
            DatasetSummary(
                uri=row.uri,
                created_at=row.created_at,
                last_event=None
                if event is None
                else {
                    "source_dag_id": event.source_dag_id,
                    "source_run_id": event.source_run_id,
                    "source_task_id": event.source_task_id,
                    "source_map_index": event.source_map_index,
                    "at": event.created_at,
                },
                events=int(counts.get(row.id, 0)),
                consumers=sorted(by_uri.get(row.uri, [])),
            )
        )
    return summaries
