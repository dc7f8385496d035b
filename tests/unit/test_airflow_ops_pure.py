"""Setup / teardown, short circuit and latest-only, where their logic is pure: the teardown
trigger rule, the run outcome that sets teardowns aside, and the serialized roles."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor import (
    DAG,
    EmptyOperator,
    ShortCircuitOperator,
    TriggerRule,
    setup,
    task,
    teardown,
)
from conveyor.engine.planning import RunPlan, all_downstream, plan_run
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.model.trigger_rules import UpstreamSummary, Verdict, evaluate
from conveyor.operators.latest_only import is_latest_interval
from conveyor.serialized import SerializedDag
from conveyor.states import RunState, TaskState
from state_letters import SK, UF, F, N, S

FINISHED = [S, F, SK, UF]


def structure(d: DAG) -> SerializedDag:
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))


def plan(sd: SerializedDag, **states: TaskState) -> RunPlan:
    full: Mapping[str, TaskState] = {tid: states.get(tid, N) for tid in sd.tasks}
    return plan_run(sd, full)


def setup_work_teardown(**teardown_kwargs: bool) -> SerializedDag:
    with DAG("st") as d:
        create = EmptyOperator(task_id="create").as_setup()
        work = EmptyOperator(task_id="work")
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create, **teardown_kwargs)
        create >> work >> delete
    return structure(d)


def test_as_teardown_sets_rule_role_and_links_the_setup() -> None:
    sd = setup_work_teardown()
    assert sd.tasks["create"].is_setup and not sd.tasks["create"].is_teardown
    assert sd.tasks["delete"].is_teardown
    assert sd.tasks["delete"].trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert set(sd.tasks["delete"].upstream) == {"create", "work"}
    assert not sd.tasks["work"].raw.get("is_setup")  # only set roles are serialized


def test_teardown_runs_after_failed_work_and_the_run_still_fails() -> None:
    sd = setup_work_teardown()
    p = plan(sd, create=S, work=F)
    assert [t for t, _ in p.to_schedule] == ["delete"]
    done = plan(sd, create=S, work=F, delete=S)
    assert done.run_state is RunState.FAILED
    assert "work" in done.run_reason


def test_teardown_failure_alone_does_not_fail_the_run() -> None:
    sd = setup_work_teardown()
    assert plan(sd, create=S, work=S, delete=F).run_state is RunState.SUCCESS


def test_on_failure_fail_dagrun_makes_the_teardown_count() -> None:
    sd = setup_work_teardown(on_failure_fail_dagrun=True)
    result = plan(sd, create=S, work=S, delete=F)
    assert result.run_state is RunState.FAILED
    assert "delete" in result.run_reason


def test_teardown_is_upstream_failed_when_its_setup_failed_and_skipped_when_skipped() -> None:
    sd = setup_work_teardown()
    failed = plan(sd, create=F)
    assert [t for t, _ in failed.to_upstream_fail] == ["work", "delete"]
    assert failed.run_state is RunState.FAILED
    skipped = plan(sd, create=SK)
    assert [t for t, _ in skipped.to_skip] == ["work", "delete"]


def test_teardown_waits_for_the_work_between() -> None:
    sd = setup_work_teardown()
    p = plan(sd, create=S, work=TaskState.RUNNING)
    assert "delete" in p.waiting and p.to_schedule == []


def test_decorators_make_setup_and_teardown_tasks() -> None:
    with DAG("deco") as d:

        @setup
        def make() -> str:
            return "x"

        @task
        def use(x: str) -> None: ...

        @teardown(on_failure_fail_dagrun=True)
        def clean(x: str) -> None: ...

        @task.teardown
        def clean2() -> None: ...

        made = make()
        used = use(made)
        cleaned = clean(made)
        used >> cleaned
        used >> clean2()
    sd = structure(d)
    assert sd.tasks["make"].is_setup
    assert sd.tasks["clean"].is_teardown and sd.tasks["clean"].on_failure_fail_dagrun
    assert sd.tasks["clean2"].is_teardown and not sd.tasks["clean2"].on_failure_fail_dagrun
    # clean2 has no setup upstream: it runs once its upstream is done, whatever the outcome
    assert [t for t, _ in plan(sd, make=S, use=F, clean=S).to_schedule] == ["clean2"]


def test_a_setup_cannot_also_be_a_teardown() -> None:
    with DAG("bad"):
        a = EmptyOperator(task_id="a").as_setup()
        with pytest.raises(DagDefinitionError, match="'a' is a setup"):
            a.as_teardown()


@given(
    up=st.lists(st.sampled_from([*FINISHED, N, TaskState.RUNNING]), min_size=1, max_size=5),
    n_setups=st.integers(min_value=0, max_value=5),
)
def test_teardown_rule_properties(up: list[TaskState], n_setups: int) -> None:
    setups = up[: min(n_setups, len(up))]
    decision = evaluate(TriggerRule.ALL_DONE_SETUP_SUCCESS, UpstreamSummary.of(up, setups))
    finished = all(s in FINISHED for s in up)
    if not finished:
        assert decision.verdict is Verdict.WAIT  # never before all upstream is done
    elif not setups or S in setups:
        assert decision.verdict is Verdict.RUN  # failures of work never stop it
    elif all(s is SK for s in setups):
        assert decision.verdict is Verdict.SKIP
    else:
        assert decision.verdict is Verdict.UPSTREAM_FAILED


@given(
    work=st.sampled_from(FINISHED),
    teardown_state=st.sampled_from(FINISHED),
    fail_dagrun=st.booleans(),
)
def test_run_outcome_is_decided_by_work_not_teardown(
    work: TaskState, teardown_state: TaskState, fail_dagrun: bool
) -> None:
    sd = setup_work_teardown(on_failure_fail_dagrun=fail_dagrun)
    outcome = plan(sd, create=S, work=work, delete=teardown_state).run_state
    failed = work in (F, UF) or (fail_dagrun and teardown_state in (F, UF))
    assert outcome is (RunState.FAILED if failed else RunState.SUCCESS)


def test_short_circuit_skip_all_reaches_every_downstream_task() -> None:
    with DAG("sc") as d:
        check = ShortCircuitOperator(task_id="check", python_callable=lambda: False)
        a, b, c = (EmptyOperator(task_id=n) for n in "abc")
        check >> a >> b >> c
        EmptyOperator(task_id="other") >> c
    sd = structure(d)
    assert all_downstream(sd, "check") == ["a", "b", "c"]
    assert sd.tasks["check"].operator_name == "ShortCircuitOperator"


def test_latest_only_knows_the_latest_interval() -> None:
    with DAG("daily", schedule="@daily", start_date=datetime(2026, 1, 1)) as d:
        pass
    day = timedelta(days=1)
    start = datetime(2026, 1, 10, tzinfo=UTC)
    context = {"dag": d, "data_interval_start": start, "data_interval_end": start + day}
    assert is_latest_interval(context, start + day + timedelta(hours=3))  # the newest run
    assert not is_latest_interval(context, start + 3 * day)  # a later interval has ended
    with DAG("once", schedule="@once", start_date=datetime(2026, 1, 1)) as once:
        pass
    assert is_latest_interval({**context, "dag": once}, start + 30 * day)


def test_labels_sit_on_the_edges_they_were_written_on() -> None:
    from conveyor import Label, TaskGroup

    with DAG("labels") as d:
        check, load, skip, report, a, b = (
            EmptyOperator(task_id=n) for n in ("check", "load", "skip", "report", "a", "b")
        )
        check >> Label("rows found") >> load
        check.set_downstream(skip, edge_modifier=Label("empty"))
        [load, skip] >> Label("then") >> report
        report << Label("back") << a
        with TaskGroup("g") as g:
            EmptyOperator(task_id="inner")
        g >> Label("from group") >> b
    sd = structure(d)
    assert sd.tasks["load"].raw["edge_labels"] == {"check": "rows found"}
    assert sd.tasks["skip"].raw["edge_labels"] == {"check": "empty"}
    assert sd.tasks["report"].raw["edge_labels"] == {"a": "back", "load": "then", "skip": "then"}
    assert sd.tasks["b"].raw["edge_labels"] == {"g.inner": "from group"}
    assert set(sd.tasks["report"].upstream) == {"a", "load", "skip"}
    assert "edge_labels" not in sd.tasks["check"].raw  # only tasks with labelled edges


def test_a_label_with_nothing_before_it_is_an_error() -> None:
    from conveyor import Label

    with DAG("bad_label"):
        b = EmptyOperator(task_id="b")
        with pytest.raises(DagDefinitionError, match="no task before the label"):
            Label("x") >> b


def test_a_mapped_group_makes_zipped_mapped_tasks_and_checks_its_input() -> None:
    from conveyor import task_group
    from conveyor.model.mapping import expansion_length

    with DAG("mg") as d:

        @task
        def double(x: int) -> int:
            return x * 2

        @task
        def show(y: int, label: str) -> str:
            return f"{label}{y}"

        @task_group
        def per_item(x: int, label: str) -> None:
            show(double(x), label)

        per_item.expand(x=[1, 2], label=["a", "b"])  # the cross product: 4 combinations
        with pytest.raises(DagDefinitionError, match="takes literal lists"):
            per_item.expand(x=double(1), label=["a"])
        with pytest.raises(DagDefinitionError, match="same keys"):
            per_item.expand_kwargs([{"x": 1, "label": "a"}, {"x": 2}])
    sd = structure(d)
    mapped = sd.tasks["per_item.show"].raw["mapped"]
    assert mapped["zip"] is True
    assert mapped["expand"] == {
        "y": {"xcom": ["per_item.double", "return_value"]},
        "label": {"length": 4},
    }
    assert sd.tasks["per_item.double"].raw["mapped"]["expand"] == {"x": {"length": 4}}
    zipped = {"a": {"length": 3}, "b": {"xcom": ["t", "k"]}}
    assert expansion_length(zipped, lambda *_: [1, 2, 3], zipped=True) == 3
    assert "differ in length" in str(expansion_length(zipped, lambda *_: [1], zipped=True))
    assert expansion_length(zipped, lambda *_: [1, 2, 3]) == 9  # not zipped: the product


def scoped() -> SerializedDag:
    """s >> a >> [b (one_success), c] ; b >> t ; c >> b ; t is s's teardown."""
    with DAG("scoped") as d:
        s = EmptyOperator(task_id="s").as_setup()
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b", trigger_rule="all_done")
        c = EmptyOperator(task_id="c")
        t = EmptyOperator(task_id="t").as_teardown(setups=s)
        s >> a >> c >> b >> t
    return structure(d)


