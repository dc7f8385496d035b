"""Backfill through the API (and the DAG page's form and backfills panel, which call here):
the runs of the DAG's schedule over a past range are recorded as one backfill and created at
once, queued, as ``conveyor backfill`` creates them (``conveyor.backfill``); the scheduler
then starts them ``max_active_runs`` at a time. A DAG's backfills are listed, paused,
unpaused and cancelled here too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor import backfill
from conveyor.backfill import Backfill, BackfillRunningError
from conveyor.exceptions import ConfigError, NotFoundError
from conveyor.lifecycle import Actor
from conveyor.model.params import conf_errors
from conveyor.store import backfills, runs
from conveyor.store.backfills import BackfillCompletedError, BackfillRow
from conveyor.store.engine import Connection
from conveyor.strict_json import NotStrictJson, check_conf
from conveyor.web import queries, schemas
from conveyor.web.api.common import AUTH, NOT_FOUND, DagId, DagOp, DagViewer
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store
from conveyor.web.strict_json import StrictDict

router = APIRouter(tags=["runs"], responses=AUTH)

#: A backfill's id in a path: the store's integer key, so a larger number is a 422, not a
#: database error.
BackfillId = Annotated[int, Path(ge=0, le=2**31 - 1, description="the backfill's id")]

#: Runs one request may create: a larger range is better run by ``conveyor backfill``.
MAX_RUNS = 1000
DATE_HINT = "use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], with an optional offset"


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str = Field(
        min_length=1,
        max_length=40,
        description="the first logical date (ISO 8601; without an offset: the DAG's time zone)",
    )
    end: str = Field(min_length=1, max_length=40, description="the last logical date, included")
    conf: StrictDict = Field(default_factory=dict, description="the conf of the runs created")
    reprocess: Literal["none", "failed", "all"] = Field(
        default="none",
        description="dates that have a run already: none keeps them, failed clears the "
        "failed tasks of failed runs, all clears every task of finished runs",
    )
    max_active_runs: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="its runs that may run at once (default: the DAG's max_active_runs)",
    )


class BackfillRun(BaseModel):
    run_id: str
    logical_date: datetime
    action: str = Field(description="created, cleared (runs again) or kept (left as it is)")


class BackfillResult(BaseModel):
    id: int = Field(description="the backfill's id (its record: GET /dags/{dag_id}/backfills)")
    dag_id: str
    start: datetime
    end: datetime
    reprocess: str
    created: int
    cleared: int
    kept: int
    runs: list[BackfillRun]


def _date(name: str, text: str, zone: ZoneInfo) -> datetime:
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(422, f"{name}: {text!r} is not a date; {DATE_HINT}") from None
    return found if found.tzinfo is not None else found.replace(tzinfo=zone)


def _check_conf(request: Request, dag_id: str, conf: dict[str, Any], structure: Any) -> None:
    try:
        check_conf(conf, get_settings(request).max_conf_bytes)
    except NotStrictJson as exc:
        raise HTTPException(422, f"conf: {exc}") from None
    errors = conf_errors(dag_id, structure.params, conf, structure.param_specs)
    if errors:
        raise HTTPException(422, "; ".join(errors))


@router.post(
    "/dags/{dag_id}/backfills",
    status_code=201,
    responses={**NOT_FOUND, 422: {"description": "bad dates, range, conf, or no schedule"}},
)
def create_backfill(
    request: Request, dag_id: DagId, body: BackfillRequest, user: DagOp
) -> BackfillResult:
    """Create the runs of the DAG's schedule with a logical date from ``start`` to ``end``
    (op). Dates with a run already are kept, or cleared to run again (``reprocess``)."""
    store = get_store(request)
    with store.read() as conn:
        _version, structure = runs.latest_version(conn, dag_id)
    zone = ZoneInfo(structure.raw.get("timezone") or "UTC")
    start, end = _date("start", body.start, zone), _date("end", body.end, zone)
    if end < start:
        raise HTTPException(422, f"end ({end.isoformat()}) is before start ({start.isoformat()})")
    _check_conf(request, dag_id, body.conf, structure)
    try:
        job = Backfill(
            store,
            dag_id,
            start,
            end,
            reprocess=body.reprocess,
            max_active=body.max_active_runs or structure.max_active_runs,
            conf=body.conf,
            triggering_user=user.username,
        )
    except (ConfigError, ValueError, OverflowError) as exc:
        raise HTTPException(422, str(exc)) from None
    if not job.items:
        raise HTTPException(
            422,
            f"the schedule of {dag_id!r} has no run from {start.isoformat()} to {end.isoformat()}",
        )
    if len(job.items) > MAX_RUNS:
        raise HTTPException(
            422,
            f"{len(job.items)} runs from {start.isoformat()} to {end.isoformat()}: at "
            f"most {MAX_RUNS} at once here (use conveyor backfill for more)",
        )
    try:
        job.create()
    except BackfillRunningError as exc:
        raise HTTPException(409, str(exc)) from None
    result = _result(request, dag_id, job, start, end)
    audit_note(request, dag_id, created=result.created, cleared=result.cleared, kept=result.kept)
    return result


def _result(
    request: Request, dag_id: str, job: Backfill, start: datetime, end: datetime
) -> BackfillResult:
    named = {"create": "created", "clear": "cleared", "keep": "kept"}
    found: list[BackfillRun] = []
    with get_store(request).read() as conn:
        for item in job.items:
            run_id = runs.get_run(conn, item.run_pk).run_id if item.run_pk is not None else "?"
            found.append(
                BackfillRun(
                    run_id=run_id, logical_date=item.info.logical_date, action=named[item.action]
                )
            )
    counts = {a: sum(1 for r in found if r.action == a) for a in named.values()}
    assert job.backfill_id is not None
    return BackfillResult(
        id=job.backfill_id,
        dag_id=dag_id,
        start=start,
        end=end,
        reprocess=job.reprocess,
        runs=found,
        **counts,
    )


@router.get("/dags/{dag_id}/backfills", responses=NOT_FOUND)
def list_backfills(request: Request, dag_id: DagId, user: DagViewer) -> schemas.BackfillList:
    """The DAG's backfills, newest first, with their runs counted by state."""
    with get_store(request).read() as conn:
        return queries.list_backfills(conn, dag_id)


