"""``/api/v2/assets``: Airflow's asset routes over Conveyor's datasets.

An asset is a dataset row, its id the row's: ``name`` and ``uri`` are both its URI (Conveyor
keys assets by URI), ``group`` is ``asset``. Assets that DAGs name (in a schedule or an
outlet) but that no event updated yet get their row when first listed here, as Airflow
registers them when it parses the DAG. Producing tasks and scheduled DAGs come from the
DAGs' current versions. Events made here have no source task; they are queued for the
DAGs scheduled on the asset as a task's update would be. ``created_dagruns`` is always
empty: Conveyor does not link an event to the runs it started. Asset aliases are listed;
materializing an asset is not served (501). The asset state store is asset_state_store.py's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor.model.datasets import ALIAS_PREFIX
from conveyor.store import asset_events
from conveyor.store.reads import assets as asset_reads
from conveyor.store.reads.assets import AssetRow, EventRow, QueuedRow
from conveyor.web import asset_graph
from conveyor.web.airflow_api.common import (
    DagIdPath,
    Editor,
    Operator,
    Page,
    Reader,
    TextFilters,
    aware,
    paged,
    require_dag,
    text_filters,
    unprocessable,
    utc,
)
from conveyor.web.airflow_api.dag_scope import hidden_dag_ids
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.text_match import kept
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.auth import User
from conveyor.web.deps import get_store
from conveyor.web.strict_json import StrictDict

router = APIRouter(tags=["Asset"])

GROUP = "asset"
AssetId = Annotated[int, Path(ge=0, le=2**31 - 1)]
Before = Annotated[datetime | None, Query()]


class DagScheduleAssetReference(BaseModel):
    dag_id: str
    created_at: datetime
    updated_at: datetime


class TaskOutletAssetReference(BaseModel):
    dag_id: str
    task_id: str
    created_at: datetime
    updated_at: datetime


class AssetAliasResponse(BaseModel):
    id: int
    name: str
    group: str


class LastAssetEventResponse(BaseModel):
    id: int | None = None
    timestamp: datetime | None = None


class AssetWatcherResponse(BaseModel):
    name: str
    trigger_id: int
    created_date: datetime


class AssetResponse(BaseModel):
    id: int
    name: str
    uri: str
    group: str
    extra: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    scheduled_dags: list[DagScheduleAssetReference]
    producing_tasks: list[TaskOutletAssetReference]
    consuming_tasks: list[TaskOutletAssetReference]
    aliases: list[AssetAliasResponse]
    watchers: list[AssetWatcherResponse]
    last_asset_event: LastAssetEventResponse | None = None


class AssetCollectionResponse(BaseModel):
    assets: list[AssetResponse]
    total_entries: int


class AssetAliasCollectionResponse(BaseModel):
    asset_aliases: list[AssetAliasResponse]
    total_entries: int


class AssetEventResponse(BaseModel):
    id: int
    asset_id: int
    uri: str | None = None
    name: str | None = None
    group: str | None = None
    extra: dict[str, Any] | None = None
    source_task_id: str | None = None
    source_dag_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int
    created_dagruns: list[dict[str, Any]]
    timestamp: datetime
    partition_key: str | None = None


class AssetEventCollectionResponse(BaseModel):
    asset_events: list[AssetEventResponse]
    total_entries: int


class CreateAssetEventsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset_id: int = Field(ge=0, le=2**31 - 1)
    partition_key: str | None = Field(default=None, max_length=250)
    extra: StrictDict = Field(default_factory=dict)
    access_control: dict[str, Any] | None = None


class QueuedEventResponse(BaseModel):
    dag_id: str
    asset_id: int
    created_at: datetime
    dag_display_name: str


class QueuedEventCollectionResponse(BaseModel):
    queued_events: list[QueuedEventResponse]
    total_entries: int


def _assets(request: Request, user: User) -> tuple[list[AssetRow], dict[str, Any], set[str]]:
    """Every asset row (named ones given theirs first), the graph's summaries by URI, and
    the DAGs hidden from ``user``."""
    store = get_store(request)
    with store.read() as conn:
        summaries = {s.uri: s for s in asset_graph.list_assets(conn).assets}
        rows = asset_reads.asset_rows(conn)
        hidden = hidden_dag_ids(conn, user)
    missing = sorted(set(summaries) - {r.uri for r in rows})
    if missing:
        with store.write() as conn:
            asset_events.ensure_assets(conn, missing)
        with store.read() as conn:
            rows = asset_reads.asset_rows(conn)
    return rows, summaries, hidden


def _asset(row: AssetRow, summary: Any, hidden: set[str]) -> AssetResponse:
    created = utc(row.created_at) or row.created_at
    updated = utc(row.last_event_at) or created
    consumers = [d for d in (summary.consumers if summary else []) if d not in hidden]
    producers = [p for p in (summary.producers if summary else []) if p.dag_id not in hidden]
    return AssetResponse(
        id=row.id,
        name=row.uri,
        uri=row.uri,
        group=GROUP,
        extra=row.extra,
        created_at=created,
        updated_at=updated,
        scheduled_dags=[
            DagScheduleAssetReference(dag_id=d, created_at=created, updated_at=updated)
            for d in consumers
        ],
        producing_tasks=[
            TaskOutletAssetReference(
                dag_id=p.dag_id, task_id=p.task_id, created_at=created, updated_at=updated
            )
            for p in producers
        ],
        consuming_tasks=[],
        aliases=[],
        watchers=[
            AssetWatcherResponse(
                name=w.name, trigger_id=w.id, created_date=utc(w.created_at) or w.created_at
            )
            for w in row.watchers
        ],
        last_asset_event=LastAssetEventResponse(
            id=row.last_event_id, timestamp=utc(row.last_event_at)
        ),
    )


ORDER_FIELDS: dict[str, Any] = {
    "id": lambda a: a[0].id,
    "name": lambda a: a[0].uri,
    "uri": lambda a: a[0].uri,
    "created_at": lambda a: a[0].created_at,
    "updated_at": lambda a: a[0].last_event_at or a[0].created_at,
}


@router.get(
    "/assets",
    openapi_extra=differs(
        "name is the URI, group asset; consuming_tasks and aliases are empty; "
        "a watcher's trigger_id is its own id"
    ),
)
def get_assets(
    request: Request,
    user: Reader,
    page: Annotated[Page, Depends(paged("id"))],
    texts: Annotated[TextFilters, Depends(text_filters("name", "uri", max_length=1000))],
    dag_ids: Annotated[list[str] | None, Query(max_length=100)] = None,
    only_active: bool = True,
) -> AssetCollectionResponse:
    """``only_active`` false lists the same: Conveyor keeps no inactive mark on assets."""
    rows, summaries, hidden = _assets(request, user)
    found = []
    for row in rows:
        # An asset's name is its URI.
        if row.is_alias or not all(match(row.uri) for match in texts.values()):
            continue
        summary = summaries.get(row.uri)
        named = {
            *(summary.consumers if summary else []),
            *(p.dag_id for p in (summary.producers if summary else [])),
        }
        if dag_ids and not named & set(dag_ids):
            continue
        found.append((row, summary))
    shown, total = page.listed(found, ORDER_FIELDS)
    return AssetCollectionResponse(
        assets=[_asset(r, s, hidden) for r, s in shown], total_entries=total
    )


@router.get("/assets/aliases")
def get_asset_aliases(
    request: Request,
    user: Reader,
    page: Annotated[Page, Depends(paged("id"))],
    texts: Annotated[TextFilters, Depends(text_filters("name", max_length=1000))],
) -> AssetAliasCollectionResponse:
    with get_store(request).read() as conn:
        every = [_alias(r) for r in asset_reads.asset_rows(conn) if r.is_alias]
    found = kept(every, lambda a: a.name, texts.get("name"))
    fields: dict[str, Any] = {"id": lambda a: a.id, "name": lambda a: a.name}
    shown, total = page.listed(found, fields)
    return AssetAliasCollectionResponse(asset_aliases=shown, total_entries=total)


def _alias(row: AssetRow) -> AssetAliasResponse:
    return AssetAliasResponse(id=row.id, name=row.uri[len(ALIAS_PREFIX) :], group=GROUP)


@router.get("/assets/aliases/{asset_alias_id}")
def get_asset_alias(request: Request, asset_alias_id: AssetId, user: Reader) -> AssetAliasResponse:
    with get_store(request).read() as conn:
        rows = [r for r in asset_reads.asset_rows(conn) if r.is_alias and r.id == asset_alias_id]
    if not rows:
        raise HTTPException(404, f"The Asset Alias with ID: `{asset_alias_id}` was not found")
    return _alias(rows[0])


def event_response(row: EventRow) -> AssetEventResponse:
    return AssetEventResponse(
        id=row.id,
        asset_id=row.asset_id,
        uri=row.uri,
        name=row.uri,
        group=GROUP,
        extra=row.extra,
        source_task_id=row.source_task_id or None,
        source_dag_id=row.source_dag_id or None,
        source_run_id=row.source_run_id or None,
        source_map_index=row.source_map_index,
        created_dagruns=[],
        timestamp=utc(row.created_at) or row.created_at,
        partition_key=row.partition_key,
    )


@router.get("/assets/events", openapi_extra=differs("created_dagruns is empty"))
def get_asset_events(
    request: Request,
    user: Reader,
    page: Annotated[Page, Depends(paged("timestamp"))],
    texts: Annotated[TextFilters, Depends(text_filters("name", max_length=1000))],
    asset_id: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    source_dag_id: Annotated[str | None, Query(max_length=250)] = None,
    source_task_id: Annotated[str | None, Query(max_length=250)] = None,
    source_run_id: Annotated[str | None, Query(max_length=250)] = None,
    source_map_index: Annotated[int | None, Query(ge=-1, le=2**31 - 1)] = None,
    timestamp_gte: datetime | None = None,
    timestamp_gt: datetime | None = None,
    timestamp_lte: datetime | None = None,
    timestamp_lt: datetime | None = None,
) -> AssetEventCollectionResponse:
    order = page.keys(list(asset_reads.ORDER_COLUMNS))
    store = get_store(request)
    with store.read() as conn:
        hidden = hidden_dag_ids(conn, user)
    found = asset_reads.EventFilter(
        asset_id=asset_id,
        source_dag_id=source_dag_id,
        source_task_id=source_task_id,
        source_run_id=source_run_id,
        source_map_index=source_map_index,
        after_or_at=aware("timestamp_gte", timestamp_gte),
        after=aware("timestamp_gt", timestamp_gt),
        before_or_at=aware("timestamp_lte", timestamp_lte),
        before=aware("timestamp_lt", timestamp_lt),
        hidden_dag_ids=sorted(hidden),
    )
    if (match := texts.get("name")) is not None:
        # The name is the URI: matched here, over every page (few assets, many events).
        with store.read() as conn:
            events, _total = asset_reads.list_events(conn, found, order, 2**31 - 1, 0)
        events = kept(events, lambda e: e.uri, match)
        return AssetEventCollectionResponse(
            asset_events=[
                event_response(e) for e in events[page.offset : page.offset + page.limit]
            ],
            total_entries=len(events),
        )
    with store.read() as conn:
        events, total = asset_reads.list_events(conn, found, order, page.limit, page.offset)
    return AssetEventCollectionResponse(
        asset_events=[event_response(e) for e in events], total_entries=total
    )


@router.post(
    "/assets/events",
    openapi_extra=differs("access_control is refused (422); the event has no source task"),
)
def create_asset_event(
    request: Request, body: CreateAssetEventsBody, user: Operator
) -> AssetEventResponse:
    # An asset belongs to no DAG, and its event may start any DAG scheduled on it: op.
    if body.access_control is not None:
        raise unprocessable("Conveyor has no teams; leave it out", "body", "access_control")
    with get_store(request).write() as conn:
        event_id = asset_events.record_external_event(
            conn, body.asset_id, body.extra, body.partition_key
        )
    if event_id is None:
        raise HTTPException(404, f"Asset with ID: `{body.asset_id}` was not found")
    audit_note(request, target=str(body.asset_id))
    with get_store(request).read() as conn:
        events, _ = asset_reads.list_events(
            conn, asset_reads.EventFilter(asset_id=body.asset_id), [("id", True)], 1, 0
        )
    return event_response(events[0])


@router.get(
    "/assets/{asset_id}",
    openapi_extra=differs(
        "name is the URI, group asset; consuming_tasks and aliases are empty; "
        "a watcher's trigger_id is its own id"
    ),
)
def get_asset(request: Request, asset_id: AssetId, user: Reader) -> AssetResponse:
    rows, summaries, hidden = _assets(request, user)
    for row in rows:
        if row.id == asset_id and not row.is_alias:
            return _asset(row, summaries.get(row.uri), hidden)
    raise HTTPException(404, f"The Asset with ID: `{asset_id}` was not found")


def _queued(rows: list[QueuedRow], hidden: set[str]) -> QueuedEventCollectionResponse:
    shown = [
        QueuedEventResponse(
            dag_id=r.dag_id,
            asset_id=r.asset_id,
            created_at=utc(r.created_at) or r.created_at,
            dag_display_name=r.dag_id,
        )
        for r in rows
        if r.dag_id not in hidden
    ]
    return QueuedEventCollectionResponse(queued_events=shown, total_entries=len(shown))


def _read_queued(request: Request, user: User, **where: Any) -> QueuedEventCollectionResponse:
    with get_store(request).read() as conn:
        rows = asset_reads.queued(conn, **where)
        hidden = hidden_dag_ids(conn, user)
    return _queued(rows, hidden)


def _forget(request: Request, user: User, **where: Any) -> None:
    store = get_store(request)
    with store.read() as conn:
        hidden = hidden_dag_ids(conn, user, "op")
    with store.write() as conn:
        gone = asset_events.forget_queued(conn, hidden_dag_ids=sorted(hidden), **where)
    if not gone:
        raise HTTPException(404, "Queue event with these filters was not found")
    audit_note(request, deleted=gone)


@router.get("/assets/{asset_id}/queuedEvents")
def get_asset_queued_events(
    request: Request, asset_id: AssetId, user: Reader, before: Before = None
) -> QueuedEventCollectionResponse:
    return _read_queued(request, user, asset_id=asset_id, before=aware("before", before))


@router.delete("/assets/{asset_id}/queuedEvents", status_code=204)
def delete_asset_queued_events(
    request: Request, asset_id: AssetId, user: Editor, before: Before = None
) -> None:
    _forget(request, user, asset_id=asset_id, before=aware("before", before))


@router.get("/dags/{dag_id}/assets/queuedEvents")
def get_dag_asset_queued_events(
    request: Request, dag_id: DagIdPath, user: Reader, before: Before = None
) -> QueuedEventCollectionResponse:
    require_dag(user, dag_id)
    return _read_queued(request, user, dag_id=dag_id, before=aware("before", before))


@router.delete("/dags/{dag_id}/assets/queuedEvents", status_code=204)
def delete_dag_asset_queued_events(
    request: Request, dag_id: DagIdPath, user: Editor, before: Before = None
) -> None:
    require_dag(user, dag_id, "op")
    _forget(request, user, dag_id=dag_id, before=aware("before", before))


@router.get("/dags/{dag_id}/assets/{asset_id}/queuedEvents")
def get_dag_asset_queued_event(
    request: Request, dag_id: DagIdPath, asset_id: AssetId, user: Reader, before: Before = None
) -> QueuedEventResponse:
    require_dag(user, dag_id)
    found = _read_queued(
        request, user, dag_id=dag_id, asset_id=asset_id, before=aware("before", before)
    )
    if not found.queued_events:
        raise HTTPException(
            404, f"Queued event with dag_id: `{dag_id}` and asset_id: `{asset_id}` was not found"
        )
    return found.queued_events[0]


@router.delete("/dags/{dag_id}/assets/{asset_id}/queuedEvents", status_code=204)
def delete_dag_asset_queued_event(
    request: Request, dag_id: DagIdPath, asset_id: AssetId, user: Editor, before: Before = None
) -> None:
    require_dag(user, dag_id, "op")
    _forget(request, user, dag_id=dag_id, asset_id=asset_id, before=aware("before", before))
