"""The read-only shapes of a stored DAG version (the hashes that name versions are
:mod:`conveyor.version_hashes`).

The scheduler and the web never import user code: they plan and render from this structure,
stored per DAG version. A version's hash covers the structure and the file's source, so a
change to either makes a new version, and a run keeps the one it started with. It sits below
the store, which reads and writes these shapes; ``loading.serialize`` makes them from a DAG.
"""

from __future__ import annotations

import functools
import graphlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Airflow's timetables register their kinds of schedule with deserialize_schedule on import.
from conveyor.model import (  # noqa: F401
    event_timetables,
    partitioned_timetables,
    timetable_protocol,
    timetables,
)
from conveyor.model.schedules import Schedule, deserialize_schedule
from conveyor.model.task import DEFAULT_POOL, WEIGHT_RULES, retry_delay_for
from conveyor.model.trigger_rules import TriggerRule

FORMAT_VERSION = 1


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
    def decorated_as(self) -> str | None:
        """The decorator that made the task (``@task``, ``@task.bash``); None for an operator
        built directly, and for versions parsed before Conveyor recorded it."""
        found = self.raw.get("decorated_as")
        return str(found) if found else None

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

    @property
    def max_active_tis_per_dag(self) -> int | None:
        """At most this many instances of the task queued, running or deferred across the
        DAG's runs (Airflow's ``max_active_tis_per_dag``)."""
        return self.raw.get("max_active_tis_per_dag")

    @property
    def max_active_tis_per_dagrun(self) -> int | None:
        """At most this many of its instances so in one run (mapped tasks have many)."""
        return self.raw.get("max_active_tis_per_dagrun")

    @property
    def wait_for_downstream(self) -> bool:
        """The previous run's instances of its direct downstream tasks must have succeeded
        or been skipped too (it implies ``depends_on_past``)."""
        return bool(self.raw.get("wait_for_downstream"))

    @property
    def weight_rule(self) -> str:
        return str(self.raw.get("weight_rule", WEIGHT_RULES[0]))

    @property
    def start_date(self) -> datetime | None:
        """The task's own start, where later than its DAG's: earlier runs have no instance."""
        found = self.raw.get("task_start_date")
        return datetime.fromisoformat(found) if found else None

    @property
    def end_date(self) -> datetime | None:
        """The task's own end, where earlier than its DAG's: later runs have no instance."""
        found = self.raw.get("task_end_date")
        return datetime.fromisoformat(found) if found else None

    def runs_at(self, logical_date: datetime) -> bool:
        """Whether a run of this logical date has an instance of the task (Airflow makes
        none outside the task's own start_date and end_date)."""
        start, end = self.start_date, self.end_date
        return (start is None or start <= logical_date) and (end is None or logical_date <= end)

    @property
    def display_name(self) -> str:
        """``task_display_name``, or the task id."""
        return str(self.raw.get("task_display_name") or self.task_id)

    @property
    def map_index_template(self) -> str | None:
        return self.raw.get("map_index_template")

    def retry_delay_for(self, try_number: int) -> timedelta:
        return retry_delay_for(
            self.retry_delay, self.retry_exponential_backoff, self.max_retry_delay, try_number
        )


#: Airflow keeps a priority within a 32-bit integer, as its column does.
PRIORITY_MIN, PRIORITY_MAX = -(2**31), 2**31 - 1


