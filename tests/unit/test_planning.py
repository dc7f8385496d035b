"""``plan_run`` is the scheduler's brain, and pure: states in, moves out.

The DAGs here are real ones, serialized and read back through JSON exactly as the scheduler
reads them from the store, so these tests also cover that the serialized structure carries
what planning needs (upstream, trigger rules, depends_on_past, leaves).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor import DAG, BranchPythonOperator, EmptyOperator, TriggerRule, chain
from conveyor.engine.planning import RunPlan, branch_skips, plan_run
from conveyor.loading.serialize import serialize_dag
from conveyor.serialized import SerializedDag
from conveyor.states import RunState, TaskState
from state_letters import SK, UF, F, N, R, S


def structure(d: DAG) -> SerializedDag:
    """The DAG as the scheduler sees it: serialized, stored as JSON, read back."""
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))


def ids(moves: list[tuple[str, str]]) -> list[str]:
    return [task_id for task_id, _ in moves]


def plan(sd: SerializedDag, **states: TaskState) -> RunPlan:
    """Plan with every task not named in ``states`` still in state none."""
    full: Mapping[str, TaskState] = {tid: states.get(tid, N) for tid in sd.tasks}
    return plan_run(sd, full)


def linear(*names: str, dag_id: str = "d", **task_kwargs: object) -> SerializedDag:
    with DAG(dag_id) as d:
        chain(*(EmptyOperator(task_id=n, **task_kwargs) for n in names))  # type: ignore[arg-type]
    return structure(d)


def test_roots_are_scheduled_first_and_the_rest_wait() -> None:
    with DAG("d") as d:
        [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")] >> EmptyOperator(task_id="c")
    p = plan(structure(d))
    assert ids(p.to_schedule) == ["a", "b"]
    assert p.to_skip == p.to_upstream_fail == []
    assert p.waiting == {"c": "2 of 2 upstream tasks not finished: waiting for a, b"}
    assert p.run_state is None


def test_a_missing_state_counts_as_none() -> None:
    sd = linear("a", "b")
    assert ids(plan_run(sd, {"b": TaskState.NONE}).to_schedule) == ["a"]


def test_a_run_with_no_instance_at_all_succeeds_at_once() -> None:
    """A run dated before its DAG's start_date has no task instance (as on Airflow)."""
    done = plan_run(linear("a", "b"), {})
    assert (done.to_schedule, done.run_state) == ([], RunState.SUCCESS)


def test_chain_progresses_one_task_at_a_time() -> None:
    sd = linear("a", "b", "c")
    assert ids(plan(sd, a=R).to_schedule) == []
    step = plan(sd, a=S)
    assert ids(step.to_schedule) == ["b"]
    assert step.to_schedule[0][1] == "trigger rule all_success: all upstream succeeded"
    assert set(step.waiting) == {"c"}
    assert ids(plan(sd, a=S, b=S).to_schedule) == ["c"]
    done = plan(sd, a=S, b=S, c=S)
    assert (done.to_schedule, done.run_state) == ([], RunState.SUCCESS)


def test_tasks_already_moving_are_left_alone() -> None:
    sd = linear("a", "b")
    for state in (TaskState.SCHEDULED, TaskState.QUEUED, R, TaskState.UP_FOR_RETRY):
        p = plan(sd, a=state)
        assert p.to_schedule == p.to_skip == p.to_upstream_fail == []
        assert p.run_state is None, state


def test_upstream_failed_cascades_through_every_level_in_one_call() -> None:
    with DAG("d") as d:
        a, b, c, e = (EmptyOperator(task_id=x) for x in "abce")
        side = EmptyOperator(task_id="side")
        chain(a, b, c, e)
        a >> side
    p = plan(structure(d), a=F)
    assert ids(p.to_upstream_fail) == ["b", "c", "e", "side"]  # topological, by definition
    assert dict(p.to_upstream_fail)["b"] == "trigger rule all_success: 1 upstream failed"
    assert p.to_schedule == []
    assert p.run_state is RunState.FAILED
    assert p.run_reason == "failed: e, side"


