"""Triggering another DAG through the scheduler, and the toolkit's operators from YAML."""

from __future__ import annotations

import textwrap

from sqlalchemy import select

from conveyor.states import RunState, TaskState
from conveyor.store.tables import xcom
from run_env import Env


def _xcom(env: Env, run_pk: int, task_id: str) -> object:
    with env.store.read() as conn:
        return conn.execute(
            select(xcom.c.value).where(xcom.c.run_pk == run_pk, xcom.c.task_id == task_id)
        ).scalar()


def test_a_task_triggers_another_dag_waits_for_it_and_a_retry_does_not_trigger_twice(
    env: Env,
) -> None:
    env.write_dag(
        "pair.py",
        """
        from conveyor.operators.trigger_dagrun import TriggerDagRunOperator

        with DAG("child", start_date=START):
            @task
            def echo(params=None):
                return f"child got {params['n']}"
            echo()

        with DAG("parent", start_date=START, params={"n": 7}):
            TriggerDagRunOperator(
                task_id="kick", trigger_dag_id="child", conf={"n": "{{ params.n }}"},
                wait_for_completion=True, poke_interval=0.2,
            )
        """,
    )
    env.sync()
    parent = env.trigger("parent")
    env.run(parent)
    assert env.states(parent) == {"kick": TaskState.SUCCESS}
    children = env.dag_runs("child")
    assert len(children) == 1
    child = children[0]
    parent_run = env.dag_runs("parent")[0]
    assert child.run_id == f"triggered__parent__{parent_run.run_id}__kick"
    assert child.state == "success" and child.run_type == "manual"
    assert child.conf == {"n": "7"}
    assert _xcom(env, child.id, "echo") == "child got 7"
    assert _xcom(env, parent, "kick") == {
        "dag_id": "child",
        "run_id": child.run_id,
        "state": "success",
    }
    assert child.created_by.startswith("task parent.kick")


YAML = """
dags:
  yaml_toolkit:
    start_date: 2024-01-01
    tasks:
      wait_for_file:
        operator: conveyor.sensors:FileSensor
        arguments: {filepath: "@TMP@/in.csv", poke_interval: 0.2, timeout: 10, mode: reschedule}
      kick:
        operator: conveyor.operators.trigger_dagrun:TriggerDagRunOperator
        arguments: {trigger_dag_id: yaml_target, conf: {day: "{{ ds }}"}}
        depends_on: [wait_for_file]
  yaml_target:
    start_date: 2024-01-01
    tasks:
      show:
        operator: bash
        bash_command: "echo day={{ params.day }} token={{ var.value.yaml_token }}"
"""


def test_sensors_and_trigger_from_yaml(env: Env) -> None:
    from conveyor.connections import repository

    (env.tmp / "in.csv").write_text("a,b\n")
    repository.set_variable(env.store, env.settings(), "yaml_token", "abc-123-secret")
    (env.dags / "toolkit.yaml").write_text(textwrap.dedent(YAML).replace("@TMP@", str(env.tmp)))
    env.sync()
    run_pk = env.trigger("yaml_toolkit")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS, env.states(run_pk)
    targets = env.dag_runs("yaml_target")
    assert len(targets) == 1 and targets[0].conf["day"] == env.dag_runs("yaml_toolkit")[
        0
    ].logical_date.strftime("%Y-%m-%d")
    env.run(targets[0].id)
    assert env.states(targets[0].id) == {"show": TaskState.SUCCESS}
