"""Pure planning: given a run's task states, what should happen next?

No I/O here. ``plan_run`` walks the tasks in topological order, applies trigger rules, lets
skips and upstream failures cascade within one call, and says whether the run is finished.
Unit tests drive it with plain dicts; the scheduler and the fast path apply its answer with
guarded transitions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from conveyor.lifecycle import SUCCEEDED_LIKE, WORST_FIRST
from conveyor.model.trigger_rules import (
    Decision,
    TriggerRule,
    UpstreamSummary,
    Verdict,
    evaluate,
)
from conveyor.serialized import SerializedDag, SerializedTask
from conveyor.states import FAILED_LIKE, FINISHED, RunState, TaskState


@dataclass
class RunPlan:
    to_schedule: list[tuple[str, str]] = field(default_factory=list)  # (task_id, reason)
    to_skip: list[tuple[str, str]] = field(default_factory=list)
    to_upstream_fail: list[tuple[str, str]] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)  # task_id -> what it waits for
    run_state: RunState | None = None  # set when the run is finished
    run_reason: str = ""


_PAST_OK = SUCCEEDED_LIKE


def _past_allows(task: SerializedTask, past: Mapping[str, TaskState] | None) -> str | None:
    """None if depends_on_past (and wait_for_downstream) let the task go; otherwise what it
    waits for."""
    if past is None:
        return None  # first run of the DAG: nothing to wait for
    task_id = task.task_id
    state = past.get(task_id)
    if state is not None and state not in _PAST_OK:
        return f"depends_on_past: the previous run's {task_id} is {state.value}"
    if task.wait_for_downstream:
        # As Airflow: the previous run's instances of its direct downstream tasks (those it
        # has) must have succeeded or been skipped.
        behind = [
            f"{down} is {past[down].value}"
            for down in task.downstream
            if down in past and past[down] not in _PAST_OK
        ]
        if behind:
            return f"depends_on_past: wait_for_downstream: the previous run's {', '.join(behind)}"
    return None


def plan_run(
    dag: SerializedDag,
    states: Mapping[str, TaskState],
    *,
    past_states: Mapping[str, TaskState] | None = None,
    instances: Mapping[str, Sequence[TaskState]] | None = None,
    explain: bool = True,
) -> RunPlan:
    """Decide the next moves for one run. ``states`` maps every task id to its state.

    ``instances``: the instance states of expanded mapped tasks; downstream trigger rules
    count each instance (``states`` holds the mapped task's aggregate). ``explain=False``
    leaves out what each waiting task waits for (``waiting``): a hop plans the whole run and
    needs only the moves.
    """
    plan = RunPlan()
    current = dict(states)
    absent = absent_tasks(dag, states)
    in_groups = dag.group_upstream if instances is not None else {}
    if in_groups and instances is not None:  # decided index by index below: a copy to move
        instances = {task_id: list(found) for task_id, found in instances.items()}
    for task_id, task in dag.tasks.items():
        if current.get(task_id, TaskState.NONE) is not TaskState.NONE or task_id in absent:
            continue
        if task_id in in_groups:
            assert isinstance(instances, dict)
            _decide_group_task(task, dag, current, plan, past_states, instances, explain)
            continue
        decide_task(task, dag, current, plan, past_states, instances, explain)
    plan.run_state, plan.run_reason = run_outcome(dag, current, plan)
    return plan


def decide_task(
    task: SerializedTask,
    dag: SerializedDag,
    current: dict[str, TaskState],
    plan: RunPlan,
    past_states: Mapping[str, TaskState] | None = None,
    instances: Mapping[str, Sequence[TaskState]] | None = None,
    explain: bool = True,
) -> TaskState | None:
    """Apply one ``none`` task's trigger rule to ``current`` (its upstream states): add its
    move to ``plan``, record its new state in ``current``, and return that state (None: it
    waits). The one decision both the whole-run plan and the hop's frontier make."""
    task_id = task.task_id
    upstream = [current.get(up, TaskState.NONE) for up in task.upstream]
    if instances:
        upstream = _with_instances(task.upstream, current, instances)
    elif (
        not explain
        and task.trigger_rule is TriggerRule.ALL_SUCCESS
        and _all_success_waits(upstream)
    ):
        return None  # the common case, decided without counting
    setups: list[TaskState] = []
    if task.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:  # a teardown
        setups = [current.get(up, TaskState.NONE) for up in task.upstream if dag.tasks[up].is_setup]
    decision = evaluate(task.trigger_rule, UpstreamSummary.of(upstream, setups))
    if task_id in dag.setup_constrained:
        decision = _setup_constraints(task, current, decision)

    def pending() -> list[str]:
        return [up for up in task.upstream if current.get(up) not in FINISHED]

    moved = _move(task, task_id, decision, pending, plan, past_states)
    if moved is not None:
        current[task_id] = moved
    return moved


def _move(
    task: SerializedTask,
    key: str,
    decision: Decision,
    pending: Callable[[], list[str]],
    plan: RunPlan,
    past_states: Mapping[str, TaskState] | None,
) -> TaskState | None:
    """Add the move ``decision`` says for ``key`` (a task, or one instance of it) to
    ``plan``; the state it moves to (None: it waits, for what ``pending()`` names among
    others: asked only then, the hop decides most tasks without it)."""
    if decision.verdict is Verdict.WAIT:
        unfinished = pending()
        plan.waiting[key] = (
            f"{decision.reason}: waiting for {', '.join(unfinished)}"
            if unfinished
            else decision.reason
        )
        return None
    if decision.verdict is Verdict.SKIP:
        plan.to_skip.append((key, f"trigger rule {task.trigger_rule}: {decision.reason}"))
        return TaskState.SKIPPED
    if decision.verdict is Verdict.UPSTREAM_FAILED:
        plan.to_upstream_fail.append((key, f"trigger rule {task.trigger_rule}: {decision.reason}"))
        return TaskState.UPSTREAM_FAILED
    blocked = _past_allows(task, past_states) if task.depends_on_past else None
    if blocked:
        plan.waiting[key] = blocked
        return None
    plan.to_schedule.append((key, f"trigger rule {task.trigger_rule}: {decision.reason}"))
    return TaskState.SCHEDULED


def _decide_group_task(
    task: SerializedTask,
    dag: SerializedDag,
    current: dict[str, TaskState],
    plan: RunPlan,
    past_states: Mapping[str, TaskState] | None,
    instances: dict[str, list[TaskState]],
    explain: bool,
) -> None:
    """A task of a mapped task group with upstream tasks of its group: instance i follows
    its trigger rule over their instance i (and every instance of its other upstream), as in
    Airflow. It expands once those group tasks have and its other upstream tasks finished;
    when one of those group tasks ended without instances, the task follows its rule whole."""
    task_id = task.task_id
    group = dag.group_upstream[task_id]
    mine = instances.get(task_id)
    if mine is None:
        if any(up not in instances and current.get(up) in FINISHED for up in group):
            decide_task(task, dag, current, plan, past_states, instances, explain)
            return
        pending = [up for up in group if up not in instances] + [
            up for up in task.upstream if up not in group and current.get(up) not in FINISHED
        ]
        if pending:
            plan.waiting[task_id] = f"waiting for {', '.join(pending)}"
            return
        plan.to_schedule.append((task_id, "expands with the tasks of its mapped task group"))
        current[task_id] = TaskState.SCHEDULED
        return
    for index, state in enumerate(mine):
        if state is not TaskState.NONE:
            continue
        upstream = _at_index(task.upstream, group, index, current, instances)
        setups: list[TaskState] = []
        if task.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:
            setup_ids = [up for up in task.upstream if dag.tasks[up].is_setup]
            setups = _at_index(setup_ids, group, index, current, instances)
        decision = evaluate(task.trigger_rule, UpstreamSummary.of(upstream, setups))
        if task_id in dag.setup_constrained:
            decision = _setup_constraints(task, current, decision)
        waits_for = functools.partial(_pending_at, task, group, index, current, instances)
        moved = _move(task, f"{task_id}[{index}]", decision, waits_for, plan, past_states)
        if moved is not None:
            mine[index] = moved
    current[task_id] = aggregate(mine)


def _at_index(
    upstream: Sequence[str],
    group: Sequence[str],
    index: int,
    current: Mapping[str, TaskState],
    instances: Mapping[str, Sequence[TaskState]],
) -> list[TaskState]:
    """The states instance ``index`` of a group task counts: the same index of its group's
    tasks, every instance of the others."""
    found: list[TaskState] = []
    for up in upstream:
        if up in group and up in instances:
            found.append(_own_index(up, index, instances))
        elif up in instances:
            found.extend(instances[up])
        else:
            found.append(current.get(up, TaskState.NONE))
    return found


def _pending_at(
    task: SerializedTask,
    group: Sequence[str],
    index: int,
    current: Mapping[str, TaskState],
    instances: Mapping[str, Sequence[TaskState]],
) -> list[str]:
    """What instance ``index`` of a group task still waits for, by name."""
    found = []
    for up in task.upstream:
        if up in group and up in instances:
            if _own_index(up, index, instances) not in FINISHED:
                found.append(f"{up}[{index}]")
        elif current.get(up) not in FINISHED:
            found.append(up)
    return found


def _own_index(up: str, index: int, instances: Mapping[str, Sequence[TaskState]]) -> TaskState:
    """The state of instance ``index`` of the group task ``up`` (none while it has none)."""
    theirs = instances.get(up, ())
    return theirs[index] if index < len(theirs) else TaskState.NONE


def aggregate(states: Sequence[TaskState]) -> TaskState:
    """The state of a mapped task as a whole, from its instances' states."""
    if TaskState.NONE in states:
        return TaskState.NONE  # an instance still to schedule: its rule is asked again
    for state in states:
        if state not in FINISHED:
            return state
    for worst in WORST_FIRST:
        if worst in states:
            return worst
    if all(state is TaskState.SKIPPED for state in states):
        return TaskState.SKIPPED
    return TaskState.SUCCESS


def _setup_constraints(
    task: SerializedTask, current: Mapping[str, TaskState], decision: Decision
) -> Decision:
    """A teardown also waits for the tasks between its setups and itself; a work task also
    needs the setups it depends on indirectly to have succeeded (model.setup_teardown)."""
    pending = [t for t in task.teardown_scope if current.get(t, TaskState.NONE) not in FINISHED]
    if pending and decision.verdict is not Verdict.WAIT:
        return Decision(Verdict.WAIT, f"tasks between its setups and it not finished: {pending}")
    setups = [current.get(t, TaskState.NONE) for t in task.indirect_setups]
    if not setups:
        return decision
    if any(state in FAILED_LIKE for state in setups):
        return Decision(Verdict.UPSTREAM_FAILED, "a setup it depends on did not succeed")
    if TaskState.SKIPPED in setups:
        return Decision(Verdict.SKIP, "a setup it depends on was skipped")
    if any(state is not TaskState.SUCCESS for state in setups) and decision.verdict is Verdict.RUN:
        return Decision(Verdict.WAIT, "waiting for the setups it depends on")
    return decision


def _all_success_waits(upstream: Sequence[TaskState]) -> bool:
    """What ``all_success`` says for these upstream states is "wait": some have not
    finished, and every one that has, succeeded."""
    waits = False
    for state in upstream:
        if state is TaskState.SUCCESS:
            continue
        if state in FINISHED:
            return False  # failed or skipped: the rule itself decides
        waits = True
    return waits


def _with_instances(
    upstream: Sequence[str],
    current: Mapping[str, TaskState],
    instances: Mapping[str, Sequence[TaskState]],
) -> list[TaskState]:
    found: list[TaskState] = []
    for up in upstream:
        if up in instances:
            found.extend(instances[up])
        else:
            found.append(current.get(up, TaskState.NONE))
    return found


def absent_tasks(dag: SerializedDag, states: Mapping[str, TaskState]) -> frozenset[str]:
    """Tasks with a date range of their own that have no instance in this run (as Airflow,
    a run outside a task's start_date / end_date has none): they are never scheduled, do
    not decide the run's outcome, and tasks downstream of them wait for them, as Airflow's
    do (so the run ends deadlocked, failed, if any has one). A run outside its DAG's own
    dates has no instance at all: every task is absent, and the run succeeds at once."""
    if not states:
        return frozenset(dag.tasks)
    if not dag.dated_tasks:
        return frozenset()
    return frozenset(tid for tid in dag.dated_tasks if tid not in states)


def run_outcome(
    dag: SerializedDag, states: Mapping[str, TaskState], plan: RunPlan
) -> tuple[RunState | None, str]:
    """The run's final state once no task can move any more, else (None, "")."""
    absent = absent_tasks(dag, states)
    unfinished = [
        tid
        for tid in dag.tasks
        if states.get(tid, TaskState.NONE) not in FINISHED and tid not in absent
    ]
    if unfinished:
        if any(states.get(tid, TaskState.NONE) is not TaskState.NONE for tid in unfinished):
            return None, ""  # something is scheduled, queued, running or up for retry
        if any(reason.startswith("depends_on_past") for reason in plan.waiting.values()):
            return None, ""  # waits for an earlier run to finish
        return RunState.FAILED, f"deadlock: {', '.join(unfinished)} can never run"
    # Teardowns do not decide the outcome (unless on_failure_fail_dagrun): a failed work task
    # before a teardown that succeeded still fails the run.
    failed_leaves = [
        tid for tid in dag.outcome_leaves if tid not in absent and states[tid] in FAILED_LIKE
    ]
    if failed_leaves:
        return RunState.FAILED, f"failed: {', '.join(failed_leaves)}"
    return RunState.SUCCESS, "every leaf task succeeded or was skipped"


def branch_skips(dag: SerializedDag, branch_task_id: str, chosen: list[str]) -> list[str]:
    """The direct downstream tasks of a branch task that it did not choose and that are not
    downstream of a chosen task (a join after the chosen branch waits for it, as in
    Airflow, rather than being skipped with the branches not taken)."""
    kept = set(chosen)
    for tid in chosen:
        if tid in dag.tasks:
            kept.update(all_downstream(dag, tid))
    return [tid for tid in dag.tasks[branch_task_id].downstream if tid not in kept]


def all_downstream(dag: SerializedDag, task_id: str) -> list[str]:
    """Every task downstream of ``task_id``, directly or not, in topological order."""
    found: set[str] = set()
    stack = list(dag.tasks[task_id].downstream)
    while stack:
        tid = stack.pop()
        if tid not in found:
            found.add(tid)
            stack.extend(dag.tasks[tid].downstream)
    return [tid for tid in dag.tasks if tid in found]


def short_circuit_skips(dag: SerializedDag, task_id: str, *, every: bool) -> list[str]:
    """What a short circuit that said stop skips: every downstream task (``every``) or the
    direct ones; teardowns are left to run, to clean up after their setups."""
    found = all_downstream(dag, task_id) if every else list(dag.tasks[task_id].downstream)
    return [tid for tid in found if not dag.tasks[tid].is_teardown]
