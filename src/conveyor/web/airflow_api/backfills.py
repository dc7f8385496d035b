"""``/api/v2/backfills``: Airflow's backfill routes over Conveyor's backfill.

Creating one makes every run of the DAG's schedule from ``from_date`` to ``to_date`` at
once, as ``/api/v1``'s backfill does (``conveyor.backfill``); the scheduler starts them
within the DAG's ``max_active_runs``. Dates that have a run are kept, or cleared to run
again (``reprocess_behavior`` ``failed`` or ``completed``). A backfill is the group of runs
it created (see ``store.reads.backfill_runs``); its id is the key of its first run.

Differences, each refused loudly rather than ignored: a backfill cannot be paused alone
(409: pause the DAG, or cancel it), runs are not made newest first (``run_backwards``),
they run on the DAG's newest version, and the DAG's ``max_active_runs`` limits them (the
answer says which). Cancelling fails the backfill's runs that have not started, as Airflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor.backfill import Backfill
from conveyor.clock import utcnow
from conveyor.exceptions import ConfigError, NotFoundError
from conveyor.lifecycle import Actor
from conveyor.model.params import conf_errors
from conveyor.serialized import SerializedDag
from conveyor.states import RunState, TaskState
from conveyor.store import manual, runs, transitions
from conveyor.store.reads import backfill_runs
from conveyor.store.reads.backfill_runs import BackfillGroup
from conveyor.strict_json import NotStrictJson, check_conf
from conveyor.web.airflow_api.common import (
    EDIT,
    Editor,
    Limit,
    Offset,
    OrderBy,
    Page,
    Reader,
    aware,
    dag_visible,
    require_dag,
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
AIRFLOW_REPROCESS = {v: k for k, v in REPROCESS.items()}
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


class BackfillResponse(BaseModel):
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
    dag_display_name: str


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


def _span(group: BackfillGroup) -> tuple[datetime, datetime, str]:
    """From, to and reprocess, out of the creator's name the runs carry."""
    rest = group.created_by.removeprefix(f"backfill:{group.dag_id}:")
    span, _, reprocess = rest.rpartition(":")
    start, _, end = span.partition("..")
    return datetime.fromisoformat(start), datetime.fromisoformat(end), reprocess


def _response(group: BackfillGroup, max_active_runs: int) -> BackfillResponse:
    start, end, reprocess = _span(group)
    return BackfillResponse(
        id=group.id,
        dag_id=group.dag_id,
        from_date=utc(start) or start,
        to_date=utc(end) or end,
        dag_run_conf=group.conf,
        is_paused=False,
        reprocess_behavior=AIRFLOW_REPROCESS.get(reprocess, "none"),  # type: ignore[arg-type]
        max_active_runs=max_active_runs,
        created_at=utc(group.created_at) or group.created_at,
        completed_at=utc(group.last_end) if group.completed else None,
        updated_at=utc(group.updated_at) or group.updated_at,
        dag_display_name=group.dag_id,
    )


def _max_active(request: Request, dag_id: str) -> int:
    with get_store(request).read() as conn:
        try:
            return runs.latest_version(conn, dag_id)[1].max_active_runs
        except NotFoundError:
            return 0  # the DAG is gone: its backfill's runs stay readable


def _group(request: Request, backfill_id: int, user: User) -> BackfillGroup:
    with get_store(request).read() as conn:
        found = backfill_runs.list_groups(conn, group_id=backfill_id)
    if not found or not dag_visible(user, found[0].dag_id):
        # A backfill of a DAG the caller may not read does not exist for them either.
        raise HTTPException(404, NOT_FOUND)
    return found[0]


ORDER_FIELDS: dict[str, Any] = {
    "id": lambda g: g.id,
    "dag_id": lambda g: g.dag_id,
    "created_at": lambda g: g.created_at,
    "updated_at": lambda g: g.updated_at,
    "completed_at": lambda g: g.last_end if g.completed else None,
    "from_date": lambda g: _span(g)[0],
    "to_date": lambda g: _span(g)[1],
}


