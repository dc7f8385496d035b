"""Airflow's ``TriggerDagRunOperator`` makes a new run per try, as Airflow's does (a retry
triggers again, ``manual__<now>``), and a retry that reuses a run id meets Airflow's
"already exists"; Conveyor's own operator keeps one run per task instance. Both stores."""

from __future__ import annotations

from conveyor.states import RunState, TaskState
from run_env import Env

PAIR = """
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from conveyor.operators.trigger_dagrun import TriggerDagRunOperator as ConveyorTrigger

marker = Path("@TMP@") / "child-tried"

with DAG("child", start_date=START, schedule=None):
    @task
    def flaky():
        if not marker.exists():
            marker.touch()
            raise Fail("the first child run fails")

    flaky()

with DAG("airflow_parent", start_date=START, schedule=None):
    TriggerDagRunOperator(
        task_id="kick", trigger_dag_id="child", wait_for_completion=True,
        poke_interval=0.2, retries=1, retry_delay=0,
    )

with DAG("fixed_parent", start_date=START, schedule=None):
    TriggerDagRunOperator(
        task_id="kick", trigger_dag_id="child", wait_for_completion=True,
        poke_interval=0.2, retries=1, retry_delay=0, logical_date="2024-05-01T00:00:00+00:00",
    )

with DAG("conveyor_parent", start_date=START, schedule=None):
    ConveyorTrigger(
        task_id="kick", trigger_dag_id="child", wait_for_completion=True,
        poke_interval=0.2, retries=1, retry_delay=0,
    )
"""


def test_each_try_of_airflows_trigger_makes_a_run(env: Env) -> None:
    env.write_dag("pair.py", PAIR)
    env.sync()
    parent = env.trigger("airflow_parent")
    env.run(parent, limit=40)
    assert env.states(parent) == {"kick": TaskState.SUCCESS}, [
        (t.exit_kind, t.error) for t in env.tries(parent, "kick")
    ]
    children = env.dag_runs("child")
    assert [c.state for c in children] == ["failed", "success"]
    assert all(c.run_id.startswith("manual__") for c in children), children
    assert len({c.run_id for c in children}) == 2
    tries = env.tries(parent, "kick")
    assert [t.try_number for t in tries] == [1, 2] and tries[0].exit_kind != "success"


def test_a_retry_that_reuses_its_run_id_meets_already_exists(env: Env) -> None:
    env.write_dag("pair.py", PAIR)
    env.sync()
    parent = env.trigger("fixed_parent")
    env.run(parent, limit=40)
    assert env.run_state(parent) is RunState.FAILED
    (child,) = env.dag_runs("child")
    assert child.run_id == "manual__2024-05-01T00:00:00+00:00"
    last = env.tries(parent, "kick")[-1]
    assert "already has a run" in (last.error or "") and "DagRunAlreadyExists" in last.error


def test_conveyors_own_trigger_keeps_one_run_per_task_instance(env: Env) -> None:
    env.write_dag("pair.py", PAIR)
    env.sync()
    parent = env.trigger("conveyor_parent")
    env.run(parent, limit=40)
    (child,) = env.dag_runs("child")  # the retry found the failed run and waited on it again
    assert child.run_id.startswith("triggered__conveyor_parent__")
    assert env.states(parent) == {"kick": TaskState.FAILED}
