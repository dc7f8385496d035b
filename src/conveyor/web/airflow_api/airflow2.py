"""Airflow 2's stable REST API (``/api/v1``) for what teams script: trigger a run, follow
its state, list its task instances, clear them, pause a DAG, read and set variables.

Conveyor's own API is at ``/api/v1`` too; both stay, told apart without moving either
(docs/api.md, "Airflow 2 callers"):

- paths Conveyor's API does not have (``/dags/{id}/dagRuns...``, ``clearTaskInstances``,
  ``POST /variables``, ``PATCH /variables/{key}``) are served here for every caller;
- on paths both have (``GET /dags``, ``/dags/{id}``, ``/variables``, ``/variables/{key}``,
  ``/health``, ``/version``), a request with ``Authorization: Basic`` (how Airflow 2
  scripts sign in; Conveyor's clients send session cookies or bearer tokens) is served
  here, any other by Conveyor's own API.

Each route calls the ``/api/v2`` route that does the same and renames what Airflow 2 named
otherwise (``execution_date``, ``external_trigger``, the clear's references), so the roles,
checks and audit of the two are one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import Match, Mount
from starlette.types import Scope

from conveyor import __version__
from conveyor.states import RunPatchStateName
from conveyor.web.airflow_api import (
    _add_error_handlers,
    clear_task_instances,
    dag_runs,
    dags,
    monitor,
    task_instances,
    variables,
)
from conveyor.web.airflow_api.common import (
    Administrator,
    DagIdPath,
    Editor,
    Offset,
    Operator,
    Page,
    Reader,
    RunIdPath,
    TaskIdPath,
)
from conveyor.web.airflow_api.dag_shapes import DAGPatchBody
from conveyor.web.airflow_api.run_shapes import (
    DAGRunClearBody,
    DAGRunPatchBody,
    DAGRunResponse,
    TriggerDAGRunPostBody,
)
from conveyor.web.airflow_api.ti_shapes import ClearTaskInstancesBody, TaskInstanceResponse
from conveyor.web.strict_json import StrictDict

router = APIRouter()
Limit = Annotated[int, Query(ge=0, le=2**31 - 1)]


class DAGRun(BaseModel):
    dag_run_id: str
    dag_id: str
    logical_date: datetime | None
    execution_date: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    last_scheduling_decision: datetime | None
    run_type: str
    state: str
    external_trigger: bool
    conf: dict[str, Any]
    note: str | None


class DAGRunCollection(BaseModel):
    dag_runs: list[DAGRun]
    total_entries: int


class TriggerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dag_run_id: str | None = Field(default=None, min_length=1, max_length=250)
    logical_date: datetime | None = None
    execution_date: datetime | None = None
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    conf: StrictDict | None = None
    note: str | None = Field(default=None, max_length=1000)


class RunStateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: RunPatchStateName


class ClearRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = True


class ClearBody(BaseModel):
    """Airflow 2's clear body: its SubDAG options are refused when true (no SubDAGs)."""

    model_config = ConfigDict(extra="forbid")
    dry_run: bool = True
    task_ids: list[Annotated[str, Field(max_length=250)]] | None = Field(
        default=None, max_length=1000
    )
    start_date: datetime | None = None
    end_date: datetime | None = None
    only_failed: bool = True
    only_running: bool = False
    include_subdags: bool = False
    include_parentdag: bool = False
    reset_dag_runs: bool = True
    dag_run_id: str | None = Field(default=None, max_length=250)
    include_upstream: bool = False
    include_downstream: bool = False
    include_future: bool = False
    include_past: bool = False


class TaskInstanceReference(BaseModel):
    task_id: str
    dag_id: str
    execution_date: datetime | None
    dag_run_id: str


class TaskInstanceReferenceCollection(BaseModel):
    task_instances: list[TaskInstanceReference]


class Variable(BaseModel):
    key: str
    value: str | None
    description: str | None = None


class VariableCollection(BaseModel):
    variables: list[Variable]
    total_entries: int


class VariableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=250)
    value: str = Field(max_length=1_000_000)
    description: str | None = Field(default=None, max_length=4000)


def _run(found: DAGRunResponse) -> DAGRun:
    """Airflow 2's run: Airflow 3's fields it has, under their names, and its own."""
    return DAGRun.model_validate(
        {
            **dict(found),
            "execution_date": found.logical_date,
            "external_trigger": found.run_type == "manual",
            "conf": found.conf or {},
        }
    )


def _instance(found: TaskInstanceResponse) -> dict[str, Any]:
    """Airflow 2's task instance: Airflow 3's fields, ``execution_date`` beside them."""
    shown = found.model_dump(mode="json")
    shown["execution_date"] = shown.get("logical_date")
    return shown


# -- DAG runs -----------------------------------------------------------------------------