def test_setup_scope_and_indirect_setups_are_serialized() -> None:
    sd = scoped()
    assert sd.tasks["t"].teardown_scope == ["a", "c"]
    assert sd.tasks["b"].indirect_setups == ["s"]  # all_done, but it needs s to succeed
    assert sd.tasks["a"].indirect_setups == []  # s is its direct upstream
    assert "indirect_setups" not in sd.tasks["a"].raw


def test_a_work_task_in_a_failed_setups_scope_is_upstream_failed_despite_all_done() -> None:
    sd = scoped()
    p = plan(sd, s=F)
    assert [t for t, _ in p.to_upstream_fail] == ["a", "c", "b", "t"]
    skipped = plan(sd, s=SK)
    assert [t for t, _ in skipped.to_skip] == ["a", "c", "b", "t"]
    # the setup succeeded: all_done lets b run after c failed, and t tears down after
    ok = plan(sd, s=S, a=S, c=F)
    assert [t for t, _ in ok.to_schedule] == ["b"]


def test_a_teardown_waits_for_its_whole_scope() -> None:
    with DAG("scope_wait") as d:
        s = EmptyOperator(task_id="s").as_setup()
        slow = EmptyOperator(task_id="slow")
        quick = EmptyOperator(task_id="quick", trigger_rule="one_success")
        t = EmptyOperator(task_id="t").as_teardown(setups=s)
        s >> slow >> quick >> t
        s >> quick
    sd = structure(d)
    assert sd.tasks["t"].teardown_scope == ["slow"]
    p = plan(sd, s=S, slow=TaskState.RUNNING, quick=S)
    assert p.to_schedule == [] and "slow" in p.waiting["t"]
    assert [t for t, _ in plan(sd, s=S, slow=F, quick=S).to_schedule] == ["t"]