def priority_weights(
    tasks: list[dict[str, Any]], downstream: dict[str, list[str]]
) -> dict[str, int]:
    """Each task's effective priority as Airflow's ``weight_rule`` makes it: its own
    ``priority_weight`` plus, for "downstream" (the default), those of every task downstream
    of it, directly or not; for "upstream", every task upstream; "absolute": its own."""
    given = {t["task_id"]: int(t["priority_weight"]) for t in tasks}
    upstream = {t["task_id"]: list(t["upstream"]) for t in tasks}
    rules = {t["task_id"]: t.get("weight_rule", WEIGHT_RULES[0]) for t in tasks}
    try:
        below = _reach(given, downstream) if "downstream" in rules.values() else {}
        above = _reach(given, upstream) if "upstream" in rules.values() else {}
    except graphlib.CycleError:
        # Only a corrupt stored structure has a cycle (definitions refuse them); its run is
        # planned to a deadlock, so the weights as given are all it needs.
        return {task_id: min(max(w, PRIORITY_MIN), PRIORITY_MAX) for task_id, w in given.items()}
    # Tasks by weight, as bit masks: a task's relatives' weights sum as a few bit counts.
    index = {task_id: i for i, task_id in enumerate(given)}
    masks: dict[int, int] = {}
    for task_id, weight in given.items():
        masks[weight] = masks.get(weight, 0) | (1 << index[task_id])
    weights = list(given.values())
    found: dict[str, int] = {}
    for task_id, own in given.items():
        rule = rules[task_id]
        reached = below.get(task_id, 0) if rule == "downstream" else above.get(task_id, 0)
        total = own
        if rule != "absolute" and reached:
            total += _weight_of(reached, masks, weights)
        found[task_id] = min(max(total, PRIORITY_MIN), PRIORITY_MAX)
    return found


def _weight_of(reached: int, masks: dict[int, int], weights: list[int]) -> int:
    """The summed weights of the tasks in ``reached`` (a bit mask over ``weights``)."""
    if len(masks) <= 32:  # few distinct weights (most DAGs have one): a bit count each
        return sum(w * (reached & mask).bit_count() for w, mask in masks.items())
    total = 0
    while reached:
        low = reached & -reached
        total += weights[low.bit_length() - 1]
        reached ^= low
    return total


def _reach(given: dict[str, int], edges: dict[str, list[str]]) -> dict[str, int]:
    """Each task's relatives along ``edges`` (directly or not), as a bit mask over the tasks'
    order in ``given``: one pass, the tasks at the far end first (a chain of thousands
    costs a few big-integer ORs each, not a walk each)."""
    index = {task_id: i for i, task_id in enumerate(given)}
    order = graphlib.TopologicalSorter({t: edges[t] for t in given}).static_order()
    reach: dict[str, int] = {}
    for task_id in order:  # each task after every task its edges lead to
        mask = 0
        for other in edges[task_id]:
            mask |= reach[other] | (1 << index[other])
        reach[task_id] = mask
    return reach


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
    def group_upstream(self) -> dict[str, tuple[str, ...]]:
        """Of each task of a mapped task group, its direct upstream tasks of the same group:
        instance i waits for their instance i alone (tasks without any are left out)."""
        groups = {
            tid: self.tasks[tid].raw["mapped"].get("group")
            for tid in self.mapped
            if self.tasks[tid].raw["mapped"].get("group") is not None
        }
        found = {
            tid: tuple(up for up in self.tasks[tid].upstream if groups.get(up) == group)
            for tid, group in groups.items()
        }
        return {tid: ups for tid, ups in found.items() if ups}

    @functools.cached_property
    def topological_index(self) -> dict[str, int]:
        """Each task's place in ``tasks`` (a topological order), for planning in that order."""
        return {task_id: index for index, task_id in enumerate(self.tasks)}

    @functools.cached_property
    def task_limited(self) -> frozenset[str]:
        """Tasks with ``max_active_tis_per_dag`` or ``max_active_tis_per_dagrun``."""
        return frozenset(
            tid
            for tid, t in self.tasks.items()
            if t.max_active_tis_per_dag is not None or t.max_active_tis_per_dagrun is not None
        )

    @functools.cached_property
    def dated_tasks(self) -> frozenset[str]:
        """Tasks with a start_date or end_date of their own."""
        return frozenset(
            tid
            for tid, t in self.tasks.items()
            if "task_start_date" in t.raw or "task_end_date" in t.raw
        )

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
    def fail_fast(self) -> bool:
        """Airflow 3's ``fail_fast`` (2's ``fail_stop``): a failed task stops the run."""
        return bool(self.raw.get("fail_fast"))

    @property
    def display_name(self) -> str:
        """``dag_display_name``, or the DAG id."""
        return str(self.raw.get("dag_display_name") or self.dag_id)

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
        weights = priority_weights(data["tasks"], downstream)
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
                priority_weight=weights[t["task_id"]],
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
