"""DAG -> JSON, and the read-only ``SerializedDag`` the scheduler and the web work from.

The scheduler never imports user code: it plans runs from this structure, stored per DAG
version. A version's hash covers the structure and the file's source, so a change to either
makes a new version, and a run keeps the one it started with.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conveyor.model.dag import DAG
from conveyor.model.schedules import Schedule, deserialize_schedule
from conveyor.model.task import BaseOperator, retry_delay_for
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


def serialize_task(task: BaseOperator) -> dict[str, Any]:
    operator_class = type(task)
    callable_ = getattr(task, "python_callable", None)
    return {
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


def serialize_dag(dag: DAG) -> dict[str, Any]:
    return {
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
        "tasks": [serialize_task(dag.task_dict[tid]) for tid in dag.topological_order()],
    }


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

    @property
    def leaves(self) -> list[str]:
        return [tid for tid, t in self.tasks.items() if not t.downstream]

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
        )
