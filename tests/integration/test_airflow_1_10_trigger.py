"""Airflow 1.10's ``TriggerDagRunOperator(python_callable=...)``: the callable gets the
context and a ``DagRunOrder`` (run id ``trig__<logical date>``, payload), and the run it
returns is triggered with its payload as the conf; returning nothing triggers no run and the
task succeeds. A 1.10 folder's chain of DAGs triggering each other loads and runs. Both
stores."""

from __future__ import annotations

from conveyor.states import RunState, TaskState
from run_env import Env

ORDERS = """
from airflow.operators.dagrun_operator import DagRunOrder, TriggerDagRunOperator

with DAG("target", start_date=START, schedule=None):
    EmptyOperator(task_id="work")


def with_payload(context, dag_run_obj):
    assert isinstance(dag_run_obj, DagRunOrder)
    dag_run_obj.payload = {"from": context["dag"].dag_id}
    return dag_run_obj


def not_met(context, dag_run_obj):
    return None


def not_a_dict(context, dag_run_obj):
    dag_run_obj.payload = ["a", "list"]
    return dag_run_obj


with DAG("orders", start_date=START, schedule=None):
    TriggerDagRunOperator(task_id="go", trigger_dag_id="target", python_callable=with_payload)
    TriggerDagRunOperator(task_id="not_met", trigger_dag_id="target", python_callable=not_met)

with DAG("bad_payload", start_date=START, schedule=None):
    TriggerDagRunOperator(task_id="go", trigger_dag_id="target", python_callable=not_a_dict)
"""


def test_the_callable_decides_the_run_and_its_conf(env: Env) -> None:
    env.write_dag("orders.py", ORDERS)
    env.sync()
    parent = env.trigger("orders")
    env.run(parent, limit=40)
    assert env.states(parent) == {"go": TaskState.SUCCESS, "not_met": TaskState.SUCCESS}
    (child,) = env.dag_runs("target")  # the callable that returned None triggered nothing
    assert child.run_id.startswith("trig__")
    assert child.conf == {"from": "orders"}


def test_a_payload_that_is_not_a_conf_fails_the_task_naming_it(env: Env) -> None:
    env.write_dag("orders.py", ORDERS)
    env.sync()
    parent = env.trigger("bad_payload")
    env.run(parent, limit=40)
    assert env.run_state(parent) is RunState.FAILED
    assert env.dag_runs("target") == []
    (attempt,) = env.tries(parent, "go")
    assert "payload is the triggered run's conf and must be a dict, got list" in attempt.error
