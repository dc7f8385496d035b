"""``/api/v2/backfills``: Airflow 3's backfill routes over Conveyor's backfill record.

Creating one records it (``store.backfills``) and makes every run of the DAG's schedule from
``from_date`` to ``to_date`` at once, queued and linked to it, as Airflow 3 does
(``conveyor.backfill``); the scheduler starts them oldest first, at most the backfill's
``max_active_runs`` at a time, none while it is paused. Dates that have a run are kept, or
cleared to run again (``reprocess_behavior`` ``failed`` or ``completed``) and join it. A
DAG has one backfill going on at a time (409). Pause and unpause hold and release its queued
runs; cancel pauses it, fails its runs that have not started and completes it; the scheduler
completes it once its runs all ended; a completed backfill refuses all three (409).

Differences, each refused loudly rather than ignored: runs are not made newest first
(``run_backwards``), they run on the DAG's newest version, and a range whose dates all have
runs already is refused (409) rather than recorded empty.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from conveyor import backfill
from conveyor.backfill import Backfill, BackfillRunningError
from conveyor.exceptions import ConfigError, NotFoundError
from conveyor.lifecycle import Actor
from conveyor.model.params import conf_errors
from conveyor.serialized import SerializedDag
from conveyor.store import backfills as store_backfills
from conveyor.store import runs
from conveyor.store.backfills import BackfillCompletedError, BackfillRow
from conveyor.store.engine import Connection
from conveyor.strict_json import NotStrictJson, check_conf
from conveyor.web.airflow_api.common import (
    EDIT,
    Editor,
    Page,
    Reader,
    RowShape,
    aware,
    dag_visible,
    paged,
    require_dag,
    unprocessable,
    utc,
)
from conveyor.web.airflow_api.dag_scope import hidden_dag_ids
from conveyor.web.airflow_api.differences import differs
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store
from conveyor.web.strict_json import StrictDict

router = APIRouter(prefix="/backfills", tags=["Backfill"])

#: Runs one request may create, as on /api/v1: a larger range is `conveyor backfill`'s.
MAX_RUNS = 1000
#: Airflow's reprocess behaviours -> Conveyor's.
REPROCESS = {"none": "none", "failed": "failed", "completed": "all"}
BackfillId = Annotated[int, Path(ge=0, le=2**31 - 1)]
NOT_FOUND = "Could not find the backfill"


class BackfillPostBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dag_id: str = Field(max_length=250, pattern=r"^[^\x00]+$")
    from_date: datetime
    to_date: datetime
    run_backwards: bool = False
    dag_run_conf: StrictDict | None = Field(default_factory=dict)
    reprocess_behavior: Literal["failed", "completed", "none"] = "none"
    max_active_runs: int = Field(default=10, ge=1, le=2**31 - 1)
    run_on_latest_version: bool | None = None


class BackfillResponse(RowShape):
    id: int
    dag_id: str
    from_date: datetime
    to_date: datetime
    dag_run_conf: dict[str, Any] | None
    is_paused: bool
    reprocess_behavior: Literal["failed", "completed", "none"]
    max_active_runs: int
    created_at: datetime
    completed_at: datetime | None
    updated_at: datetime
    # A DAG's display name is its id here (a row has none of its own).
    dag_display_name: str = Field(validation_alias=AliasChoices("dag_display_name", "dag_id"))


class BackfillCollectionResponse(BaseModel):
    backfills: list[BackfillResponse]
    total_entries: int


class DryRunBackfillResponse(BaseModel):
    logical_date: datetime | None
    partition_key: str | None = None
    partition_date: datetime | None = None


class DryRunBackfillCollectionResponse(BaseModel):
    backfills: list[DryRunBackfillResponse]
    total_entries: int


def _response(row: BackfillRow) -> BackfillResponse:
    return BackfillResponse.model_validate(row)


def _found(request: Request, backfill_id: int, user: User) -> BackfillRow:
    with get_store(request).read() as conn:
        found = store_backfills.get(conn, backfill_id)
    if found is None or not dag_visible(user, found.dag_id):
        # A backfill of a DAG the caller may not read does not exist for them either.
        raise HTTPException(404, f"Could not find backfill with id {backfill_id}")
    return found


#: The fields a list may be ordered by (``order_by``), each read off the row.
_SORTABLE = (
    *("id", "dag_id", "created_at", "updated_at", "completed_at"),
    *("from_date", "to_date", "max_active_runs", "is_paused"),
)
ORDER_FIELDS: dict[str, Any] = {name: (lambda b, name=name: getattr(b, name)) for name in _SORTABLE}


@router.get("")
def list_backfills(
    request: Request,
    user: Reader,
    page: Annotated[Page, Depends(paged("id"))],
    dag_id: Annotated[str, Query(max_length=250)],
) -> BackfillCollectionResponse:
    with get_store(request).read() as conn:
        found = store_backfills.list_backfills(conn, None if dag_id == "~" else dag_id)
        hidden = hidden_dag_ids(conn, user)
    shown, total = page.listed([b for b in found if b.dag_id not in hidden], ORDER_FIELDS)
    return BackfillCollectionResponse(backfills=[_response(b) for b in shown], total_entries=total)


@router.get("/{backfill_id}")
def get_backfill(request: Request, backfill_id: BackfillId, user: Reader) -> BackfillResponse:
    return _response(_found(request, backfill_id, user))


def _act(
    request: Request,
    backfill_id: int,
    user: User,
    action: Callable[[Connection, int], BackfillRow],
) -> BackfillResponse:
    """One action on a backfill the caller may edit; a completed one is 409, as Airflow."""
    found = _found(request, backfill_id, user)
    require_dag(user, found.dag_id, EDIT)
    try:
        with get_store(request).write() as conn:
            done = action(conn, backfill_id)
    except BackfillCompletedError:
        raise HTTPException(409, "Backfill is already completed.") from None
    audit_note(request, target=found.dag_id, backfill_id=backfill_id)
    return _response(done)


@router.put("/{backfill_id}/pause")
def pause_backfill(request: Request, backfill_id: BackfillId, user: Editor) -> BackfillResponse:
    """Its queued runs wait; those running go on."""
    return _act(request, backfill_id, user, backfill.pause)


@router.put("/{backfill_id}/unpause")
def unpause_backfill(request: Request, backfill_id: BackfillId, user: Editor) -> BackfillResponse:
    """Its queued runs start again, ``max_active_runs`` at a time."""
    return _act(request, backfill_id, user, backfill.unpause)


@router.put("/{backfill_id}/cancel")
def cancel_backfill(request: Request, backfill_id: BackfillId, user: Editor) -> BackfillResponse:
    """As Airflow's cancel: the backfill is paused, its runs that have not started (queued)
    are marked failed, those running go on, and it is completed now."""
    actor = Actor(f"user:{user.username}")
    return _act(request, backfill_id, user, lambda conn, i: backfill.cancel(conn, i, actor))


def _plan(request: Request, body: BackfillPostBody, user: User) -> Backfill:
    """The backfill the body asks for, checked; 4xx naming what is wrong."""
    require_dag(user, body.dag_id, EDIT)
    if body.run_backwards:
        raise unprocessable(
            "Conveyor creates a backfill's runs oldest first; leave it false",
            "body",
            "run_backwards",
        )
    if body.run_on_latest_version is False:
        raise unprocessable(
            "Conveyor's backfills run the DAG's newest version", "body", "run_on_latest_version"
        )
    start = aware("from_date", body.from_date)
    end = aware("to_date", body.to_date)
    assert start is not None and end is not None
    if end < start:
        raise unprocessable(
            f"to_date ({end.isoformat()}) is before from_date ({start.isoformat()})",
            "body",
            "to_date",
        )
    store = get_store(request)
    with store.read() as conn:
        try:
            structure = runs.latest_version(conn, body.dag_id)[1]
        except NotFoundError:
            raise HTTPException(404, f"Could not find dag {body.dag_id}") from None
    _check_conf(request, body.dag_id, body.dag_run_conf or {}, structure)
    try:
        job = Backfill(
            store,
            body.dag_id,
            start,
            end,
            reprocess=REPROCESS[body.reprocess_behavior],
            max_active=body.max_active_runs,
            conf=body.dag_run_conf or {},
            triggering_user=user.username,
        )
    except (ConfigError, ValueError, OverflowError) as exc:
        raise HTTPException(400, str(exc)) from None
    if len(job.items) > MAX_RUNS:
        raise unprocessable(
            f"{len(job.items)} runs from {start.isoformat()} to {end.isoformat()}: at most "
            f"{MAX_RUNS} at once here (use conveyor backfill for more)",
            "body",
            "to_date",
        )
    return job


def _check_conf(
    request: Request, dag_id: str, conf: dict[str, Any], structure: SerializedDag
) -> None:
    try:
        check_conf(conf, get_settings(request).max_conf_bytes)
    except NotStrictJson as exc:
        raise unprocessable(str(exc), "body", "dag_run_conf") from None
    if errors := conf_errors(dag_id, structure.params, conf, structure.param_specs):
        raise unprocessable("; ".join(errors), "body", "dag_run_conf")


@router.post(
    "",
    openapi_extra=differs(
        "the runs run on the DAG's newest version; "
        "run_backwards and run_on_latest_version false are refused (422); a range whose dates"
        " all have runs is refused (409)"
    ),
)
def create_backfill(request: Request, body: BackfillPostBody, user: Editor) -> BackfillResponse:
    job = _plan(request, body, user)
    with get_store(request).read() as conn:
        going = store_backfills.going_on(conn, body.dag_id)
        running = going is not None and going.id not in store_backfills.ended_backfills(conn)
    if running:  # asked first, as Airflow: one backfill of a DAG at a time
        raise HTTPException(409, f"There is already a running backfill for dag {body.dag_id}")
    if not any(item.action in ("create", "clear") for item in job.items):
        raise HTTPException(
            409,
            f"nothing to backfill for {body.dag_id}: every date of its schedule from "
            f"{body.from_date.isoformat()} to {body.to_date.isoformat()} has a run already "
            "(reprocess_behavior failed or completed runs them again)",
        )
    try:
        backfill_id = job.create()
    except BackfillRunningError:
        raise HTTPException(
            409, f"There is already a running backfill for dag {body.dag_id}"
        ) from None
    audit_note(request, target=body.dag_id, created=sum(i.action == "create" for i in job.items))
    with get_store(request).read() as conn:
        made = store_backfills.get(conn, backfill_id)
    assert made is not None
    return _response(made)


@router.post(
    "/dry_run", openapi_extra=differs("lists the dates that would be created or run again")
)
def create_backfill_dry_run(
    request: Request, body: BackfillPostBody, user: Editor
) -> DryRunBackfillCollectionResponse:
    """The logical dates a backfill would create or run again; nothing is changed."""
    job = _plan(request, body, user)
    dates = [
        DryRunBackfillResponse(
            logical_date=utc(item.info.logical_date),
            partition_key=item.partition_key,
            partition_date=utc(item.info.logical_date) if item.partition_key else None,
        )
        for item in job.items
        if item.action in ("create", "clear")
    ]
    return DryRunBackfillCollectionResponse(backfills=dates, total_entries=len(dates))