@router.get(
    "",
    response_model=BackfillCollectionResponse,
    operation_id="list_backfills",
    openapi_extra=differs(
        "a backfill is the group of runs it created; its id is its first run's key"
    ),
)
def list_backfills(
    request: Request,
    user: Reader,
    dag_id: Annotated[str, Query(max_length=250)],
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
) -> BackfillCollectionResponse:
    page = Page.of(limit, offset, order_by, "id")
    with get_store(request).read() as conn:
        found = backfill_runs.list_groups(conn, dag_id=None if dag_id == "~" else dag_id)
        hidden = hidden_dag_ids(conn, user)
    found = [g for g in found if g.dag_id not in hidden]
    limits = {d: _max_active(request, d) for d in {g.dag_id for g in found}}
    return BackfillCollectionResponse(
        backfills=[_response(g, limits[g.dag_id]) for g in page.apply(found, ORDER_FIELDS)],
        total_entries=len(found),
    )


@router.get(
    "/{backfill_id}",
    response_model=BackfillResponse,
    operation_id="get_backfill",
    openapi_extra=differs(
        "a backfill is the group of runs it created; its id is its first run's key"
    ),
)
def get_backfill(request: Request, backfill_id: BackfillId, user: Reader) -> BackfillResponse:
    group = _group(request, backfill_id, user)
    return _response(group, _max_active(request, group.dag_id))


def _no_pause(request: Request, backfill_id: int, user: User) -> BackfillResponse:
    group = _group(request, backfill_id, user)
    if group.completed:
        raise HTTPException(409, "Backfill is already completed.")
    raise HTTPException(
        409,
        "Conveyor does not pause a backfill alone: its runs were all created at once and "
        "start within the DAG's max_active_runs. Pause the DAG to hold them "
        f"(PATCH /api/v2/dags/{group.dag_id} with is_paused true), or cancel the backfill "
        f"(PUT /api/v2/backfills/{backfill_id}/cancel)",
    )


@router.put(
    "/{backfill_id}/pause",
    response_model=BackfillResponse,
    operation_id="pause_backfill",
    openapi_extra=differs("refused (409): pause the DAG, or cancel the backfill"),
)
def pause_backfill(request: Request, backfill_id: BackfillId, user: Editor) -> BackfillResponse:
    return _no_pause(request, backfill_id, user)


@router.put(
    "/{backfill_id}/unpause",
    response_model=BackfillResponse,
    operation_id="unpause_backfill",
    openapi_extra=differs("refused (409): pause the DAG, or cancel the backfill"),
)
def unpause_backfill(request: Request, backfill_id: BackfillId, user: Editor) -> BackfillResponse:
    return _no_pause(request, backfill_id, user)


@router.put(
    "/{backfill_id}/cancel",
    response_model=BackfillResponse,
    operation_id="cancel_backfill",
    name="cancel_backfill",
)
def cancel_backfill(request: Request, backfill_id: BackfillId, user: Editor) -> BackfillResponse:
    """The backfill's runs that have not started (queued) are marked failed, as Airflow's
    cancel does; those running go on."""
    group = _group(request, backfill_id, user)
    require_dag(user, group.dag_id, EDIT)
    if group.completed:
        raise HTTPException(409, "Backfill is already completed.")
    actor = Actor(f"user:{user.username}")
    with get_store(request).write() as conn:
        for run in backfill_runs.runs_of(conn, group):
            if run.state != RunState.QUEUED.value:
                continue
            manual.mark_run(conn, group.dag_id, run.run_id, TaskState.FAILED, actor)
            # A run that never started may have no task instance to mark: it fails itself.
            transitions.move_run(
                conn,
                run.id,
                expected=[RunState.QUEUED],
                to=RunState.FAILED,
                values={"end_date": utcnow(), "note": f"backfill cancelled by {user.username}"},
            )
    audit_note(request, target=group.dag_id, backfill_id=backfill_id)
    with get_store(request).read() as conn:
        found = backfill_runs.list_groups(conn, group_id=backfill_id)
    return _response(found[0] if found else group, _max_active(request, group.dag_id))


