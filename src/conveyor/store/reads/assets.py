"""Assets (datasets) by id, their events and the updates queued for consuming DAGs, as
the Airflow-compatible API reads them: filtered, ordered and paged in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from conveyor.model.datasets import ALIAS_PREFIX
from conveyor.store.tables import asset_watcher, dataset, dataset_dag_queue, dataset_event


@dataclass(frozen=True)
class WatcherRef:
    """An asset's watcher as the API shows it (its row's id stands for Airflow's trigger)."""

    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class AssetRow:
    id: int
    uri: str
    extra: dict[str, Any]
    created_at: datetime
    last_event_id: int | None
    last_event_at: datetime | None
    watchers: tuple[WatcherRef, ...] = ()

    @property
    def is_alias(self) -> bool:
        return self.uri.startswith(ALIAS_PREFIX)


def asset_rows(conn: Connection) -> list[AssetRow]:
    """Every dataset row (aliases included), with its newest event, by id."""
    newest = (
        select(
            dataset_event.c.dataset_id,
            func.max(dataset_event.c.id).label("event_id"),
            func.max(dataset_event.c.created_at).label("event_at"),
        )
        .group_by(dataset_event.c.dataset_id)
        .subquery()
    )
    rows = conn.execute(
        select(dataset, newest.c.event_id, newest.c.event_at)
        .outerjoin(newest, newest.c.dataset_id == dataset.c.id)
        .order_by(dataset.c.id)
    )
    watchers: dict[int, list[WatcherRef]] = {}
    for w in conn.execute(select(asset_watcher).order_by(asset_watcher.c.name)):
        watchers.setdefault(w.dataset_id, []).append(WatcherRef(w.id, w.name, w.created_at))
    return [
        AssetRow(
            r.id,
            r.uri,
            dict(r.extra or {}),
            r.created_at,
            r.event_id,
            r.event_at,
            tuple(watchers.get(r.id, ())),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class EventRow:
    id: int
    asset_id: int
    uri: str
    extra: dict[str, Any]
    source_dag_id: str
    source_run_id: str
    source_task_id: str
    source_map_index: int
    source_alias: str | None
    created_at: datetime
    partition_key: str | None = None


@dataclass(frozen=True)
class EventFilter:
    asset_id: int | None = None
    source_dag_id: str | None = None
    source_task_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int | None = None
    after_or_at: datetime | None = None
    after: datetime | None = None
    before_or_at: datetime | None = None
    before: datetime | None = None
    hidden_dag_ids: Sequence[str] = ()
    #: Only these events (None: any).
    event_ids: Sequence[int] | None = None


ORDER_COLUMNS: dict[str, Any] = {
    "id": dataset_event.c.id,
    "timestamp": dataset_event.c.created_at,
    "source_dag_id": dataset_event.c.source_dag_id,
    "source_task_id": dataset_event.c.source_task_id,
    "source_run_id": dataset_event.c.source_run_id,
    "source_map_index": dataset_event.c.source_map_index,
    "asset_id": dataset_event.c.dataset_id,
}


def _where(found: EventFilter) -> list[ColumnElement[bool]]:
    e = dataset_event.c
    pairs: list[tuple[Any, Any]] = [
        (found.asset_id, e.dataset_id),
        (found.source_dag_id, e.source_dag_id),
        (found.source_task_id, e.source_task_id),
        (found.source_run_id, e.source_run_id),
        (found.source_map_index, e.source_map_index),
    ]
    clauses: list[ColumnElement[bool]] = [
        column == value for value, column in pairs if value is not None
    ]
    if found.after_or_at is not None:
        clauses.append(e.created_at >= found.after_or_at)
    if found.after is not None:
        clauses.append(e.created_at > found.after)
    if found.before_or_at is not None:
        clauses.append(e.created_at <= found.before_or_at)
    if found.before is not None:
        clauses.append(e.created_at < found.before)
    if found.hidden_dag_ids:
        clauses.append(e.source_dag_id.not_in(list(found.hidden_dag_ids)))
    if found.event_ids is not None:
        clauses.append(e.id.in_(list(found.event_ids)))
    return clauses


def list_events(
    conn: Connection,
    found: EventFilter,
    order: Sequence[tuple[str, bool]],
    limit: int,
    offset: int,
) -> tuple[list[EventRow], int]:
    where = _where(found)
    total = conn.execute(select(func.count()).select_from(dataset_event).where(*where)).scalar_one()
    ordering = [ORDER_COLUMNS[n].desc() if desc else ORDER_COLUMNS[n].asc() for n, desc in order]
    rows = conn.execute(
        select(dataset_event, dataset.c.uri)
        .join(dataset, dataset.c.id == dataset_event.c.dataset_id)
        .where(*where)
        .order_by(*ordering, dataset_event.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        EventRow(
            r.id,
            r.dataset_id,
            r.uri,
            dict(r.extra or {}),
            r.source_dag_id,
            r.source_run_id,
            r.source_task_id,
            r.source_map_index,
            r.source_alias,
            r.created_at,
            r.partition_key,
        )
        for r in rows
    ], int(total)


@dataclass(frozen=True)
class QueuedRow:
    dag_id: str
    asset_id: int
    created_at: datetime


def queued(
    conn: Connection,
    *,
    asset_id: int | None = None,
    dag_id: str | None = None,
    before: datetime | None = None,
) -> list[QueuedRow]:
    """The pending updates of assets for consuming DAGs."""
    q = dataset_dag_queue.c
    where = queued_where(asset_id, dag_id, before)
    rows = conn.execute(
        select(q.target_dag_id, q.dataset_id, q.created_at).where(*where).order_by(q.created_at)
    )
    return [QueuedRow(r.target_dag_id, r.dataset_id, r.created_at) for r in rows]


def queued_where(
    asset_id: int | None, dag_id: str | None, before: datetime | None
) -> list[ColumnElement[bool]]:
    q = dataset_dag_queue.c
    where: list[ColumnElement[bool]] = []
    if asset_id is not None:
        where.append(q.dataset_id == asset_id)
    if dag_id is not None:
        where.append(q.target_dag_id == dag_id)
    if before is not None:
        where.append(q.created_at < before)
    return where
