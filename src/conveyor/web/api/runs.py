"""Runs: list with filters and paging, trigger (conf checked against params), detail, delete,
clear and mark."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request

from conveyor.engine import manual
from conveyor.engine.bulk_manual import RunRef
from conveyor.logs import delete_try_logs
from conveyor.run_ids import RULE, InvalidRunId, run_id_problem
from conveyor.states import RunStateName, TaskState
from conveyor.store import run_deletion, trigger
from conveyor.store.reads.runs import RUN_ORDERS, RunFilter, Window
from conveyor.web import queries, schemas
from conveyor.web.api import listing
from conveyor.web.api.common import AUTH, MAX_INT, NOT_FOUND, DagId, DagOp, DagViewer, RunId
from conveyor.web.api.tasks import ACTION, act
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.dag_access import readable_dag_ids
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["runs"], responses=AUTH)

StateFilter = RunStateName
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many runs")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="skip this many (newest first)")]


@router.get("/runs")
def list_all_runs(
    request: Request,
    user: DagViewer,
    dates: Annotated[Window, Depends(listing.window)],
    state: listing.States = None,
    dag_id: listing.OneDag = None,
    dag_id_pattern: listing.Part = None,
    run_type: listing.States = None,
    order_by: Annotated[
        str,
        Query(
            max_length=20,
            description="id, logical_date, start_date, end_date or dag_id; "
            "'-' first for descending",
        ),
    ] = "-id",
    limit: Limit = 25,
    offset: Offset = 0,
) -> schemas.RunList:
    """Runs of every DAG, newest first; filter by state, DAG, run type (scheduled, manual,
    backfill, dataset_triggered), dates; ``total`` counts all."""
    where = RunFilter(
        dag_id=dag_id,
        dag_id_pattern=dag_id_pattern,
        states=listing.states(state, listing.RUN_STATES, "run"),
        window=dates,
        dag_ids=readable_dag_ids(request, user),
        run_types=listing.states(run_type, listing.RUN_TYPES, "run", "run_type"),
    )
    order = listing.order(order_by, RUN_ORDERS, "runs")
    with get_store(request).read() as conn:
        return queries.list_runs(conn, None, where=where, order=order, limit=limit, offset=offset)


@router.get("/dags/{dag_id}/runs", responses=NOT_FOUND)
def list_runs(
    request: Request,
    dag_id: DagId,
    user: DagViewer,
    state: StateFilter | None = None,
    limit: Limit = 25,
    offset: Offset = 0,
) -> schemas.RunList:
    """A DAG's runs, newest first; ``total`` counts every run that matches the filter."""
    with get_store(request).read() as conn:
        return queries.list_runs(conn, dag_id, state=state, limit=limit, offset=offset)


@router.post(
    "/dags/{dag_id}/runs",
    status_code=201,
    responses={
        **NOT_FOUND,
        409: {"description": "a run with this run_id exists"},
        422: {"description": "conf does not match the DAG's params"},
    },
)
def trigger_run(
    request: Request, dag_id: DagId, body: schemas.TriggerRun, user: DagOp
) -> schemas.RunDetail:
    """Queue a manual run (op). ``conf`` is checked against the DAG's params first."""
    if body.logical_date is not None and body.logical_date.tzinfo is None:
        raise HTTPException(422, "logical_date: give a time zone, e.g. 2026-01-01T00:00:00Z")
    store = get_store(request)
    try:
        with store.write() as conn:
            run = trigger.trigger_run(
                conn,
                dag_id,
                created_by=f"user:{user.username}",
                conf=body.conf,
                logical_date=body.logical_date,
                run_id=body.run_id,
                max_conf_bytes=get_settings(request).max_conf_bytes,
            )
    except InvalidRunId:
        raise HTTPException(422, f"run_id: {run_id_problem(body.run_id)}; {RULE}") from None
    except (trigger.ConfRefused, trigger.LogicalDateRefused) as exc:
        raise HTTPException(422, str(exc)) from None
    except trigger.RunExists as exc:
        raise HTTPException(409, str(exc)) from None
    audit_note(request, f"{dag_id}/{run.run_id}")
    with store.read() as conn:
        return queries.get_run(conn, dag_id, run.run_id)


@router.get("/dags/{dag_id}/runs/{run_id}", responses=NOT_FOUND)
def get_run(request: Request, dag_id: DagId, run_id: RunId, user: DagViewer) -> schemas.RunDetail:
    """One run, with how many of its task instances are in each state."""
    with get_store(request).read() as conn:
        return queries.get_run(conn, dag_id, run_id)


@router.delete(
    "/dags/{dag_id}/runs/{run_id}",
    responses={**NOT_FOUND, 409: {"description": "the run is queued or running"}},
)
def delete_run(
    request: Request, dag_id: DagId, run_id: RunId, user: DagOp, after: BackgroundTasks
) -> schemas.DeletedRun:
    """Delete a finished run with its task instances, tries, timeline, XComs and logs (op).

    A queued or running run is refused (409): mark its task instances failed first.
    """
    try:
        with get_store(request).write() as conn:
            gone = run_deletion.delete_run(conn, dag_id, run_id)
    except run_deletion.RunNotFinished as exc:
        raise HTTPException(409, str(exc)) from None
    # Once the answer is sent, so after the commit: a log without its run is harmless.
    after.add_task(delete_try_logs, get_settings(request), gone.log_paths)
    counts = gone.deleted.as_dict()
    return schemas.DeletedRun(
        dag_id=dag_id,
        run_id=run_id,
        deleted={k: v for k, v in counts.items() if k not in ("local_logs", "remote_logs")},
    )


@router.post("/dags/{dag_id}/runs/{run_id}/clear", **ACTION)
def clear_run(
    request: Request, dag_id: DagId, run_id: RunId, body: schemas.RunClearRequest, user: DagOp
) -> schemas.ActionResult:
    """Clear every task instance of the run, or only the failed ones, so they run again (op);
    ``dry_run``: only say what would change."""
    return act(
        request,
        user,
        RunRef(dag_id, run_id),
        body.dry_run,
        lambda conn, actor: manual.clear_tasks(
            conn, dag_id, run_id, None, actor, only_failed=body.only_failed
        ),
    )


@router.post("/dags/{dag_id}/runs/{run_id}/mark", **ACTION)
def mark_run(
    request: Request, dag_id: DagId, run_id: RunId, body: schemas.MarkRequest, user: DagOp
) -> schemas.ActionResult:
    """Mark the run success (every task) or failed (every unfinished task) (op); ``dry_run``:
    only say what would change."""
    return act(
        request,
        user,
        RunRef(dag_id, run_id),
        body.dry_run,
        lambda conn, actor: manual.mark_run(conn, dag_id, run_id, TaskState(body.state), actor),
    )