def test_a_short_circuit_leaves_teardowns_to_run() -> None:
    from conveyor.engine.planning import short_circuit_skips

    with DAG("sc_td") as d:
        s = EmptyOperator(task_id="s").as_setup()
        check = ShortCircuitOperator(task_id="check", python_callable=lambda: False)
        work = EmptyOperator(task_id="work")
        t = EmptyOperator(task_id="t").as_teardown(setups=s)
        s >> check >> work >> t
        check >> t
    sd = structure(d)
    assert short_circuit_skips(sd, "check", every=True) == ["work"]
    assert short_circuit_skips(sd, "check", every=False) == ["work"]
    # work skipped, its setup succeeded: the teardown still runs
    assert [t for t, _ in plan(sd, s=S, check=S, work=SK).to_schedule] == ["t"]


def test_a_with_block_puts_its_tasks_between_setup_and_teardown() -> None:
    from conveyor import TaskGroup

    with DAG("with_block") as d:

        @setup
        def make() -> str:
            return "id"

        @teardown
        def drop(cluster: str) -> None: ...

        with drop(make()):
            first = EmptyOperator(task_id="first")
            first >> EmptyOperator(task_id="second")
            with TaskGroup("inner"):
                s = EmptyOperator(task_id="s").as_setup()
                w = EmptyOperator(task_id="w")
                t = EmptyOperator(task_id="t").as_teardown(setups=s)
                s >> w >> t
        after = EmptyOperator(task_id="after")
        with pytest.raises(DagDefinitionError, match="needs a setup or teardown"), after:
            pass
    sd = structure(d)
    assert set(sd.tasks["first"].upstream) == {"make"}
    assert set(sd.tasks["inner.s"].upstream) == {"make"}
    assert set(sd.tasks["drop"].upstream) == {"make", "second", "inner.t"}
    assert sd.tasks["after"].upstream == ()


