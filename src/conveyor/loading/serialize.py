"""DAG -> JSON: what is stored per DAG version (read back as ``conveyor.serialized``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from conveyor.loading.asset_watchers import watcher_fields
from conveyor.model.dag import DAG
from conveyor.model.datasets import Dataset
from conveyor.model.mapping import serialize_expand_input
from conveyor.model.setup_teardown import setup_teardown_fields
from conveyor.model.task import DEFAULT_POOL, WEIGHT_RULES, BaseOperator
from conveyor.model.task_group import TaskGroup
from conveyor.serialized import FORMAT_VERSION

_MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def json_safe(value: Any) -> Any:
    """A JSON-ready copy of a value; what JSON cannot hold becomes its repr."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    # This output feeds the version hash, so it must not vary between parses of one file:
    # sets are sorted (their order follows PYTHONHASHSEED) and memory addresses in default
    # reprs ("<function f at 0x7f...>") are dropped, or every parse would make a new version.
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=repr)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return _MEMORY_ADDRESS.sub("", repr(value))


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _toolkit_task_fields(task: BaseOperator) -> dict[str, Any]:
    """What the scheduler needs of sensors and SLAs; only when set, so other DAGs' versions
    (their hashes) stay as they were."""
    found: dict[str, Any] = {}
    if getattr(task, "sla", None) is not None:
        found["sla"] = _seconds(task.sla)
    if getattr(task, "mode", None) == "reschedule":
        found["mode"] = "reschedule"
    for role in ("is_setup", "is_teardown", "on_failure_fail_dagrun"):
        if getattr(task, role, False):
            found[role] = True
    return found


def _toolkit_dag_fields(dag: DAG) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if getattr(dag, "dagrun_timeout", None) is not None:
        found["dagrun_timeout"] = _seconds(dag.dagrun_timeout)
    callbacks = [
        kind
        for kind in ("on_success_callback", "on_failure_callback", "sla_miss_callback")
        if getattr(dag, kind, None)
    ]
    if callbacks:
        found["callbacks"] = callbacks  # the scheduler asks for them; a worker runs them
    if getattr(dag, "fail_fast", False):
        found["fail_fast"] = True
    if getattr(dag, "deadline", None):  # only when set, so other DAGs' version hashes stay
        found["deadlines"] = [json_safe(alert.serialize()) for alert in dag.deadline]
    if getattr(dag, "dag_display_name", None):
        found["dag_display_name"] = dag.dag_display_name
    if getattr(dag, "is_paused_upon_creation", None) is not None:
        # Read where the DAG is first registered (store.dags); only when set, so other DAGs'
        # version hashes stay.
        found["is_paused_upon_creation"] = bool(dag.is_paused_upon_creation)
    if getattr(dag, "param_specs", None):
        found["param_specs"] = json_safe(dag.param_specs)  # Param(...) schemas, by name
    return found


def _pool_fields(task: BaseOperator) -> dict[str, Any]:
    """A task's pool, only when not the default, so other DAGs' version hashes stay."""
    found: dict[str, Any] = {}
    if getattr(task, "pool", DEFAULT_POOL) != DEFAULT_POOL:
        found["pool"] = task.pool
    if getattr(task, "pool_slots", 1) != 1:
        found["pool_slots"] = task.pool_slots
    return found


def _airflow_task_fields(task: BaseOperator) -> dict[str, Any]:
    """Airflow's per-task limits, rules, dates and display settings, each only when set
    (a weight rule only when not Airflow's default), so other DAGs' version hashes stay."""
    found: dict[str, Any] = {}
    for name in (
        "decorated_as",
        "max_active_tis_per_dag",
        "max_active_tis_per_dagrun",
        "wait_for_downstream",
        "task_display_name",
        "map_index_template",
    ):
        value = getattr(task, name, None)
        if value:
            found[name] = value
    rule = getattr(task, "weight_rule", WEIGHT_RULES[0])
    if rule != WEIGHT_RULES[0]:
        found["weight_rule"] = rule
    dag = task.dag
    start, end = _task_window(task, dag)
    if start is not None:
        found["task_start_date"] = start.isoformat()
    if end is not None:
        found["task_end_date"] = end.isoformat()
    return found


def _task_window(task: BaseOperator, dag: DAG | None) -> tuple[datetime | None, datetime | None]:
    """The task's own start_date / end_date where they narrow the DAG's (as Airflow, the
    later start and the earlier end count); a naive one is read in the DAG's timezone."""
    start = getattr(task, "start_date", None)
    end = getattr(task, "end_date", None)
    if dag is not None:
        start = dag.aware(start)
        end = dag.aware(end)
        if start is not None and dag.start_date is not None and start <= dag.start_date:
            start = None
        if end is not None and dag.end_date is not None and end >= dag.end_date:
            end = None
    return start, end


