"""Outcomes and values an Airflow file gets as on Airflow 3.3 (issue 62's differences),
through a real scheduler and the local executor, on both stores.

One file records what its tasks saw (template filters, ``dag.owner``, ``ti.max_tries``,
``dag_run.run_type``, a user macro named like a context name, pendulum dates, the
``prev_*_success`` values, a missing Variable's class, ``env=`` without ``append_env``, an
empty expansion handed downstream, ``skip_on_exit_code`` as a list); another times a try
out, whose retry and failure callbacks run, and whose DAG's failure callback gets Airflow's
reason. Takes about 10 s per store.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime

from conftest import run_scheduler
from conveyor.states import RunState, TaskState
from run_env import Env

VALUES = """
import json
import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.decorators import task
from airflow.models import Variable
from airflow.operators.bash import BashOperator
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType

OUT = "@TMP@"


def keep(name, value):
    with open(f"{OUT}/{name}.json", "w") as handle:
        json.dump(value, handle)


with DAG("values", schedule=None, start_date=datetime(2024, 1, 1),
         user_defined_macros={"ds": "a macro"}, default_args={"retries": 2}):
    BashOperator(
        task_id="render",
        owner="data",
        bash_command=(
            "echo '{{ data_interval_end | ds }}|{{ data_interval_end | ds_nodash }}|"
            "{{ data_interval_end | ts }}|{{ data_interval_end | ts_nodash }}|"
            "{{ data_interval_end | ts_nodash_with_tz }}|{{ ds }}|{{ dag.owner }}|"
            "{{ dag_run.run_type }}|{{ ti.max_tries }}|{{ prev_data_interval_start_success }}|"
            "{{ prev_start_date_success is none }}|'\\"${HOME:-no home}\\""
            f" > {OUT}/rendered.txt\\n"
        ),
        env={"ONLY": "this"},
    )
    BashOperator(task_id="exit_3", bash_command="exit 3", skip_on_exit_code=[3, 4])

    @task
    def dates(**context):
        try:
            Variable.get("no_such_variable")
        except AirflowRuntimeError as exc:
            missing = [exc.error.error == ErrorType.VARIABLE_NOT_FOUND, isinstance(exc, KeyError)]
        logical = context["logical_date"]
        pendulums = hasattr(logical, "to_date_string")
        keep("dates", {
            "pendulum": pendulums,
            "tomorrow": logical.add(days=1).to_date_string() if pendulums else None,
            "interval_end": context["data_interval_end"].to_iso8601_string() if pendulums else None,
            "missing_variable": missing,
        })

    @task
    def nothing():
        return []

    @task
    def each(x):
        return x

    @task(trigger_rule="all_done")
    def after(values):
        keep("after", values)

    dates()
    after(each.expand(x=nothing()))
"""

TIMEOUT = """
import json
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

OUT = "@TMP@"


def note(what):
    def callback(context):
        with open(f"{OUT}/{what}-{context['ti'].try_number}.json", "w") as handle:
            json.dump([what, type(context["exception"]).__name__], handle)
    return callback


def run_failed(context):
    with open(f"{OUT}/run_failed.json", "w") as handle:
        json.dump(context["reason"], handle)


with DAG("slow", schedule=None, start_date=datetime(2024, 1, 1),
         on_failure_callback=run_failed):
    BashOperator(
        task_id="sleeper",
        bash_command="sleep 60",
        execution_timeout=timedelta(seconds=1),
        retries=1,
        retry_delay=timedelta(0),
        on_retry_callback=note("retry"),
        on_failure_callback=note("failure"),
    )
"""


def test_an_airflow_file_sees_airflows_values(env: Env) -> None:
    env.write_dag("values.py", VALUES, header=False)
    env.sync()
    settings = env.settings()
    first = env.trigger("values", at=datetime(2024, 2, 1, tzinfo=UTC))
    run_scheduler(settings, env.store, lambda: env.run_state(first) in FINISHED, limit=60)
    assert env.states(first) == {
        "render": TaskState.SUCCESS,
        "exit_3": TaskState.SKIPPED,
        "dates": TaskState.SUCCESS,
        "nothing": TaskState.SUCCESS,
        "each": TaskState.SKIPPED,  # mapped over an empty list
        "after": TaskState.SUCCESS,  # handed [], not None
    }
    assert json.loads((env.tmp / "after.json").read_text()) == []
    # pendulum's dates where it is installed (the airflow extra), the standard library's else.
    pendulums = importlib.util.find_spec("pendulum") is not None
    assert json.loads((env.tmp / "dates.json").read_text()) == {
        "pendulum": pendulums,
        "tomorrow": "2024-02-02" if pendulums else None,
        "interval_end": "2024-02-01T00:00:00Z" if pendulums else None,
        "missing_variable": [True, True],
    }
    rendered = (env.tmp / "rendered.txt").read_text().rstrip("\n").split("|")
    assert rendered == [
        "2024-02-01",
        "20240201",
        "2024-02-01T00:00:00+00:00",
        "20240201T000000",
        "20240201T000000+0000",
        "2024-02-01",  # the context's ds, not the macro of that name
        "data, airflow",  # render's owner, then the default of the others
        "DagRunType.MANUAL",
        "2",  # the retries, not the tries
        "None",  # no successful run before this one
        "False",  # Airflow's value is a proxy of None, which is not None itself
        "no home",  # env= alone is the whole environment
    ]

    second = env.trigger("values", at=datetime(2024, 2, 2, tzinfo=UTC))
    run_scheduler(settings, env.store, lambda: env.run_state(second) in FINISHED, limit=60)
    rendered = (env.tmp / "rendered.txt").read_text().rstrip("\n").split("|")
    assert rendered[9:11] == ["2024-02-01 00:00:00+00:00", "False"]  # the first run's


def test_a_run_before_the_dags_start_date_runs_no_task(env: Env) -> None:
    env.write_dag("values.py", VALUES, header=False)
    env.sync()
    early = env.trigger("values", at=datetime(2023, 6, 1, tzinfo=UTC))
    run_scheduler(env.settings(), env.store, lambda: env.run_state(early) in FINISHED, limit=30)
    assert env.run_state(early) is RunState.SUCCESS
    assert env.states(early) == {}
    assert not (env.tmp / "rendered.txt").exists()


def test_a_try_past_its_execution_timeout_runs_its_callbacks(env: Env) -> None:
    env.write_dag("slow.py", TIMEOUT, header=False)
    env.sync()
    run_pk = env.trigger("slow")
    run_scheduler(
        env.settings(), env.store, lambda: (env.tmp / "run_failed.json").exists(), limit=60
    )
    assert env.states(run_pk) == {"sleeper": TaskState.FAILED}
    # The try raised its timeout inside: each callback ran, with the timeout as exception.
    assert json.loads((env.tmp / "retry-1.json").read_text()) == ["retry", "AirflowTaskTimeout"]
    assert json.loads((env.tmp / "failure-2.json").read_text()) == ["failure", "AirflowTaskTimeout"]
    assert json.loads((env.tmp / "run_failed.json").read_text()) == "task_failure"


FINISHED = (RunState.SUCCESS, RunState.FAILED)
