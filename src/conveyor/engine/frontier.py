"""A hop's plan from what the finished task touches, not from the whole run.

When a try ends, only its downstream tasks can have become ready, skipped or upstream-failed,
and a skip or an upstream failure cascades only further down. So the hop reads the states of
those tasks and of their upstream, decides each with the same rule as the whole-run plan
(``planning.decide_task``), and follows the cascade, reading more as it goes. Its cost is
that of the tasks it touches: a chain of 3,000 pays for one task per hop, not 3,000.

A wide fan-in (the ``end`` of a fan-out of 10,000) would still need every upstream state on
every hop. For its usual rule, ``all_success``, after a success, one unfinished upstream is
enough to know it waits; ``unfinished_sample`` gives a few unfinished tasks of the run (its
tries in flight, which in a fan-out are its members), and only when none of them is
upstream of it are all its upstream states read.

Runs that need more than this are planned whole, as before (``None``): mapped tasks,
``depends_on_past``, and setups and teardowns, whose scopes reach past direct edges.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping
from typing import Protocol

from conveyor.engine.planning import RunPlan, decide_task
from conveyor.lifecycle import FINISH_WITHOUT_RUNNING
from conveyor.model.trigger_rules import TriggerRule
from conveyor.serialized import SerializedDag, SerializedTask
from conveyor.states import FINISHED, TaskState

#: Up to this many upstream tasks, a fan-in's states are read outright.
WIDE_FAN_IN = 32


class RunReads(Protocol):
    """What the frontier reads of the run, in the transaction that holds its lock."""

    def states(self, task_ids: Collection[str]) -> Mapping[str, TaskState]:
        """The stored state of each of these tasks (unmapped instances)."""
        ...

    def unfinished_sample(self) -> Collection[str]:
        """The task ids of some instances of the run that have not finished (a bounded few)."""
        ...


def plans_incrementally(dag: SerializedDag) -> bool:
    """Whether a hop of this DAG's runs can be planned from its frontier."""
    return not (
        dag.mapped
        or dag.setup_constrained
        or dag.any_depends_on_past
        or dag.any_setup_or_teardown
        or dag.dated_tasks  # a task without an instance in some runs: planned whole
        or dag.fail_fast  # a failure stops the whole run (engine/fail_fast.py)
    )


def plan_after(
    dag: SerializedDag, finished: Mapping[str, TaskState], reads: RunReads
) -> RunPlan | None:
    """The moves that ``finished`` (task id -> the state it just reached) makes possible.

    ``run_state`` is left unset: whether the run is over is the caller's question (it asks
    the store whether anything is still unfinished). None when the DAG must be planned whole.
    """
    if not plans_incrementally(dag):
        return None
    order = dag.topological_index  # a cascade is decided upstream first
    plan = RunPlan()
    current: dict[str, TaskState] = dict(finished)
    frontier: list[tuple[int, str]] = []
    _push_downstream(frontier, order, dag, finished)
    seen: set[str] = set()
    sample: Collection[str] | None = None
    while frontier:
        _, task_id = heapq.heappop(frontier)
        if task_id in seen:
            continue
        seen.add(task_id)
        task = dag.tasks[task_id]
        if _waits_on_wide_fan_in(task, current):
            if task_id not in current:
                current.update(reads.states([task_id]))
            if current[task_id] is not TaskState.NONE:
                continue
            sample = reads.unfinished_sample() if sample is None else sample
            upstream = task.upstream_set  # the sample is small; the join's upstream is not
            if any(up in upstream and current.get(up) not in FINISHED for up in sample):
                continue  # an upstream task has not finished: all_success waits
        missing = [tid for tid in (task_id, *task.upstream) if tid not in current]
        if missing:
            current.update(reads.states(missing))
        if current[task_id] is not TaskState.NONE:
            continue
        reached = decide_task(task, dag, current, plan, explain=False)
        if reached in FINISH_WITHOUT_RUNNING.to_states:
            _push_downstream(frontier, order, dag, {task_id: reached})
    return plan


def first_reads(dag: SerializedDag, finished: Mapping[str, TaskState]) -> list[str]:
    """The instances :func:`plan_after` reads first: the finished tasks' downstream, and the
    upstream of each that is not a wide fan-in. Read ahead in the hop's one round trip."""
    names: dict[str, None] = {}
    for task_id in finished:
        for down in dag.tasks[task_id].downstream:
            names[down] = None
            upstream = dag.tasks[down].upstream
            if len(upstream) <= WIDE_FAN_IN:
                names.update(dict.fromkeys(upstream))
    return [name for name in names if name not in finished]


def reaches_wide_fan_in(dag: SerializedDag, finished: Mapping[str, TaskState]) -> bool:
    """Whether :func:`plan_after` will want the run's unfinished sample for a downstream task
    of ``finished``: read it ahead, in the hop's one round trip."""
    return any(
        _waits_on_wide_fan_in(dag.tasks[down], finished)
        for task_id in finished
        for down in dag.tasks[task_id].downstream
    )


def _waits_on_wide_fan_in(task: SerializedTask, current: Mapping[str, TaskState]) -> bool:
    """A wide ``all_success`` fan-in whose upstream states known so far are all successes:
    the one case where a sample of unfinished tasks can settle that it waits."""
    if task.trigger_rule is not TriggerRule.ALL_SUCCESS or len(task.upstream) <= WIDE_FAN_IN:
        return False
    upstream = task.upstream_set  # what is known is few states; the upstream may be 10,000
    return all(state is TaskState.SUCCESS for tid, state in current.items() if tid in upstream)


def _push_downstream(
    frontier: list[tuple[int, str]],
    order: Mapping[str, int],
    dag: SerializedDag,
    reached: Mapping[str, TaskState],
) -> None:
    for task_id in reached:
        for down in dag.tasks[task_id].downstream:
            heapq.heappush(frontier, (order[down], down))
