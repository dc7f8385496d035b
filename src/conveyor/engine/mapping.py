"""Planning runs whose DAG has mapped tasks: expanding them, then planning over instances.

A mapped task starts as one placeholder instance (map_index -1). When the plan says it may
run, it is expanded into one instance per element of its lists (or skipped when they are
empty), and the plan is made again. Downstream tasks see every instance (trigger rules count
each one); the task itself counts as finished when all its instances are. DAGs without
mapped tasks never come here: their planning costs nothing more.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from conveyor import xcom_serde
from conveyor.engine.planning import RunPlan, aggregate, plan_run
from conveyor.lifecycle import Actor
from conveyor.model.mapping import expansion_length
from conveyor.serialized import SerializedDag
from conveyor.states import TaskState
from conveyor.store import mapping, transitions
from conveyor.store.engine import Connection
from conveyor.store.hop.run_lock import LockedRun
from conveyor.store.runs import TiRow

S = TaskState


def ti_key(ti: TiRow) -> str:
    """How a run's task instances are keyed while planning: ``task`` or ``task[3]``."""
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"


def task_states(
    tis: Mapping[str, TiRow],
) -> tuple[dict[str, TaskState], dict[str, list[TaskState]]]:
    """Per task id: its state (aggregated when expanded), and the instance states of the
    expanded mapped tasks in map_index order."""
    grouped: dict[str, list[TiRow]] = defaultdict(list)
    for ti in tis.values():
        grouped[ti.task_id].append(ti)
    states: dict[str, TaskState] = {}
    instances: dict[str, list[TaskState]] = {}
    for task_id, rows in grouped.items():
        if len(rows) == 1 and rows[0].map_index < 0:
            states[task_id] = rows[0].state
            continue
        instances[task_id] = [ti.state for ti in sorted(rows, key=lambda ti: ti.map_index)]
        states[task_id] = aggregate(instances[task_id])
    return states, instances


def per_instance(plan: RunPlan, tis: Mapping[str, TiRow]) -> RunPlan:
    """The plan's moves, from task ids to the keys of the instances still in state none."""
    keys: dict[str, list[str]] = defaultdict(list)
    for key, ti in tis.items():
        if ti.state is S.NONE:
            keys[ti.task_id].append(key)

    def spread(moves: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # A move of one instance (a mapped group's task, decided index by index) stays one.
        return [
            (key, reason)
            for name, reason in moves
            for key in ([name] if name in tis and tis[name].map_index >= 0 else keys[name])
        ]

    return dataclasses.replace(
        plan,
        to_schedule=spread(plan.to_schedule),
        to_skip=spread(plan.to_skip),
        to_upstream_fail=spread(plan.to_upstream_fail),
    )


def plan_mapped_run(
    conn: Connection,
    run: LockedRun,
    structure: SerializedDag,
    tis: dict[str, TiRow],
    past: Mapping[str, TaskState] | None,
    actor: Actor,
) -> RunPlan:
    """Expand the mapped tasks that may run now, then plan; ``tis`` is updated in place and
    the plan's moves name keys of ``tis``."""
    blocked: set[str] = set()
    for _ in range(len(structure.mapped) + 1):
        states, instances = task_states(tis)
        plan = plan_run(structure, states, past_states=past, instances=instances)
        ready = [
            task_id
            for task_id, _reason in plan.to_schedule
            if task_id in structure.mapped and task_id not in instances and task_id not in blocked
        ]
        if not ready:
            break
        for task_id in ready:
            # A group's task is as long as the group's tasks before it (what they output
            # may be shorter: an instance that failed left no value).
            group = structure.group_upstream.get(task_id, ())
            lengths = [len(instances[up]) for up in group if up in instances]
            count = (
                lengths[0]
                if lengths
                else _expansion_length(conn, run.id, structure.tasks[task_id].raw["mapped"])
            )
            if not _expand(conn, tis, task_id, count, actor):
                blocked.add(task_id)
    plan.to_schedule = [(t, r) for t, r in plan.to_schedule if t not in blocked]
    return per_instance(plan, tis)


def _expansion_length(conn: Connection, run_pk: int, mapped: Mapping[str, Any]) -> int | str:
    """How many instances the task's ``mapped`` spec expands into in the run, or why it
    cannot expand (a message); the lists are read from the upstream tasks' XComs."""
    return expansion_length(
        mapped["expand"],
        lambda up, key: xcom_serde.as_collection(mapping.xcom_value(conn, run_pk, up, key)),
        zipped=bool(mapped.get("zip")),
    )


def _expand(
    conn: Connection, tis: dict[str, TiRow], task_id: str, count: int | str, actor: Actor
) -> bool:
    """Replace the placeholder of ``task_id`` in ``tis`` by its ``count`` instances (or finish
    it without running: nothing to map over, or ``count`` a message saying why it cannot
    expand); False when another writer expanded or moved the placeholder first."""
    placeholder = tis[task_id]
    if isinstance(count, str) or count == 0:
        to = S.UPSTREAM_FAILED if isinstance(count, str) else S.SKIPPED
        reason = count if isinstance(count, str) else "mapped over an empty list: nothing to run"
        if not transitions.finish_without_running(
            conn, placeholder.id, to, placeholder.try_number, reason, actor
        ):
            return False
        tis[task_id] = dataclasses.replace(placeholder, state=to)
        return True
    ids = mapping.expand_instances(conn, placeholder.id, count)
    if ids is None:
        return False
    transitions.record_event(
        conn,
        placeholder.id,
        placeholder.try_number,
        "expanded",
        f"mapped task expanded into {count} instance{'s' if count != 1 else ''}",
        actor,
        detail={"count": count},
    )
    del tis[task_id]
    for index in range(count):
        instance = dataclasses.replace(placeholder, id=ids[index], map_index=index)
        tis[ti_key(instance)] = instance
    return True