def branching_dag() -> SerializedDag:
    with DAG("d") as d:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left")
        left, left2 = EmptyOperator(task_id="left"), EmptyOperator(task_id="left2")
        right, right2 = EmptyOperator(task_id="right"), EmptyOperator(task_id="right2")
        join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
        pick >> [left, right]
        left >> left2 >> join
        right >> right2 >> join
    return structure(d)


def test_branch_skips_the_unchosen_path_and_the_join_still_runs() -> None:
    sd = branching_dag()
    assert sd.tasks["pick"].is_branch
    skipped = branch_skips(sd, "pick", ["left"])
    assert skipped == ["right"]

    # The worker marks pick success and right skipped; planning carries the skip on.
    after_branch = plan(sd, pick=S, right=SK)
    assert ids(after_branch.to_schedule) == ["left"]
    assert ids(after_branch.to_skip) == ["right2"]
    assert "join" in after_branch.waiting
    assert after_branch.run_state is None

    ready = plan(sd, pick=S, right=SK, right2=SK, left=S, left2=S)
    assert ids(ready.to_schedule) == ["join"]
    assert ready.to_schedule[0][1] == (
        "trigger rule none_failed_min_one_success: no upstream failed and at least one succeeded"
    )

    finished = plan(sd, pick=S, right=SK, right2=SK, left=S, left2=S, join=S)
    assert finished.run_state is RunState.SUCCESS


def test_join_with_default_rule_is_skipped_after_a_branch() -> None:
    with DAG("d") as d:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "a")
        a, b, join = (EmptyOperator(task_id=x) for x in ("a", "b", "join"))
        pick >> [a, b] >> join
    sd = structure(d)
    p = plan(sd, pick=S, b=SK, a=S)
    assert ids(p.to_skip) == ["join"]
    assert p.run_state is RunState.SUCCESS  # skipped leaves do not fail a run


def test_branch_choosing_a_task_further_down_skips_the_direct_tasks_not_leading_there() -> None:
    sd = branching_dag()
    # "right2" is behind "right": "left" leads nowhere near it and is skipped; "right" is
    # skipped too (not chosen, not after a chosen task), so "right2" is skipped by its rule.
    assert branch_skips(sd, "pick", ["right2"]) == ["left", "right"]
    p = plan(sd, pick=S, left=SK, right=SK)
    assert ids(p.to_skip) == ["left2", "right2", "join"]


def test_a_direct_join_after_the_chosen_branch_is_not_skipped() -> None:
    with DAG("d") as d:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "work")
        work, other = EmptyOperator(task_id="work"), EmptyOperator(task_id="other")
        join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
        pick >> [work, other, join]
        work >> join
    sd = structure(d)
    assert branch_skips(sd, "pick", ["work"]) == ["other"]
    assert ids(plan(sd, pick=S, other=SK, work=S).to_schedule) == ["join"]


def test_branch_choosing_nothing_skips_every_direct_downstream() -> None:
    sd = branching_dag()
    assert branch_skips(sd, "pick", []) == ["left", "right"]
    p = plan(sd, pick=S, left=SK, right=SK)
    assert ids(p.to_skip) == ["left2", "right2", "join"]
    assert p.run_state is RunState.SUCCESS


def test_run_outcome_is_decided_by_the_leaves() -> None:
    with DAG("d") as d:
        work = EmptyOperator(task_id="work")
        cleanup = EmptyOperator(task_id="cleanup", trigger_rule=TriggerRule.ALL_DONE)
        work >> cleanup
    sd = structure(d)
    assert sd.leaves == ["cleanup"]

    # cleanup runs after a failure, and its success makes the run a success.
    after_failure = plan(sd, work=F)
    assert ids(after_failure.to_schedule) == ["cleanup"]
    assert after_failure.run_state is None
    assert plan(sd, work=F, cleanup=S).run_state is RunState.SUCCESS

    failed_leaf = plan(sd, work=S, cleanup=F)
    assert failed_leaf.run_state is RunState.FAILED
    assert failed_leaf.run_reason == "failed: cleanup"


