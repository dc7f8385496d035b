"""A task's ``prev_*_success`` values are read when the task first uses one, as Airflow's task
runner hands them over (lazy proxies): a try that uses none reads nothing from the store,
and a proxy of no previous run is not ``None`` itself but compares and renders as None."""

from __future__ import annotations

from typing import Any

from conveyor import DAG
from conveyor.operators.python import PythonOperator
from conveyor.testing import run_dag
from conveyor.worker import context as task_context

SEEN: dict[str, Any] = {}


def _uses_nothing() -> None:
    return None


def _looks(**context: Any) -> None:
    value = context["prev_start_date_success"]
    SEEN.update(
        is_none=value is None,
        equals_none=value == None,  # noqa: E711 - the proxy's comparison is what is tested
        truthy=bool(value),
        shown=str(value),
        others=[context[name] == None for name in task_context.PREVIOUS_SUCCESS_NAMES],  # noqa: E711
    )


def test_a_try_that_uses_no_previous_success_value_reads_none() -> None:
    task_context._PREVIOUS_SUCCESS.clear()
    with DAG("prev_unused", schedule=None) as dag:
        PythonOperator(task_id="quiet", python_callable=_uses_nothing)
    assert run_dag(dag).state == "success"
    assert not task_context._PREVIOUS_SUCCESS  # nothing was read


def test_a_first_runs_values_are_proxies_of_none_read_once() -> None:
    task_context._PREVIOUS_SUCCESS.clear()
    SEEN.clear()
    with DAG("prev_used", schedule=None) as dag:
        PythonOperator(task_id="looks", python_callable=_looks)
    assert run_dag(dag).state == "success"
    assert SEEN == {
        "is_none": False,  # Airflow's proxy is an object of its own
        "equals_none": True,
        "truthy": False,
        "shown": "None",
        "others": [True, True, True, True],
    }
    assert len(task_context._PREVIOUS_SUCCESS) == 1  # one read for the four names