def _act(
    request: Request,
    dag_id: str,
    backfill_id: int,
    action: Callable[[Connection, int], BackfillRow],
) -> schemas.BackfillInfo:
    """One action on one of the DAG's backfills; a completed one is refused (409)."""
    with get_store(request).write() as conn:
        found = backfills.get(conn, backfill_id)
        if found is None or found.dag_id != dag_id:
            raise NotFoundError(f"DAG {dag_id!r} has no backfill {backfill_id}")
        try:
            done = action(conn, backfill_id)
        except BackfillCompletedError as exc:
            raise HTTPException(409, str(exc)) from None
        [shown] = queries.backfill_infos(conn, [done])
    audit_note(request, dag_id, backfill_id=backfill_id)
    return shown


_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "the backfill is completed already"}
}


@router.post("/dags/{dag_id}/backfills/{backfill_id}/pause", responses={**NOT_FOUND, **_CONFLICT})
def pause_backfill(
    request: Request, dag_id: DagId, backfill_id: BackfillId, user: DagOp
) -> schemas.BackfillInfo:
    """Pause a backfill (op): its queued runs wait, its running runs go on."""
    return _act(request, dag_id, backfill_id, backfill.pause)


@router.post("/dags/{dag_id}/backfills/{backfill_id}/unpause", responses={**NOT_FOUND, **_CONFLICT})
def unpause_backfill(
    request: Request, dag_id: DagId, backfill_id: BackfillId, user: DagOp
) -> schemas.BackfillInfo:
    """Unpause a backfill (op): its queued runs start again, max_active_runs at a time."""
    return _act(request, dag_id, backfill_id, backfill.unpause)


@router.post("/dags/{dag_id}/backfills/{backfill_id}/cancel", responses={**NOT_FOUND, **_CONFLICT})
def cancel_backfill(
    request: Request, dag_id: DagId, backfill_id: BackfillId, user: DagOp
) -> schemas.BackfillInfo:
    """Cancel a backfill (op): it is paused, its runs not started fail, its running runs go
    on, and it is completed."""
    actor = Actor(f"user:{user.username}")
    return _act(request, dag_id, backfill_id, lambda conn, i: backfill.cancel(conn, i, actor))
