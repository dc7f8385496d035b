"""``/api/v2/dags/{dag_id}/dagRuns``: list (``~``: every DAG), batch list, get, trigger,
patch state and note, clear (with ``dry_run``), delete."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request, Response

from conveyor.engine import manual
from conveyor.engine.bulk_manual import RunRef
from conveyor.lifecycle import Actor
from conveyor.logs import delete_try_logs
from conveyor.run_ids import RULE, InvalidRunId, run_id_problem
from conveyor.states import RunState, TaskState
from conveyor.store import notes, run_deletion, trigger
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.runs import latest_version
from conveyor.web import audit_trail
from conveyor.web.airflow_api.common import (
    ALL,
    EDIT,
    DagIdPath,
    Editor,
    Page,
    Pattern,
    Reader,
    RunIdPath,
    TextFilters,
    aware,
    bounds,
    paged,
    require_dag,
    text_filters,
    unprocessable,
)
from conveyor.web.airflow_api.run_clears import clear_or_preview
from conveyor.web.airflow_api.run_listing import TEXT_FIELDS, RunQuery, list_runs
from conveyor.web.airflow_api.run_shapes import (
    DAGRunClearBody,
    DAGRunCollectionResponse,
    DAGRunPatchBody,
    DAGRunResponse,
    DAGRunsBatchBody,
    TriggerDAGRunPostBody,
    dag_run_response,
    refuse_other_versions,
)
from conveyor.web.airflow_api.ti_shapes import (
    ClearTaskInstanceCollectionResponse,
)
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["DagRun"])

Names = Annotated[list[str] | None, Query(max_length=50)]


def _dag_ids(conn: Connection, user: User, dag_id: str) -> tuple[str, ...] | None:
    """``(dag_id,)`` for one DAG (404 if unknown, 403 if not the user's), None for ``~``."""
    if dag_id == ALL:
        return None
    require_dag(user, dag_id)
    dag_reads.get_dag(conn, dag_id)
    return (dag_id,)


@router.get("/dags/{dag_id}/dagRuns")
def get_dag_runs(
    request: Request,
    dag_id: DagIdPath,
    user: Reader,
    dates: Annotated[
        dict[str, Any],
        Depends(bounds("run_after", "logical_date", "start_date", "end_date", "updated_at")),
    ],
    durations: Annotated[dict[str, Any], Depends(bounds("duration", kind=float))],
    texts: Annotated[TextFilters, Depends(text_filters(*TEXT_FIELDS))],
    page: Annotated[Page, Depends(paged("id"))],
    conf_contains: Annotated[str | None, Query(max_length=1000)] = None,
    run_type: Names = None,
    state: Names = None,
    dag_version: Annotated[list[int] | None, Query()] = None,
    bundle_version: Pattern = None,
    consuming_asset_pattern: Pattern = None,
    partition_date_gte: date | None = None,
    partition_date_lte: date | None = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> DAGRunCollectionResponse:
    """A DAG's runs, or with ``~`` every DAG's, filtered and ordered as Airflow's; paged by
    ``offset`` or, with ``cursor``, by keyset."""
    with get_store(request).read() as conn:
        dag_ids = _dag_ids(conn, user, dag_id)
        if partition_date_gte is not None or partition_date_lte is not None:
            dates = {
                **dates,
                **_partition_days(conn, dag_id, partition_date_gte, partition_date_lte),
            }
        query = RunQuery(
            dag_ids=dag_ids,
            states=_states(state),
            bounds=dates,
            durations=durations,
            run_types=tuple(run_type or ()),
            texts=texts,
            conf_contains=conf_contains,
            dag_versions=tuple(dag_version or ()),
            bundle_version=bundle_version,
            consuming_asset_pattern=consuming_asset_pattern,
        )
        found = list_runs(conn, user, query, page, cursor)
        return DAGRunCollectionResponse(
            dag_runs=[dag_run_response(conn, r) for r in found.items],
            total_entries=found.total,
            total_entries_limit=found.total_limit,
            next_cursor=found.next_cursor,
            previous_cursor=found.previous_cursor,
        )


def _partition_days(
    conn: Connection, dag_id: str, first: date | None, last: date | None
) -> dict[str, datetime]:
    """``partition_date_gte`` / ``_lte`` as bounds: whole calendar days, read as the DAG's
    timetable reads a partition's wall clock (the last day up to the next midnight, that
    midnight left out). Only for one partitioned DAG, as Airflow: a runtime-partitioned
    DAG's runs have no date, so the filter would match nothing silently."""
    if dag_id == ALL:
        raise HTTPException(
            400, "partition_date_gte and partition_date_lte require a specific dag_id."
        )
    schedule = latest_version(conn, dag_id)[1].schedule
    if not schedule.partitioned:
        raise HTTPException(
            400,
            f"Dag with dag_id: '{dag_id}' is not partitioned; partition_date_gte and "
            "partition_date_lte are not supported.",
        )
    bounds: dict[str, datetime] = {}
    if first is not None:
        start = datetime.combine(first, time.min)
        bounds["partition_date_gte"] = schedule.localize_partition_datetime(start)
    if last is not None:
        end = datetime.combine(last + timedelta(days=1), time.min)
        bounds["partition_date_lt"] = schedule.localize_partition_datetime(end)
    return bounds


def _states(given: list[str] | None) -> tuple[str, ...]:
    found = tuple(s for value in given or () for s in value.split(",") if s)
    wrong = [s for s in found if s not in frozenset(RunState)]
    if wrong:
        raise unprocessable(
            f"{', '.join(wrong)} is not a DAG run state ({', '.join(RunState)})",
            "query",
            "state",
        )
    return found


@router.post("/dags/{dag_id}/dagRuns/list")
def get_list_dag_runs_batch(
    request: Request, dag_id: DagIdPath, body: DAGRunsBatchBody, user: Reader
) -> DAGRunCollectionResponse:
    """Runs of the DAGs the body names (the path's DAG is ``~``), filtered by the body."""
    page = Page.of(
        body.page_limit, body.page_offset, [body.order_by] if body.order_by else None, "id"
    )
    with get_store(request).read() as conn:
        dag_ids = _dag_ids(conn, user, dag_id)
        if body.dag_ids:
            dag_ids = tuple(d for d in body.dag_ids if dag_ids is None or d in dag_ids)
        query = RunQuery(
            dag_ids=dag_ids,
            states=tuple(s for s in body.states or () if s),
            bounds=body.date_bounds(),
            durations=body.duration_bounds(),
            conf_contains=body.conf_contains,
        )
        found = list_runs(conn, user, query, page)
        return DAGRunCollectionResponse(
            dag_runs=[dag_run_response(conn, r) for r in found.items], total_entries=found.total
        )


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}")
def get_dag_run(
    request: Request, dag_id: DagIdPath, dag_run_id: RunIdPath, user: Reader
) -> DAGRunResponse:
    require_dag(user, dag_id)
    with get_store(request).read() as conn:
        return dag_run_response(conn, run_reads.get_run(conn, dag_id, dag_run_id))


@router.post("/dags/{dag_id}/dagRuns", name="trigger_run")
def trigger_dag_run(
    request: Request, dag_id: DagIdPath, body: TriggerDAGRunPostBody, user: Editor
) -> DAGRunResponse:
    """Queue a manual run (``conf`` checked against the DAG's params; ``logical_date`` null:
    now). Answers 200 with the run, as Airflow does."""
    require_dag(user, dag_id, EDIT)
    run_id = queue_on_demand_run(
        request,
        dag_id,
        body,
        user,
        refused_because="Conveyor sets a manual run's interval and due time from its "
        "logical_date; send logical_date only",
    )
    audit_note(request, f"{dag_id}/{run_id}")
    with get_store(request).read() as conn:
        return dag_run_response(conn, run_reads.get_run(conn, dag_id, run_id))


class _OnDemandRunBody(Protocol):
    """What a trigger's body and an asset materialization's body both carry."""

    @property
    def dag_run_id(self) -> str | None: ...

    @property
    def logical_date(self) -> datetime | None: ...

    @property
    def conf(self) -> dict[str, Any] | None: ...

    @property
    def note(self) -> str | None: ...

    @property
    def data_interval_start(self) -> datetime | None: ...

    @property
    def data_interval_end(self) -> datetime | None: ...

    @property
    def run_after(self) -> datetime | None: ...

    @property
    def partition_key(self) -> str | None: ...


def queue_on_demand_run(
    request: Request,
    dag_id: str,
    body: _OnDemandRunBody,
    user: User,
    *,
    refused_because: str,
    run_type: str = "manual",
    run_id_prefix: str | None = None,
) -> str:
    """Queue a run of ``dag_id`` as ``body`` asks (its note set with it) and answer its run
    id; the fields Conveyor sets itself are a 400 saying ``refused_because``, a bad run id,
    conf or logical date a 400, an existing run a 409."""
    for name in ("data_interval_start", "data_interval_end", "run_after"):
        if getattr(body, name) is not None:
            raise HTTPException(400, f"{name}: {refused_because}")
    logical_date = aware("logical_date", body.logical_date, "body")
    try:
        with get_store(request).write() as conn:
            run = trigger.trigger_run(
                conn,
                dag_id,
                created_by=f"user:{user.username}",
                conf=body.conf,
                logical_date=logical_date,
                run_id=body.dag_run_id,
                max_conf_bytes=get_settings(request).max_conf_bytes,
                run_type=run_type,
                run_id_prefix=run_id_prefix,
                partition_key=body.partition_key,
            )
            if body.note:
                notes.set_run_note(conn, dag_id, run.run_id, body.note)
    except InvalidRunId:
        raise HTTPException(400, f"dag_run_id: {run_id_problem(body.dag_run_id)}; {RULE}") from None
    except (trigger.ConfRefused, trigger.LogicalDateRefused) as exc:
        raise HTTPException(400, str(exc)) from None
    except trigger.RunExists as exc:
        raise HTTPException(409, str(exc)) from None
    return run.run_id


@router.patch("/dags/{dag_id}/dagRuns/{dag_run_id}")
def patch_dag_run(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    body: DAGRunPatchBody,
    user: Editor,
    update_mask: Annotated[list[str] | None, Query(max_length=10)] = None,
) -> DAGRunResponse:
    """Mark the run success (every task) or failed (every unfinished task), and/or set its
    note. ``queued`` is refused: clear the run instead, so its tasks run again."""
    require_dag(user, dag_id, EDIT)
    given = body.model_fields_set
    fields = set(update_mask) if update_mask else given
    unknown = fields - {"state", "note"}
    if unknown:
        raise HTTPException(400, f"Invalid fields to update: {sorted(unknown)}")
    if "state" in fields and body.state == "queued":
        raise HTTPException(
            400,
            "state: Conveyor does not set a run back to queued alone; clear it (POST "
            f"/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/clear) to run its tasks again",
        )
    store = get_store(request)
    with store.write() as conn:
        if "state" in fields and body.state is not None:
            manual.mark_run(
                conn, dag_id, dag_run_id, TaskState(body.state), Actor(f"user:{user.username}")
            )
        if "note" in fields:
            notes.set_run_note(conn, dag_id, dag_run_id, body.note)
    with store.read() as conn:
        return dag_run_response(conn, run_reads.get_run(conn, dag_id, dag_run_id))


@router.post(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/clear",
    response_model=ClearTaskInstanceCollectionResponse | DAGRunResponse,
    name="clear_run",
)
def clear_dag_run(
    request: Request, dag_id: DagIdPath, dag_run_id: RunIdPath, body: DAGRunClearBody, user: Editor
) -> Any:
    """Clear the run's task instances (or only the failed ones) so they run again. With
    ``dry_run`` (the default, as Airflow's) nothing changes: the answer lists the task
    instances that would be cleared."""
    require_dag(user, dag_id, EDIT)
    refuse_other_versions(body.only_new, body.run_on_latest_version)
    store = get_store(request)
    actor = Actor(f"user:{user.username}")
    if body.dry_run:
        audit_trail.note_each(request, [])  # a preview changes nothing: no audit entry
    refs = [RunRef(dag_id, dag_run_id)]
    preview = clear_or_preview(store, refs, actor, body.only_failed, body.note, body.dry_run)
    if preview is not None:
        return preview
    with store.read() as conn:
        return dag_run_response(conn, run_reads.get_run(conn, dag_id, dag_run_id))


@router.delete("/dags/{dag_id}/dagRuns/{dag_run_id}", status_code=204, name="delete_run")
def delete_dag_run(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    user: Editor,
    after: BackgroundTasks,
) -> Response:
    """Delete a finished run with its task instances, tries, XComs and logs; a queued or
    running one is refused (409): mark it failed first."""
    require_dag(user, dag_id, EDIT)
    try:
        with get_store(request).write() as conn:
            gone = run_deletion.delete_run(conn, dag_id, dag_run_id)
    except run_deletion.RunNotFinished as exc:
        raise HTTPException(409, str(exc)) from None
    after.add_task(delete_try_logs, get_settings(request), gone.log_paths)
    return Response(status_code=204, background=after)
