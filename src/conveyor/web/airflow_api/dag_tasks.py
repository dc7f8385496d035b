"""``/api/v2/dags/{dag_id}/tasks``: a DAG's tasks as its current version defines them
(the version the last parse of its file stored), in Airflow's ``TaskResponse`` shape.

``operator_name`` and ``class_ref``'s class name are the task instance answers' own
``operator_name`` and ``operator`` (operator_names.py): a TaskFlow ``@task`` is ``@task``, of
class ``_PythonDecoratedOperator``; ``class_ref``'s module is the Conveyor module of the
operator Conveyor runs it with.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from conveyor.exceptions import NotFoundError
from conveyor.serialized import SerializedDag, SerializedTask
from conveyor.store import runs
from conveyor.store.reads import dags as dag_reads
from conveyor.web.airflow_api.common import DagIdPath, Reader, TaskIdPath, require_dag, utc
from conveyor.web.airflow_api.dag_shapes import param_shape
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.operator_names import operator_class, operator_name
from conveyor.web.deps import get_store

router = APIRouter(tags=["Task"])

#: Airflow's default text colour of a task in its graph; Conveyor stores no other.
DEFAULT_FG_COLOR = "#000"


class TimeDelta(BaseModel):
    type_: str = Field(default="TimeDelta", alias="__type", serialization_alias="__type")
    days: int
    seconds: int
    microseconds: int


class TaskResponse(BaseModel):
    task_id: str | None
    task_display_name: str | None
    owner: str | None
    start_date: datetime | None
    end_date: datetime | None
    trigger_rule: str | None
    depends_on_past: bool
    wait_for_downstream: bool
    retries: float | None
    queue: str | None
    pool: str | None
    pool_slots: float | None
    execution_timeout: TimeDelta | None
    retry_delay: TimeDelta | None
    retry_exponential_backoff: float
    priority_weight: float | None
    weight_rule: str | None
    ui_color: str | None
    ui_fgcolor: str | None
    template_fields: list[str] | None
    downstream_task_ids: list[str] | None
    doc_md: str | None
    operator_name: str | None
    params: dict[str, Any] | None
    class_ref: dict[str, Any] | None
    is_mapped: bool | None
    extra_links: list[str]


class TaskCollectionResponse(BaseModel):
    tasks: list[TaskResponse]
    total_entries: int


#: The fields a task list may be ordered by: those of one value each.
ORDER_FIELDS = tuple(
    name
    for name, info in TaskResponse.model_fields.items()
    if name not in ("template_fields", "downstream_task_ids", "params", "class_ref")
    and name not in ("execution_timeout", "retry_delay", "extra_links")
)


def _delta(value: timedelta | None) -> TimeDelta | None:
    if value is None:
        return None
    return TimeDelta(days=value.days, seconds=value.seconds, microseconds=value.microseconds)


def _class_ref(task: SerializedTask) -> dict[str, Any] | None:
    path = str(task.raw.get("operator") or "")
    module = path.rpartition(".")[0]
    return {"module_path": module, "class_name": operator_class(task)} if module else None


def task_response(dag: SerializedDag, task: SerializedTask) -> TaskResponse:
    """A stored task in Airflow's shape; its params are its DAG's (Conveyor keeps no
    params per task)."""
    raw = task.raw
    return TaskResponse(
        task_id=task.task_id,
        task_display_name=task.display_name,
        owner=raw.get("owner"),
        start_date=utc(task.start_date or dag.start_date),
        end_date=utc(task.end_date or dag.end_date),
        trigger_rule=str(task.trigger_rule.value),
        depends_on_past=task.depends_on_past,
        wait_for_downstream=task.wait_for_downstream,
        retries=task.retries,
        queue=task.queue,
        pool=task.pool,
        pool_slots=task.pool_slots,
        execution_timeout=_delta(task.execution_timeout),
        retry_delay=_delta(task.retry_delay),
        retry_exponential_backoff=float(task.retry_exponential_backoff),
        priority_weight=task.priority_weight,
        weight_rule=task.weight_rule,
        ui_color=raw.get("ui_color"),
        ui_fgcolor=DEFAULT_FG_COLOR,
        template_fields=sorted(raw.get("fields") or {}),
        downstream_task_ids=sorted(task.downstream),
        doc_md=raw.get("doc"),
        operator_name=operator_name(task),
        params={
            name: param_shape(value, dag.param_specs.get(name))
            for name, value in dag.params.items()
        },
        class_ref=_class_ref(task),
        is_mapped=task.task_id in dag.mapped,
        extra_links=[],
    )


def _current_version(request: Request, dag_id: str) -> SerializedDag:
    with get_store(request).read() as conn:
        row = dag_reads.get_dag(conn, dag_id)
        return runs.serialized_dag(conn, row.version_hash)


def _sort_key(name: str) -> Any:
    def key(task: TaskResponse) -> tuple[bool, Any]:
        value = getattr(task, name)
        return (value is not None, value if value is not None else 0)

    return key


@router.get(
    "/dags/{dag_id}/tasks",
    response_model_by_alias=True,
    openapi_extra=differs(
        "class_ref's module_path is the Conveyor module of the task's operator; "
        "each task's params are its DAG's; extra_links is empty"
    ),
)
def get_tasks(
    request: Request,
    dag_id: DagIdPath,
    user: Reader,
    order_by: Annotated[str, Query(max_length=100)] = "task_id",
) -> TaskCollectionResponse:
    """Every task of the DAG's current version, ordered by one field (``-`` descending)."""
    require_dag(user, dag_id)
    name = order_by.removeprefix("-")
    if name not in ORDER_FIELDS:
        raise HTTPException(
            400, f"cannot order tasks by {name!r}; order by one of: {', '.join(ORDER_FIELDS)}"
        )
    dag = _current_version(request, dag_id)
    tasks = [task_response(dag, task) for task in dag.tasks.values()]
    tasks.sort(key=_sort_key(name), reverse=order_by.startswith("-"))
    return TaskCollectionResponse(tasks=tasks, total_entries=len(tasks))


@router.get(
    "/dags/{dag_id}/tasks/{task_id}",
    response_model_by_alias=True,
    openapi_extra=differs(
        "class_ref's module_path is the Conveyor module of the task's operator; "
        "the task's params are its DAG's; extra_links is empty"
    ),
)
def get_task(
    request: Request, dag_id: DagIdPath, task_id: TaskIdPath, user: Reader
) -> TaskResponse:
    require_dag(user, dag_id)
    dag = _current_version(request, dag_id)
    task = dag.tasks.get(task_id)
    if task is None:
        raise NotFoundError(f"Task with id {task_id!r} not found in DAG {dag_id!r}")
    return task_response(dag, task)
