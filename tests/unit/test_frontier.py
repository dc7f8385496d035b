"""The hop's frontier plan makes exactly the moves the whole-run plan makes.

The fast path keeps a run fully planned after every hop, so when one task finishes, every
move the whole-run plan would make starts at that task. The property below drives random
DAGs (random edges and trigger rules, fan-ins wider than the sampling threshold) through
random outcomes and checks the frontier against ``plan_run`` at every step.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor import DAG, EmptyOperator, TriggerRule, chain
from conveyor.engine.frontier import WIDE_FAN_IN, plan_after, plans_incrementally
from conveyor.engine.planning import RunPlan, plan_run
from conveyor.loading.serialize import serialize_dag
from conveyor.serialized import SerializedDag
from conveyor.states import FINISHED, TaskState

RULES = [
    rule
    for rule in TriggerRule
    if rule not in (TriggerRule.ALL_DONE_SETUP_SUCCESS, TriggerRule.ALWAYS)
]


class StoredRun:
    """The run's states as the store holds them, and what the frontier asked of it."""

    def __init__(self, states: dict[str, TaskState], sample_size: int) -> None:
        self.stored = states
        self.sample_size = sample_size
        self.read: set[str] = set()

    def states(self, task_ids: Collection[str]) -> Mapping[str, TaskState]:
        self.read.update(task_ids)
        return {tid: self.stored[tid] for tid in task_ids}

    def unfinished_sample(self) -> Collection[str]:
        unfinished = [tid for tid, state in self.stored.items() if state not in FINISHED]
        return unfinished[: self.sample_size]


def structure(d: DAG) -> SerializedDag:
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))


def moves(plan: RunPlan) -> tuple[set[str], set[str], set[str]]:
    return (
        {tid for tid, _ in plan.to_schedule},
        {tid for tid, _ in plan.to_skip},
        {tid for tid, _ in plan.to_upstream_fail},
    )


def apply(states: dict[str, TaskState], plan: RunPlan) -> None:
    for tid, _ in plan.to_schedule:
        states[tid] = TaskState.SCHEDULED
    for tid, _ in plan.to_skip:
        states[tid] = TaskState.SKIPPED
    for tid, _ in plan.to_upstream_fail:
        states[tid] = TaskState.UPSTREAM_FAILED


@st.composite
def dags(draw: st.DrawFn) -> SerializedDag:
    size = draw(st.integers(min_value=2, max_value=12))
    wide = draw(st.booleans())  # a fan-out wider than the threshold, into one join
    with DAG("random") as d:
        tasks = [
            EmptyOperator(task_id=f"t{i:02d}", trigger_rule=draw(st.sampled_from(RULES)))
            for i in range(size)
        ]
        for i, task in enumerate(tasks[1:], start=1):
            for up in draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=3)):
                tasks[up] >> task
        if wide:
            join = EmptyOperator(task_id="join")
            for i in range(WIDE_FAN_IN + 3):
                tasks[0] >> EmptyOperator(task_id=f"w{i:02d}") >> join
    return structure(d)


@settings(max_examples=150, deadline=None)
@given(
    dag=dags(),
    outcomes=st.lists(
        st.sampled_from([TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED]), max_size=80
    ),
    picks=st.lists(st.integers(min_value=0, max_value=1000), max_size=80),
    sample_size=st.integers(min_value=1, max_value=8),
)
def test_the_frontier_plans_what_the_whole_run_plan_plans(
    dag: SerializedDag,
    outcomes: list[TaskState],
    picks: list[int],
    sample_size: int,
) -> None:
    assert plans_incrementally(dag)
    states = {tid: TaskState.NONE for tid in dag.tasks}
    apply(states, plan_run(dag, states, explain=False))  # the run starts
    for outcome, pick in zip(outcomes, picks, strict=False):
        scheduled = sorted(tid for tid, s in states.items() if s is TaskState.SCHEDULED)
        if not scheduled:
            break
        finished = scheduled[pick % len(scheduled)]
        states[finished] = outcome
        whole = plan_run(dag, states, explain=False)
        frontier = plan_after(dag, {finished: outcome}, StoredRun(dict(states), sample_size))
        assert frontier is not None
        assert moves(frontier) == moves(whole)
        apply(states, whole)


def test_a_chain_hop_reads_only_the_next_task() -> None:
    with DAG("chain") as d:
        chain(*[EmptyOperator(task_id=f"t{i:04d}") for i in range(500)])
    dag = structure(d)
    states = {tid: TaskState.NONE for tid in dag.tasks}
    states.update({f"t{i:04d}": TaskState.SUCCESS for i in range(250)})
    reads = StoredRun(states, sample_size=8)
    plan = plan_after(dag, {"t0249": TaskState.SUCCESS}, reads)
    assert plan is not None and moves(plan) == ({"t0250"}, set(), set())
    assert reads.read == {"t0250"}


def wide_join(width: int, **finished: TaskState) -> tuple[SerializedDag, dict[str, TaskState]]:
    """A fan of ``width`` tasks between ``start`` (succeeded) and ``end`` (not scheduled), the
    fan's tasks running but those ``finished`` names."""
    with DAG("fan") as d:
        start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
        for i in range(width):
            start >> EmptyOperator(task_id=f"t{i:04d}") >> end
    dag = structure(d)
    states = {tid: TaskState.RUNNING for tid in dag.tasks}
    states.update(start=TaskState.SUCCESS, end=TaskState.NONE, **finished)
    return dag, states


def test_a_wide_join_waits_on_a_sampled_unfinished_upstream_without_reading_the_rest() -> None:
    dag, states = wide_join(1000, t0000=TaskState.SUCCESS)
    reads = StoredRun(states, sample_size=8)
    plan = plan_after(dag, {"t0000": TaskState.SUCCESS}, reads)
    assert plan is not None and moves(plan) == (set(), set(), set())
    assert reads.read == {"end"}  # one state, not a thousand


def test_a_failure_before_a_wide_join_reads_its_upstream_and_fails_it() -> None:
    dag, states = wide_join(100, t0007=TaskState.FAILED)
    plan = plan_after(dag, {"t0007": TaskState.FAILED}, StoredRun(states, sample_size=8))
    assert plan is not None and moves(plan) == (set(), set(), {"end"})


def test_runs_the_frontier_cannot_plan_are_planned_whole() -> None:
    with DAG("past") as d:
        EmptyOperator(task_id="a", depends_on_past=True) >> EmptyOperator(task_id="b")
    dag = structure(d)
    assert not plans_incrementally(dag)
    assert plan_after(dag, {"a": TaskState.SUCCESS}, StoredRun({}, 1)) is None