def test_a_group_ending_in_a_teardown_hands_its_work_to_what_follows() -> None:
    from conveyor import TaskGroup

    with DAG("group_leaves") as d:
        with TaskGroup("g") as g:
            s = EmptyOperator(task_id="s").as_setup()
            w = EmptyOperator(task_id="w")
            t = EmptyOperator(task_id="t").as_teardown(setups=s)
            s >> w >> t
        g >> EmptyOperator(task_id="next")
    assert structure(d).tasks["next"].upstream == ("g.w",)


def test_params_without_default_need_an_unscheduled_dag() -> None:
    from conveyor import Param

    with pytest.raises(DagDefinitionError, match=r"params who have no default.*schedule=None"):
        DAG("sched", schedule="@daily", params={"who": Param(type="string")})
    d = DAG("manual_only", params={"who": Param(type="string")})
    assert d.param_specs["who"]["required"] is True and d.params == {"who": None}


def test_chain_passes_labels_on() -> None:
    from conveyor import Label, chain

    with DAG("chained") as d:
        a, b, c = (EmptyOperator(task_id=n) for n in "abc")
        chain(a, Label("first"), b, c)
    sd = structure(d)
    assert sd.tasks["b"].raw["edge_labels"] == {"a": "first"}
    assert sd.tasks["c"].upstream == ("b",) and "edge_labels" not in sd.tasks["c"].raw
