"""The read-only shapes of a stored DAG version, and the hashes that name versions.

The scheduler and the web never import user code: they plan and render from this structure,
stored per DAG version. A version's hash covers the structure and the file's source, so a
change to either makes a new version, and a run keeps the one it started with. It sits below
the store, which reads and writes these shapes; ``loading.serialize`` makes them from a DAG.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Airflow's timetables register their kinds of schedule with deserialize_schedule on import.
from conveyor.model import event_timetables, timetable_protocol, timetables  # noqa: F401
from conveyor.model.schedules import Schedule, deserialize_schedule
from conveyor.model.task import DEFAULT_POOL, retry_delay_for
from conveyor.model.trigger_rules import TriggerRule

FORMAT_VERSION = 1


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

    @functools.cached_property
    def upstream_set(self) -> frozenset[str]:
        """``upstream`` for membership tests (a wide join has thousands)."""
        return frozenset(self.upstream)

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
    def topological_index(self) -> dict[str, int]:
        """Each task's place in ``tasks`` (a topological order), for planning in that order."""
        return {task_id: index for index, task_id in enumerate(self.tasks)}

    @functools.cached_property
    def any_depends_on_past(self) -> bool:
        return any(task.depends_on_past for task in self.tasks.values())

    @functools.cached_property
    def any_setup_or_teardown(self) -> bool:
        return any(task.is_setup or task.is_teardown for task in self.tasks.values())

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