def _executor_fields(task: BaseOperator) -> dict[str, Any]:
    """What the Kubernetes executor reads of a task: ``executor``, ``executor_config`` (a
    ``pod_override`` as the API's JSON) and ``resources``, each only when set, so other DAGs'
    version hashes stay."""
    found: dict[str, Any] = {}
    executor = getattr(task, "executor", None)
    if executor:
        found["executor"] = str(executor)
    config = getattr(task, "executor_config", None)
    if config:
        found["executor_config"] = {str(k): _api_json(v) for k, v in dict(config).items()}
    resources = getattr(task, "resources", None)
    if resources:
        as_dict = getattr(resources, "to_dict", None)
        found["resources"] = json_safe(as_dict() if callable(as_dict) else resources)
    return found


def _api_json(value: Any) -> Any:
    """A Kubernetes client model (a ``V1Pod``) as the API's JSON, anything else JSON-safe."""
    if hasattr(value, "openapi_types"):
        from kubernetes.client import ApiClient

        return ApiClient().sanitize_for_serialization(value)
    return json_safe(value)


def _edge_label_fields(task: BaseOperator) -> dict[str, Any]:
    """The labels on this task's upstream edges (Label), only when it has some."""
    labels = getattr(task.dag, "edge_labels", {}).get(task.task_id) if task.dag else None
    return {"edge_labels": dict(sorted(labels.items()))} if labels else {}


def _outlet_fields(task: BaseOperator) -> dict[str, Any]:
    """The datasets a success updates; an alias updates only what the try adds to it."""
    uris = [d.uri for d in getattr(task, "outlets", None) or [] if isinstance(d, Dataset)]
    return {"outlets": uris} if uris else {}


def serialize_task(task: BaseOperator) -> dict[str, Any]:
    operator_class = getattr(task, "operator_class", type(task))  # a mapped task's operator
    callable_ = getattr(task, "python_callable", None)
    return {
        **_pool_fields(task),
        **_toolkit_task_fields(task),
        **serialize_expand_input(task),
        **_outlet_fields(task),
        **_edge_label_fields(task),
        **_airflow_task_fields(task),
        **_executor_fields(task),
        "task_id": task.task_id,
        "operator": f"{operator_class.__module__}.{operator_class.__qualname__}",
        "operator_name": task.operator_name,
        "upstream": sorted(task.upstream_task_ids),
        "retries": task.retries,
        "retry_delay": _seconds(task.retry_delay),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": _seconds(task.max_retry_delay),
        "execution_timeout": _seconds(task.execution_timeout),
        "trigger_rule": task.trigger_rule.value,
        "queue": task.queue,
        "priority_weight": task.priority_weight,
        "depends_on_past": task.depends_on_past,
        "is_branch": task.is_branch,
        "doc": task.doc,
        "owner": task.owner,
        "ui_color": task.ui_color,
        "callable": getattr(callable_, "__qualname__", None),
        "fields": {name: json_safe(getattr(task, name, None)) for name in task.template_fields},
    }


def _group_fields(dag: DAG) -> dict[str, Any]:
    """The task group tree (each group with its parent and direct members), only when the
    DAG has groups, so other DAGs' version hashes stay as they were."""
    groups = getattr(dag, "task_groups", None)
    if not groups:
        return {}
    return {
        "task_groups": [
            {
                "group_id": group.group_id,
                "label": group.label,
                "parent": group.parent.group_id if group.parent else None,
                "tooltip": group.tooltip,
                "tasks": [k for k, c in group.children.items() if not isinstance(c, TaskGroup)],
                "groups": [k for k, c in group.children.items() if isinstance(c, TaskGroup)],
            }
            for group in groups.values()
        ]
    }


def _schedule_fields(dag: DAG) -> dict[str, Any]:
    """A timetable's longer description, only when it has one (other DAGs' hashes stay)."""
    details = dag.schedule.details
    return {"schedule_details": details} if details else {}


def serialize_dag(dag: DAG) -> dict[str, Any]:
    for task in dag.task_dict.values():  # a trigger rule may be set after the task joined
        dag.check_fail_fast(task)
    return {
        **_group_fields(dag),
        **_schedule_fields(dag),
        **watcher_fields(dag),
        **_toolkit_dag_fields(dag),
        "format": FORMAT_VERSION,
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "description": dag.description,
        "doc_md": dag.doc_md,
        "schedule": dag.schedule.serialize(),
        "schedule_description": dag.schedule.description,
        "timezone": str(dag.timezone),
        "start_date": json_safe(dag.start_date),
        "end_date": json_safe(dag.end_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "params": json_safe(dag.params),
        "tags": list(dag.tags),
        **({"access_control": dag.access_control} if dag.access_control else {}),
        "tasks": _with_setup_fields(
            dag, [serialize_task(dag.task_dict[tid]) for tid in dag.topological_order()]
        ),
    }


def _with_setup_fields(dag: DAG, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each task with its teardown scope or indirect setups, where it has any."""
    extra = setup_teardown_fields(dag)
    return [
        {**task, **extra[task["task_id"]]} if task["task_id"] in extra else task for task in tasks
    ]