@router.post("/dags/{dag_id}/dagRuns", name="trigger_run")
def post_dag_run(request: Request, dag_id: DagIdPath, body: TriggerBody, user: Editor) -> DAGRun:
    """Queue a run; ``logical_date`` (or the older ``execution_date``) left out: now."""
    if body.logical_date and body.execution_date and body.logical_date != body.execution_date:
        raise HTTPException(400, "logical_date and execution_date differ: give one of them")
    given = TriggerDAGRunPostBody(
        dag_run_id=body.dag_run_id,
        logical_date=body.logical_date or body.execution_date,
        data_interval_start=body.data_interval_start,
        data_interval_end=body.data_interval_end,
        conf=body.conf,
        note=body.note,
    )
    return _run(dag_runs.trigger_dag_run(request, dag_id, given, user))


@router.get("/dags/{dag_id}/dagRuns")
def get_dag_runs(
    request: Request,
    dag_id: DagIdPath,
    user: Reader,
    limit: Limit = 100,
    offset: Offset = 0,
    order_by: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[list[str] | None, Query(max_length=10)] = None,
) -> DAGRunCollection:
    order = [order_by.replace("execution_date", "logical_date")] if order_by else None
    page = Page.of(limit, offset, order, "id")
    found = dag_runs.get_dag_runs(request, dag_id, user, {}, {}, {}, page, state=state)
    return DAGRunCollection(
        dag_runs=[_run(r) for r in found.dag_runs], total_entries=found.total_entries or 0
    )


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}")
def get_dag_run(request: Request, dag_id: DagIdPath, dag_run_id: RunIdPath, user: Reader) -> DAGRun:
    return _run(dag_runs.get_dag_run(request, dag_id, dag_run_id, user))


@router.patch("/dags/{dag_id}/dagRuns/{dag_run_id}", name="mark_run")
def patch_dag_run(
    request: Request, dag_id: DagIdPath, dag_run_id: RunIdPath, body: RunStateBody, user: Editor
) -> DAGRun:
    given = DAGRunPatchBody(state=body.state)
    return _run(dag_runs.patch_dag_run(request, dag_id, dag_run_id, given, user, ["state"]))


@router.post("/dags/{dag_id}/dagRuns/{dag_run_id}/clear", name="clear_run")
def clear_dag_run(
    request: Request, dag_id: DagIdPath, dag_run_id: RunIdPath, body: ClearRunBody, user: Editor
) -> Any:
    """With ``dry_run`` (the default) the task instances that would be cleared; else the run."""
    found = dag_runs.clear_dag_run(
        request, dag_id, dag_run_id, DAGRunClearBody(dry_run=body.dry_run), user
    )
    if isinstance(found, DAGRunResponse):
        return _run(found)
    return {
        "task_instances": [_instance(ti) for ti in found.task_instances],
        "total_entries": found.total_entries,
    }


# Airflow 2's delete is Airflow 3's, to the letter: the same route function.
router.add_api_route(
    "/dags/{dag_id}/dagRuns/{dag_run_id}",
    dag_runs.delete_dag_run,
    methods=["DELETE"],
    status_code=204,
    name="delete_run",
)


