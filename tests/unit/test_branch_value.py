"""What a branch or short circuit keeps as its XCom (``model/branch_value.py``): on an Airflow 3
file's DAG nothing when it skipped a task, as there; its return value otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor import DAG, BranchPythonOperator, EmptyOperator
from conveyor.airflow_compat.shims import SdkDAG
from conveyor.model.branch_value import kept_value
from conveyor.operators.short_circuit import ShortCircuitOperator


def branch_in(dag_class: type[DAG]) -> tuple[DAG, BranchPythonOperator]:
    """pick >> [a, b]; a >> join; b >> join."""
    with dag_class("d") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "a")
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        pick >> [a, b] >> EmptyOperator(task_id="join")
    return dag, pick


@pytest.mark.parametrize(
    ("chosen", "kept"),
    [
        (["a"], None),  # b is skipped: Airflow 3 pushes nothing
        ([], None),  # both skipped
        (["a", "b"], ["a", "b"]),  # nothing skipped: the value is pushed
        (["join"], None),  # a and b lead to join, yet are not chosen: skipped
    ],
)
def test_an_airflow3_branch_that_skips_keeps_no_value(chosen: list[str], kept: Any) -> None:
    dag, pick = branch_in(SdkDAG)
    assert kept_value(dag, pick, chosen, chosen, map_index=-1) == kept


def test_a_mapped_airflow3_branch_keeps_its_value() -> None:
    dag, pick = branch_in(SdkDAG)
    assert kept_value(dag, pick, ["a"], ["a"], map_index=0) == ["a"]


def test_an_airflow3_branch_without_downstream_tasks_keeps_its_value() -> None:
    with SdkDAG("d") as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: None)
    assert kept_value(dag, pick, [], [], map_index=-1) == []


def test_other_dags_keep_a_skipping_branch_value() -> None:
    dag, pick = branch_in(DAG)  # Airflow 2's files and Conveyor's own DAGs
    assert kept_value(dag, pick, ["a"], ["a"], map_index=-1) == ["a"]


def test_a_task_that_did_not_branch_keeps_its_value() -> None:
    dag, _ = branch_in(SdkDAG)
    assert kept_value(dag, dag.get_task("a"), 3, None, map_index=-1) == 3


def short_circuit(every: bool, teardown_only: bool = False) -> tuple[DAG, ShortCircuitOperator]:
    with SdkDAG("d") as dag:
        stop = ShortCircuitOperator(
            task_id="stop", python_callable=lambda: False, ignore_downstream_trigger_rules=every
        )
        after = EmptyOperator(task_id="after")
        stop >> (after.as_teardown() if teardown_only else after)
    stop.skip_downstream = "all" if every else "direct"  # as its execute sets it
    return dag, stop


@pytest.mark.parametrize("every", [True, False])
def test_an_airflow3_short_circuit_that_skips_keeps_no_value(every: bool) -> None:
    dag, stop = short_circuit(every)
    assert kept_value(dag, stop, False, [], map_index=-1) is None


def test_an_airflow3_short_circuit_before_a_teardown_alone_keeps_its_value() -> None:
    dag, stop = short_circuit(True, teardown_only=True)  # a teardown is never skipped
    assert kept_value(dag, stop, False, [], map_index=-1) is False
