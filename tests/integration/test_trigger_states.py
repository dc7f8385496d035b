"""``TriggerDagRunOperator``'s ``allowed_states`` / ``failed_states`` and what it does when
the run id is taken (``reset_dag_run``, ``skip_when_already_exists``), through the real
scheduler on SQLite and PostgreSQL, from a DAG file in Airflow's spelling."""

from __future__ import annotations

import pytest

from conveyor.states import RunState, TaskState
from run_env import Env

DAGS = """
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.utils.state import DagRunState

with DAG("doomed", schedule=None):
    @task
    def boom():
        raise ValueError("no")
    boom()

with DAG("fine", schedule=None):
    @task
    def ok():
        return 1
    ok()

def kick(dag_id, target, **kwargs):
    with DAG(dag_id, schedule=None):
        TriggerDagRunOperator(task_id="kick", trigger_dag_id=target, poke_interval=0.1, **kwargs)

kick("expects_failure", "doomed", wait_for_completion=True,
     allowed_states=[DagRunState.FAILED], failed_states=[])
kick("success_is_failure", "fine", wait_for_completion=True,
     allowed_states=["failed"], failed_states=["success"])
kick("maker", "fine", trigger_run_id="fixed", wait_for_completion=True)
kick("taken", "fine", trigger_run_id="fixed")
kick("skipper", "fine", trigger_run_id="fixed", skip_when_already_exists=True)
kick("resetter", "fine", trigger_run_id="fixed", reset_dag_run=True, wait_for_completion=True)
"""


@pytest.fixture
def env(env: Env) -> Env:
    """The shared ``env`` with this module's DAG files written and parsed."""
    env.write_dag("kicks.py", DAGS, header=False)
    env.sync()
    return env


def test_allowed_and_failed_states_decide_the_waiting_task(env: Env) -> None:
    expects, strict = env.trigger("expects_failure"), env.trigger("success_is_failure")
    env.run(expects, strict, limit=40)
    assert env.states(expects) == {"kick": TaskState.SUCCESS}  # the target failed: allowed
    assert env.states(strict) == {"kick": TaskState.FAILED}  # the target succeeded: refused
    (doomed,) = env.dag_runs("doomed")
    assert doomed.state == "failed"
    (attempt,) = env.tries(strict, "kick")
    assert "ended success, one of failed_states" in attempt.error


def test_a_taken_run_id_fails_skips_or_is_reset_as_asked(env: Env) -> None:
    maker = env.trigger("maker")
    env.run(maker)
    assert env.run_state(maker) is RunState.SUCCESS
    taken, skipper = env.trigger("taken"), env.trigger("skipper")
    env.run(taken, skipper)
    assert env.states(taken) == {"kick": TaskState.FAILED}
    assert "DagRunAlreadyExists" in env.tries(taken, "kick")[0].error
    assert env.states(skipper) == {"kick": TaskState.SKIPPED}
    (fixed,) = env.dag_runs("fine")
    assert len(env.tries(fixed.id, "ok")) == 1  # neither ran it again

    resetter = env.trigger("resetter")
    env.run(resetter, limit=40)
    assert env.states(resetter) == {"kick": TaskState.SUCCESS}
    assert len(env.dag_runs("fine")) == 1  # the same run, cleared and run again
    assert [t.state for t in env.tries(fixed.id, "ok")] == ["success", "success"]
    assert env.run_state(fixed.id) is RunState.SUCCESS
