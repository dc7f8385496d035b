"""Backfill through the API (and the DAG page's form, which posts here): the runs of the
DAG's schedule over a past range are created at once, as ``conveyor backfill`` would create
them (``conveyor.backfill``); the scheduler then starts them within ``max_active_runs``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor.backfill import Backfill
from conveyor.exceptions import ConfigError
from conveyor.model.params import conf_errors
from conveyor.store import runs
from conveyor.strict_json import NotStrictJson, check_conf
from conveyor.web.api.common import AUTH, NOT_FOUND, DagId, DagOp
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store
from conveyor.web.strict_json import StrictDict

router = APIRouter(tags=["runs"], responses=AUTH)

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


class BackfillRun(BaseModel):
    run_id: str
    logical_date: datetime
    action: str = Field(description="created, cleared (runs again) or kept (left as it is)")


class BackfillResult(BaseModel):
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
    response_model=BackfillResult,
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
            max_active=MAX_RUNS + 1,
            conf=body.conf,
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
    job.feed()
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
    return BackfillResult(
        dag_id=dag_id, start=start, end=end, reprocess=job.reprocess, runs=found, **counts
    )