def test_run_with_two_leaves_fails_if_either_fails() -> None:
    with DAG("d") as d:
        root = EmptyOperator(task_id="root")
        root >> [EmptyOperator(task_id="x"), EmptyOperator(task_id="y")]
    sd = structure(d)
    assert plan(sd, root=S, x=S, y=S).run_state is RunState.SUCCESS
    assert plan(sd, root=S, x=S, y=F).run_state is RunState.FAILED
    assert plan(sd, root=S, x=R, y=F).run_state is None  # x still running


def test_a_structure_that_can_never_move_is_a_deadlock() -> None:
    # Definitions refuse cycles, so corrupt stored JSON is the way to get a run stuck for
    # good. The run must end failed with the stuck tasks named, not run forever.
    with DAG("d") as d:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    data = json.loads(json.dumps(serialize_dag(d)))
    data["tasks"][0]["upstream"] = ["b"]
    sd = SerializedDag.from_dict(data)
    p = plan(sd)
    assert p.to_schedule == []
    assert set(p.waiting) == {"a", "b"}
    assert p.run_state is RunState.FAILED
    assert p.run_reason == "deadlock: a, b can never run"


def test_depends_on_past_waits_while_the_previous_run_failed() -> None:
    sd = linear("a", "b", depends_on_past=True)
    assert sd.tasks["a"].depends_on_past
    p = plan_run(sd, {"a": N, "b": N}, past_states={"a": F, "b": UF})
    assert p.to_schedule == []
    assert p.waiting["a"] == "depends_on_past: the previous run's a is failed"
    assert p.run_state is None  # waits for a person to fix the earlier run; not a deadlock


def test_depends_on_past_waits_while_the_previous_run_is_unfinished() -> None:
    sd = linear("a", depends_on_past=True)
    p = plan_run(sd, {"a": N}, past_states={"a": R})
    assert p.waiting == {"a": "depends_on_past: the previous run's a is running"}


def test_depends_on_past_lets_the_task_go_after_success_skip_or_nothing() -> None:
    sd = linear("a", depends_on_past=True)
    for past in (None, {}, {"a": S}, {"a": SK}, {"other": F}):
        p = plan_run(sd, {"a": N}, past_states=past)
        assert ids(p.to_schedule) == ["a"], past


def test_past_states_are_ignored_for_tasks_without_depends_on_past() -> None:
    sd = linear("a")
    p = plan_run(sd, {"a": N}, past_states={"a": F})
    assert ids(p.to_schedule) == ["a"]


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(st.sampled_from(list(TriggerRule)), min_size=6, max_size=6),
    states=st.lists(st.sampled_from(list(TaskState)), min_size=6, max_size=6),
)
def test_a_hop_plans_the_same_moves_without_the_explanations(
    rules: list[TriggerRule], states: list[TaskState]
) -> None:
    """``explain=False`` (every hop) skips counting for tasks that plainly wait; the moves and
    the run's outcome must be exactly those of the full plan, for any rules and states."""
    with DAG("diamonds") as d:
        t = [EmptyOperator(task_id=f"t{i}", trigger_rule=rule) for i, rule in enumerate(rules)]
        t[0] >> [t[1], t[2]] >> t[3]
        [t[0], t[3]] >> t[4] >> t[5]
    sd = structure(d)
    current = {f"t{i}": state for i, state in enumerate(states)}
    full, lean = plan_run(sd, current), plan_run(sd, current, explain=False)
    assert (lean.to_schedule, lean.to_skip, lean.to_upstream_fail) == (
        full.to_schedule,
        full.to_skip,
        full.to_upstream_fail,
    )
    assert (lean.run_state, lean.run_reason) == (full.run_state, full.run_reason)
