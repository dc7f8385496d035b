"""DAG -> JSON, and the read-only ``SerializedDag`` the scheduler and the web work from.

The scheduler never imports user code: it plans runs from this structure, stored per DAG
version. A version's hash covers the structure and the file's source, so a change to either
makes a new version, and a run keeps the one it started with.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conveyor.model.dag import DAG
from conveyor.model.mapping import serialize_expand_input
from conveyor.model.schedules import Schedule, deserialize_schedule
from conveyor.model.setup_teardown import setup_teardown_fields
from conveyor.model.task import DEFAULT_POOL, BaseOperator, retry_delay_for
from conveyor.model.task_group import TaskGroup
from conveyor.model.trigger_rules import TriggerRule

FORMAT_VERSION = 1
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


def _edge_label_fields(task: BaseOperator) -> dict[str, Any]:
    """The labels on this task's upstream edges (Label), only when it has some."""
    labels = getattr(task.dag, "edge_labels", {}).get(task.task_id) if task.dag else None
    return {"edge_labels": dict(sorted(labels.items()))} if labels else {}


def serialize_task(task: BaseOperator) -> dict[str, Any]:
    operator_class = getattr(task, "operator_class", type(task))  # a mapped task's operator
    callable_ = getattr(task, "python_callable", None)
    return {
        **_pool_fields(task),
        **_toolkit_task_fields(task),
        **serialize_expand_input(task),
        **({"outlets": [d.uri for d in task.outlets]} if getattr(task, "outlets", None) else {}),
        **_edge_label_fields(task),
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


def serialize_dag(dag: DAG) -> dict[str, Any]:
    return {
        **_group_fields(dag),
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


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def version_hash(serialized: dict[str, Any], src_hash: str) -> str:
    return hashlib.sha256(f"{src_hash}\n{canonical_json(serialized)}".encode()).hexdigest()


@dataclass(frozen=True)
class SerializedTask:
    task_id: str
    operator_name: str
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    retries: int
    retry_delay: timedelta
    retry_exponential_backoff: bool
    max_retry_delay: timedelta | None
    execution_timeout: timedelta | None
    trigger_rule: TriggerRule
    queue: str
    priority_weight: int
    depends_on_past: bool
    is_branch: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def pool(self) -> str:
        return str(self.raw.get("pool", DEFAULT_POOL))

    @property
    def pool_slots(self) -> int:
        return int(self.raw.get("pool_slots", 1))

    @property
    def is_setup(self) -> bool:
        return bool(self.raw.get("is_setup"))

    @property
    def is_teardown(self) -> bool:
        return bool(self.raw.get("is_teardown"))

    @property
    def on_failure_fail_dagrun(self) -> bool:
        return bool(self.raw.get("on_failure_fail_dagrun"))

    @property
    def teardown_scope(self) -> list[str]:
        """A teardown's indirect upstream tasks after its setups: it waits for them too."""
        return list(self.raw.get("teardown_scope", ()))

    @property
    def indirect_setups(self) -> list[str]:
        """Setups upstream of this task, not directly, whose teardowns come after it."""
        return list(self.raw.get("indirect_setups", ()))

    def retry_delay_for(self, try_number: int) -> timedelta:
        return retry_delay_for(
            self.retry_delay, self.retry_exponential_backoff, self.max_retry_delay, try_number
        )


def _td(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


@dataclass(frozen=True)
class SerializedDag:
    dag_id: str
    schedule: Schedule
    start_date: datetime | None
    end_date: datetime | None
    catchup: bool
    max_active_runs: int
    max_active_tasks: int
    params: dict[str, Any]
    tasks: dict[str, SerializedTask]  # in topological order
    raw: dict[str, Any] = field(repr=False, compare=False)
    #: Ids of mapped tasks (expanded at run time); empty for most DAGs.
    mapped: frozenset[str] = frozenset()

    @property
    def leaves(self) -> list[str]:
        return [tid for tid, t in self.tasks.items() if not t.downstream]

    @functools.cached_property
    def setup_constrained(self) -> frozenset[str]:
        """Tasks with a teardown scope or indirect setups (planning checks them more)."""
        return frozenset(
            tid
            for tid, t in self.tasks.items()
            if "teardown_scope" in t.raw or "indirect_setups" in t.raw
        )

    @functools.cached_property
    def outcome_leaves(self) -> list[str]:
        """The tasks whose states decide the run's outcome: the leaves once teardowns are
        set aside, and the teardowns with on_failure_fail_dagrun."""
        found = [
            tid
            for tid, t in self.tasks.items()
            if (t.on_failure_fail_dagrun if t.is_teardown else True)
            and (t.is_teardown or all(self.tasks[d].is_teardown for d in t.downstream))
        ]
        return found or self.leaves  # a DAG of teardowns only

    @property
    def param_specs(self) -> dict[str, Any]:
        """The schema, description and whether it is required, of each Param(...) param."""
        return dict(self.raw.get("param_specs", {}))

    @property
    def task_groups(self) -> list[dict[str, Any]]:
        """The task group tree as serialized: group_id, label, parent, tooltip, tasks, groups."""
        return list(self.raw.get("task_groups", []))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SerializedDag:
        downstream: dict[str, list[str]] = {t["task_id"]: [] for t in data["tasks"]}
        for t in data["tasks"]:
            for up in t["upstream"]:
                downstream[up].append(t["task_id"])
        tasks = {
            t["task_id"]: SerializedTask(
                task_id=t["task_id"],
                operator_name=t["operator_name"],
                upstream=tuple(t["upstream"]),
                downstream=tuple(downstream[t["task_id"]]),
                retries=t["retries"],
                retry_delay=_td(t["retry_delay"]) or timedelta(0),
                retry_exponential_backoff=t["retry_exponential_backoff"],
                max_retry_delay=_td(t["max_retry_delay"]),
                execution_timeout=_td(t["execution_timeout"]),
                trigger_rule=TriggerRule(t["trigger_rule"]),
                queue=t["queue"],
                priority_weight=t["priority_weight"],
                depends_on_past=t["depends_on_past"],
                is_branch=t["is_branch"],
                raw=t,
            )
            for t in data["tasks"]
        }
        parse = datetime.fromisoformat
        return cls(
            dag_id=data["dag_id"],
            schedule=deserialize_schedule(data["schedule"]),
            start_date=parse(data["start_date"]) if data["start_date"] else None,
            end_date=parse(data["end_date"]) if data["end_date"] else None,
            catchup=data["catchup"],
            max_active_runs=data["max_active_runs"],
            max_active_tasks=data["max_active_tasks"],
            params=data["params"],
            tasks=tasks,
            raw=data,
            mapped=frozenset(t["task_id"] for t in data["tasks"] if "mapped" in t),
        )