def _plan(request: Request, body: BackfillPostBody, user: User) -> Backfill:
    """The backfill the body asks for, checked; 4xx naming what is wrong."""
    require_dag(user, body.dag_id, EDIT)
    if body.run_backwards:
        raise HTTPException(
            422, "run_backwards: Conveyor creates a backfill's runs oldest first; leave it false"
        )
    if body.run_on_latest_version is False:
        raise HTTPException(
            422, "run_on_latest_version: Conveyor's backfills run the DAG's newest version"
        )
    start = aware("from_date", body.from_date)
    end = aware("to_date", body.to_date)
    assert start is not None and end is not None
    if end < start:
        raise HTTPException(
            422, f"to_date ({end.isoformat()}) is before from_date ({start.isoformat()})"
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
            max_active=MAX_RUNS + 1,
            conf=body.dag_run_conf or {},
        )
    except (ConfigError, ValueError, OverflowError) as exc:
        raise HTTPException(400, str(exc)) from None
    if len(job.items) > MAX_RUNS:
        raise HTTPException(
            422,
            f"{len(job.items)} runs from {start.isoformat()} to {end.isoformat()}: at most "
            f"{MAX_RUNS} at once here (use conveyor backfill for more)",
        )
    return job


def _check_conf(
    request: Request, dag_id: str, conf: dict[str, Any], structure: SerializedDag
) -> None:
    try:
        check_conf(conf, get_settings(request).max_conf_bytes)
    except NotStrictJson as exc:
        raise HTTPException(422, f"dag_run_conf: {exc}") from None
    if errors := conf_errors(dag_id, structure.params, conf, structure.param_specs):
        raise HTTPException(422, "dag_run_conf: " + "; ".join(errors))


@router.post(
    "",
    response_model=BackfillResponse,
    operation_id="create_backfill",
    openapi_extra=differs(
        "the runs are created at once and the DAG's max_active_runs limits them; "
        "run_backwards and run_on_latest_version false are refused (422); a range whose dates"
        " all have runs is refused (409)"
    ),
    name="create_backfill",
)
def create_backfill(request: Request, body: BackfillPostBody, user: Editor) -> BackfillResponse:
    job = _plan(request, body, user)
    with get_store(request).read() as conn:
        running = [
            g for g in backfill_runs.list_groups(conn, dag_id=body.dag_id) if not g.completed
        ]
    if running:
        raise HTTPException(409, f"There is already a running backfill for dag {body.dag_id}")
    if not any(item.action == "create" for item in job.items):
        raise HTTPException(
            409,
            f"nothing to backfill for {body.dag_id}: every date of its schedule from "
            f"{body.from_date.isoformat()} to {body.to_date.isoformat()} has a run already "
            "(clear them to run them again: POST /api/v2/dags/{dag_id}/clearTaskInstances)",
        )
    job.feed()
    audit_note(request, target=body.dag_id, created=sum(i.action == "create" for i in job.items))
    with get_store(request).read() as conn:
        made = [
            g
            for g in backfill_runs.list_groups(conn, dag_id=body.dag_id)
            if g.created_by == job.actor.name
        ]
    return _response(made[0], job.structure.max_active_runs)


@router.post(
    "/dry_run",
    response_model=DryRunBackfillCollectionResponse,
    operation_id="create_backfill_dry_run",
    openapi_extra=differs("lists the dates that would be created or run again"),
)
def create_backfill_dry_run(
    request: Request, body: BackfillPostBody, user: Editor
) -> DryRunBackfillCollectionResponse:
    """The logical dates a backfill would create or run again; nothing is changed."""
    job = _plan(request, body, user)
    dates = [
        DryRunBackfillResponse(logical_date=utc(item.info.logical_date))
        for item in job.items
        if item.action in ("create", "clear")
    ]
    return DryRunBackfillCollectionResponse(backfills=dates, total_entries=len(dates))
