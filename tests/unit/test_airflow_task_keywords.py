"""Airflow's task and DAG keywords that change what runs, as Airflow files write them:
each reaches the serialized DAG the scheduler plans from, or is refused with what to write.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from conveyor.airflow_compat.operators import airflow_operator_class
from conveyor.airflow_compat.shims import DAG as AirflowDAG
from conveyor.engine.planning import plan_run
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.model.task import WeightRule
from conveyor.operators.empty import EmptyOperator
from conveyor.serialized import SerializedDag
from conveyor.states import TaskState

Empty = airflow_operator_class(EmptyOperator)
START = datetime(2024, 1, 1, tzinfo=UTC)


def _structure(dag: AirflowDAG) -> SerializedDag:
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(dag))))


def test_the_keywords_reach_the_serialized_dag() -> None:
    with AirflowDAG(
        "kw", start_date=START, schedule=None, fail_stop=True, dag_display_name="Key words"
    ) as dag:
        Empty(
            task_id="limited",
            max_active_tis_per_dag=3,
            max_active_tis_per_dagrun=1,
            wait_for_downstream=True,
            task_display_name="Limited",
            map_index_template="{{ x }}",
            start_date=datetime(2024, 6, 1),
            end_date=datetime(2024, 9, 1, tzinfo=UTC),
        )
    found = _structure(dag)
    task = found.tasks["limited"]
    assert (task.max_active_tis_per_dag, task.max_active_tis_per_dagrun) == (3, 1)
    assert task.wait_for_downstream and task.depends_on_past  # Airflow: it implies the other
    assert (task.display_name, task.map_index_template) == ("Limited", "{{ x }}")
    assert task.start_date == datetime(2024, 6, 1, tzinfo=UTC)
    assert not task.runs_at(datetime(2024, 5, 31, tzinfo=UTC))
    assert task.runs_at(datetime(2024, 6, 1, tzinfo=UTC))
    assert not task.runs_at(datetime(2024, 9, 2, tzinfo=UTC))
    assert found.fail_fast and found.display_name == "Key words"  # fail_stop: Airflow 2's name
    assert found.task_limited == {"limited"}


def test_default_args_start_date_adds_nothing_to_a_tasks_version() -> None:
    with AirflowDAG("plain", schedule=None, default_args={"start_date": START}) as dag:
        Empty(task_id="a")
    [task] = serialize_dag(dag)["tasks"]
    assert "task_start_date" not in task and "weight_rule" not in task  # hashes stay


def test_weight_rules_sum_as_airflow_sums() -> None:
    with AirflowDAG("w", start_date=START, schedule=None) as dag:
        a = Empty(task_id="a", priority_weight=2)
        b = Empty(task_id="b", priority_weight=3, weight_rule="upstream")
        c = Empty(task_id="c", priority_weight=5)
        d = Empty(task_id="d", priority_weight=7, weight_rule="absolute")
        a >> b >> c
        a >> c
        b >> d
    weights = {tid: t.priority_weight for tid, t in _structure(dag).tasks.items()}
    # a: downstream b, c, d once each; b: upstream a; c: nothing downstream; d: its own.
    assert weights == {"a": 2 + 3 + 5 + 7, "b": 3 + 2, "c": 5, "d": 7}


def test_a_weight_rule_enum_is_taken_and_a_custom_strategy_refused() -> None:
    from conveyor.airflow_compat.table import lookup

    assert lookup("airflow.sdk", "WeightRule") == lookup("airflow.task.weight_rule", "WeightRule")
    with AirflowDAG("e", start_date=START, schedule=None) as dag:
        Empty(task_id="a", weight_rule=WeightRule.ABSOLUTE)
    assert _structure(dag).tasks["a"].weight_rule == "absolute"

    class MyStrategy:
        def get_weight(self, ti: object) -> int:
            return 1

    with (
        AirflowDAG("f", start_date=START, schedule=None),
        pytest.raises(DagDefinitionError, match="custom PriorityWeightStrategy is not run"),
    ):
        Empty(task_id="a", weight_rule=MyStrategy())


def test_fail_fast_refuses_another_trigger_rule_as_airflow_does() -> None:
    with (
        AirflowDAG("ff", start_date=START, schedule=None, fail_fast=True),
        pytest.raises(DagDefinitionError, match="fail_fast DAG's tasks can only have the default"),
    ):
        Empty(task_id="a", trigger_rule="one_failed")
    with AirflowDAG("ff2", start_date=START, schedule=None, fail_fast=True) as dag:
        late = Empty(task_id="b")
    late.trigger_rule = "all_done"  # type: ignore[assignment]
    with pytest.raises(DagDefinitionError, match="task 'b' has trigger_rule='all_done'"):
        serialize_dag(dag)


def test_limits_are_whole_numbers() -> None:
    with (
        AirflowDAG("n", start_date=START, schedule=None),
        pytest.raises(DagDefinitionError, match="max_active_tis_per_dag must be a whole number"),
    ):
        Empty(task_id="a", max_active_tis_per_dag=0)


def test_planning_waits_for_the_previous_runs_downstream() -> None:
    with AirflowDAG("wd", start_date=START, schedule=None) as dag:
        Empty(task_id="first", wait_for_downstream=True) >> Empty(task_id="second")
    structure = _structure(dag)
    fresh = {"first": TaskState.NONE, "second": TaskState.NONE}
    ok = {"first": TaskState.SUCCESS, "second": TaskState.SKIPPED}
    assert [t for t, _ in plan_run(structure, fresh, past_states=ok).to_schedule] == ["first"]
    behind = {"first": TaskState.SUCCESS, "second": TaskState.RUNNING}
    plan = plan_run(structure, fresh, past_states=behind)
    assert plan.to_schedule == []
    assert plan.waiting["first"] == (
        "depends_on_past: wait_for_downstream: the previous run's second is running"
    )


def test_weight_sums_hold_for_long_chains_of_many_weights() -> None:
    from conveyor.serialized import priority_weights

    chain = [
        {"task_id": f"t{i}", "upstream": [f"t{i - 1}"] if i else [], "priority_weight": i}
        for i in range(40)  # more distinct weights than the bit-count path takes
    ]
    downstream = {f"t{i}": [f"t{i + 1}"] if i < 39 else [] for i in range(40)}
    found = priority_weights(chain, downstream)
    assert found["t0"] == sum(range(40)) and found["t39"] == 39
    assert found["t10"] == sum(range(10, 40))


def test_a_mapped_classic_operator_keeps_its_limit() -> None:
    from conveyor.operators.bash import BashOperator

    with AirflowDAG("m", start_date=START, schedule=None) as dag:
        airflow_operator_class(BashOperator).partial(
            task_id="each", max_active_tis_per_dagrun=2, map_index_template="{{ x }}"
        ).expand(bash_command=["echo 1", "echo 2", "echo 3"])
    task = _structure(dag).tasks["each"]
    assert task.max_active_tis_per_dagrun == 2 and task.map_index_template == "{{ x }}"