# -- task instances -----------------------------------------------------------------------


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances")
def get_task_instances(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    user: Reader,
    limit: Limit = 100,
    offset: Offset = 0,
    state: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    found = task_instances.get_task_instances(
        request,
        dag_id,
        dag_run_id,
        user,
        task_instances.TiFilters({}, {}, {}, state=state),
        Page.of(limit, offset, None, "map_index"),
    )
    return {
        "task_instances": [_instance(ti) for ti in found.task_instances],
        "total_entries": found.total_entries,
    }


@router.get("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}")
def get_task_instance(
    request: Request, dag_id: DagIdPath, dag_run_id: RunIdPath, task_id: TaskIdPath, user: Reader
) -> dict[str, Any]:
    return _instance(task_instances.get_task_instance(request, dag_id, dag_run_id, task_id, user))


@router.post("/dags/{dag_id}/clearTaskInstances", name="clear_task")
def post_clear_task_instances(
    request: Request, dag_id: DagIdPath, body: ClearBody, user: Editor
) -> TaskInstanceReferenceCollection:
    """Clear task instances (``dry_run``, the default: only list them); Airflow 2 answers
    references to them."""
    if body.include_subdags or body.include_parentdag:
        raise HTTPException(400, "include_subdags, include_parentdag: Conveyor has no SubDAGs")
    given = ClearTaskInstancesBody(
        **body.model_dump(exclude={"include_subdags", "include_parentdag"})
    )
    found = clear_task_instances.post_clear_task_instances(request, dag_id, given, user)
    return TaskInstanceReferenceCollection(
        task_instances=[
            TaskInstanceReference.model_validate({**dict(ti), "execution_date": ti.logical_date})
            for ti in found.task_instances
        ]
    )


# -- DAGs ---------------------------------------------------------------------------------


def _dag(found: Any) -> dict[str, Any]:
    shown: dict[str, Any] = found.model_dump(mode="json")
    shown.setdefault("root_dag_id", None)
    shown.setdefault("is_subdag", False)
    return shown


@router.get("/dags")
def get_dags(
    request: Request,
    user: Reader,
    limit: Limit = 100,
    offset: Offset = 0,
    tags: Annotated[list[str] | None, Query(max_length=50)] = None,
    only_active: bool = True,
    paused: bool | None = None,
    dag_id_pattern: Annotated[str | None, Query(max_length=250)] = None,
) -> dict[str, Any]:
    chosen = dags.DagSelection(
        tags=tags, dag_id_pattern=dag_id_pattern, exclude_stale=only_active, paused=paused
    )
    found = dags.get_dags(request, user, {}, chosen, Page.of(limit, offset, None, "dag_id"), {})
    return {"dags": [_dag(d) for d in found.dags], "total_entries": found.total_entries}


@router.get("/dags/{dag_id}")
def get_dag(request: Request, dag_id: DagIdPath, user: Reader) -> dict[str, Any]:
    return _dag(dags.get_dag(request, dag_id, user))


@router.patch("/dags/{dag_id}")
def patch_dag(
    request: Request,
    dag_id: DagIdPath,
    body: DAGPatchBody,
    user: Editor,
    update_mask: Annotated[list[str] | None, Query(max_length=10)] = None,
) -> dict[str, Any]:
    return _dag(dags.patch_dag(request, dag_id, body, user, update_mask))


# -- variables ----------------------------------------------------------------------------


def _variable(found: variables.VariableResponse) -> Variable:
    return Variable.model_validate(dict(found))


@router.get("/variables")
def get_variables(
    request: Request,
    user: Operator,
    limit: Limit = 100,
    offset: Offset = 0,
    order_by: Annotated[str | None, Query(max_length=100)] = None,
) -> VariableCollection:
    page = Page.of(limit, offset, [order_by] if order_by else None, "id")
    found = variables.get_variables(request, user, page)
    return VariableCollection(
        variables=[_variable(v) for v in found.variables], total_entries=found.total_entries
    )


@router.get("/variables/{variable_key}")
def get_variable(request: Request, variable_key: variables.VariableKey, user: Operator) -> Variable:
    return _variable(variables.get_variable(request, variable_key, user))


@router.post("/variables", name="put_variable")
def post_variable(request: Request, body: VariableBody, user: Administrator) -> Variable:
    """Create or replace the variable, as Airflow 2's ``POST /variables`` does."""
    given = variables.VariableBody(**body.model_dump())
    if variables.VARIABLES.get(request, body.key) is None:
        return _variable(variables.post_variable(request, given, user))
    return _variable(variables.patch_variable(request, body.key, given, user, None))


@router.patch("/variables/{variable_key}", name="put_variable")
def patch_variable(
    request: Request,
    variable_key: variables.VariableKey,
    body: VariableBody,
    user: Administrator,
    update_mask: Annotated[list[str] | None, Query(max_length=10)] = None,
) -> Variable:
    given = variables.VariableBody(**body.model_dump())
    return _variable(variables.patch_variable(request, variable_key, given, user, update_mask))


@router.delete("/variables/{variable_key}", status_code=204)
def delete_variable(
    request: Request, variable_key: variables.VariableKey, user: Administrator
) -> None:
    variables.delete_variable(request, variable_key, user)


# -- health and version -------------------------------------------------------------------


@router.get("/health")
async def get_health(request: Request) -> dict[str, Any]:
    found = await monitor.get_health(request)
    return found.model_dump(exclude={"dag_processor"})


@router.get("/version")
def get_version() -> dict[str, Any]:
    return {"version": __version__, "git_version": None}


# -- telling the two apart ----------------------------------------------------------------


def airflow2_api(state: Any) -> FastAPI:
    """The Airflow 2 routes as an application of their own, sharing the web app's state."""
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    api.state = state
    api.include_router(router)
    _add_error_handlers(api)
    return api


def _basic(scope: Scope) -> bool:
    headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
    for name, value in headers:
        if name == b"authorization":
            return value[:6].lower() == b"basic "
    return False


class BasicAuthMount(Mount):
    """A mount that takes only requests signed with ``Authorization: Basic``: placed
    before Conveyor's ``/api/v1``, it gives Airflow 2 scripts the paths both APIs have."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not _basic(scope):
            return Match.NONE, {}
        return super().matches(scope)


class OwnPathsMount(Mount):
    """A mount that takes only the paths its app serves (any method): placed after
    Conveyor's ``/api/v1``, it leaves every other path to the main app, so a trailing slash
    is still redirected and an unknown path still answers the main app's 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        inner = {**scope, **child}
        for route in self.routes:
            if route.matches(inner)[0] is not Match.NONE:
                return match, child
        return Match.NONE, {}
