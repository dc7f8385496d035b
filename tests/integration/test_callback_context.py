"""What tasks and callbacks see of their try and run (Airflow's ``ti`` and ``dag_run``
attributes, the failure's exception object), where a callback's own error is shown, and a
``@dag`` function's parameters as params the conf overrides.

A real scheduler runs an Airflow DAG file whose failure alert is the usual chat message
linking to the log; ``conveyor run --conf`` runs a ``@dag`` file in a fresh home (one
process); ``conveyor.testing`` runs the rest in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import run_scheduler
from conveyor.exceptions import AirflowException
from conveyor.model.dag import DAG, dag
from conveyor.operators.python import PythonOperator
from conveyor.scheduler.explain import explain
from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.testing import run_dag
from run_env import Env

CLI = str(Path(sys.executable).parent / "conveyor")

ALERTS = """
import json
from datetime import datetime

from airflow import DAG
from airflow.exceptions import AirflowException
from airflow.operators.python import PythonOperator

OUT = "@TMP@"


def alert(context):
    ti = context["task_instance"]
    run = context["dag_run"]
    message = f"{ti.task_id} failed: <{ti.log_url}|log>"
    seen = {
        "message": message,
        "state": ti.state,
        "operator": ti.operator,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "map_index": ti.map_index,
        "hostname": bool(ti.hostname),
        "pool": ti.pool,
        "queue": ti.queue,
        "priority_weight": ti.priority_weight,
        "ended_after_start": ti.end_date >= ti.start_date,
        "duration": ti.duration is not None and ti.duration >= 0,
        "mark_success_url": ti.mark_success_url == ti.log_url,
        "task": ti.task.task_id,
        "same_run": ti.get_dagrun().run_id == run.run_id,
        "run_type": run.run_type,
        "external_trigger": run.external_trigger,
        "conf": run.conf,
        "run_started": run.start_date is not None,
        "queued_before_started": run.queued_at <= run.start_date,
        "run_end": run.end_date,
        "upstream_state": run.get_task_instance("first").state,
        "exception": [type(context["exception"]).__name__, str(context["exception"])],
        "exception_is_airflow": isinstance(context["exception"], AirflowException),
    }
    try:
        ti.external_executor_id
    except AttributeError as exc:
        seen["missing"] = str(exc)
    with open(f"{OUT}/alert.json", "w") as handle:
        json.dump(seen, handle)


def broken(context):
    return context["params"]["nope"]


def run_failed(context):
    exc = context["exception"]
    with open(f"{OUT}/dag_alert.json", "w") as handle:
        json.dump([type(exc).__name__, isinstance(exc, AirflowException), str(exc)], handle)


def fail():
    raise AirflowException("the API said 503")


with DAG("alerting", schedule=None, start_date=datetime(2024, 1, 1),
         on_failure_callback=run_failed):
    first = PythonOperator(task_id="first", python_callable=lambda: 1)
    second = PythonOperator(task_id="second", python_callable=fail, pool="default_pool",
                            on_failure_callback=[alert, broken], priority_weight=3)
    first >> second
"""


def test_a_failure_alert_reads_the_try_and_run_and_a_callback_error_is_on_the_timeline(
    env: Env,
) -> None:
    env.write_dag("alerting.py", ALERTS, header=False)
    env.sync()
    run_pk = env.trigger("alerting", conf={"who": "ops"})
    settings = env.settings(web_url="https://conveyor.example.com/c")

    def ended() -> bool:
        return (env.tmp / "dag_alert.json").exists()

    run_scheduler(settings, env.store, ended, limit=60)

    assert env.states(run_pk) == {"first": TaskState.SUCCESS, "second": TaskState.FAILED}
    run = env.dag_runs("alerting")[0]
    seen = json.loads((env.tmp / "alert.json").read_text())
    quoted = run.run_id.replace(":", "%3A").replace("+", "%2B")
    link = f"https://conveyor.example.com/c/dags/alerting/runs/{quoted}/tasks/second?try=1"
    assert seen.pop("message") == f"second failed: <{link}|log>"
    assert seen.pop("missing").startswith(
        "task_instance.external_executor_id (Airflow's) is not available in Conveyor: "
    )
    assert seen == {
        "state": "failed",
        "operator": "PythonOperator",
        "try_number": 1,
        "max_tries": 0,  # Airflow counts the retries
        "map_index": -1,
        "hostname": True,
        "pool": "default_pool",
        "queue": "default",
        "priority_weight": 3,
        "ended_after_start": True,
        "duration": True,
        "mark_success_url": True,
        "task": "second",
        "same_run": True,
        "run_type": "manual",
        "external_trigger": True,
        "conf": {"who": "ops"},
        "run_started": True,
        "queued_before_started": True,
        # The run as the try started, as Airflow's task runner has it: the end this try's
        # record gave it is not there.
        "run_end": None,
        "upstream_state": "success",
        # The very exception the task raised: the callback runs in the try's process.
        "exception": ["AirflowException", "the API said 503"],
        "exception_is_airflow": True,
    }
    # A DAG callback runs apart from the try: an AirflowException carrying the reason.
    name, is_airflow, text = json.loads((env.tmp / "dag_alert.json").read_text())
    assert (name, is_airflow) == ("AirflowException", True) and "second" in text

    # The broken callback's error is on the try's timeline, for `tasks why` and the UI.
    expected = "on_failure_callback broken raised KeyError: 'nope'"
    assert ("callback_failed", expected) in [
        (e.kind, e.message) for e in env.events(run_pk, "second")
    ]
    with env.store.read() as conn:
        story = explain(conn, runs.get_run(conn, run_pk), "second")
    assert story.tries[-1].callback_errors == [expected]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the CLI's part: one is enough
def test_tasks_why_shows_a_callback_error(env: Env) -> None:
    env.write_dag(
        "why_cb.py",
        """
        def broken(context):
            raise KeyError("channel")

        def early(context):
            raise ValueError("too soon")

        with DAG("why_cb", start_date=START, schedule=None):
            @task(on_success_callback=broken, on_execute_callback=early)
            def fine():
                return 1

            fine()
        """,
    )
    env.sync()
    run_pk = env.trigger("why_cb")
    env.run(run_pk)  # the executor waits for the try's process, callbacks included
    run_id = env.dag_runs("why_cb")[0].run_id
    environ = {**os.environ, "CONVEYOR_HOME": str(env.tmp / "home")}
    environ.update(CONVEYOR_DATABASE_URL=env.store.url, COLUMNS="200")
    shown = subprocess.run(
        [CLI, "tasks", "why", "why_cb", run_id, "fine"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "callback error: on_success_callback broken raised KeyError: 'channel'" in (
        " ".join(shown.stdout.split())
    )
    assert "callback error: on_execute_callback early raised ValueError: too soon" in (
        " ".join(shown.stdout.split())
    )
    # The state is what the task did: the callback's error changes nothing.
    assert env.states(run_pk) == {"fine": TaskState.SUCCESS}


DAG_PARAMS_FILE = """
from datetime import datetime
from pathlib import Path

from airflow.decorators import dag, task


def broken(context):
    raise KeyError("webhook")


def run_broken(context):
    raise RuntimeError("pager down: " + type(context["exception"]).__name__)


@dag(schedule=None, start_date=datetime(2024, 1, 1), on_failure_callback=run_broken)
def fetcher(url: str = "http://default.invalid", tries: int = 1):
    @task
    def fetch(where, times):
        Path("@TMP@/fetched.txt").write_text(f"{where} {times}")

    @task(on_failure_callback=broken)
    def check():
        raise ValueError("bad data")

    fetch(url, tries) >> check()


fetcher()
"""


def test_conveyor_run_uses_the_conf_for_dag_function_params_and_shows_callback_errors(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fetcher.py"
    path.write_text(textwrap.dedent(DAG_PARAMS_FILE).replace("@TMP@", str(tmp_path)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env["CONVEYOR_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [CLI, "run", str(path), "--conf", '{"url": "http://given.invalid"}'],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # check fails, as written
    assert (tmp_path / "fetched.txt").read_text() == "http://given.invalid 1"
    out = " ".join(done.stdout.split())
    assert "check try 1: on_failure_callback broken raised KeyError: 'webhook'" in out
    # A DAG callback's error too (its exception: an AirflowException of the run's reason).
    assert "DAG on_failure_callback run_broken raised RuntimeError: pager down: " in out
    assert "pager down: AirflowException" in out


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def pipeline(url: str = "http://a.invalid", size: int = 2) -> None:
    def keep(where: str, size: int) -> dict[str, Any]:
        return {"where": where, "size": size}

    PythonOperator(task_id="templated", python_callable=keep, op_args=[url, size])
    PythonOperator(
        task_id="in_text",
        python_callable=lambda text: text,
        op_kwargs={"text": f"GET {url}"},
    )


def test_dag_function_parameters_are_params_the_conf_overrides() -> None:
    built = pipeline()
    assert built.params == {"url": "http://a.invalid", "size": 2}

    given = run_dag(built, conf={"url": "http://b.invalid"})
    given.raise_for_failure()
    assert given.xcom("templated") == {"where": "http://b.invalid", "size": 2}
    assert given.xcom("in_text") == "GET http://b.invalid"

    default = run_dag(built)
    assert default.xcom("templated") == {"where": "http://a.invalid", "size": 2}

    # Values the call gives are the params' defaults, as in Airflow.
    assert pipeline(size=5).params == {"url": "http://a.invalid", "size": 5}


def test_the_handle_and_run_view_outside_a_callback() -> None:
    seen: dict[str, Any] = {}

    def look(**context: Any) -> None:
        ti, run = context["ti"], context["dag_run"]
        seen.update(
            state=ti.state,
            end=ti.end_date,
            duration=ti.duration,
            run_state=run.state,
            missing_run_instance=run.get_task_instance("nothing"),
            instances=sorted(t.task_id for t in run.get_task_instances()),
            same=ti.get_template_context() is not None,
        )
        for name in ("clear_number", "no_such_thing"):
            try:
                getattr(run, name)
            except AttributeError as exc:
                seen[name] = str(exc)

    with DAG("plain_view", schedule=None, start_date=datetime(2024, 1, 1)) as built:
        PythonOperator(task_id="look", python_callable=look)
    run_dag(built).raise_for_failure()
    assert seen.pop("clear_number").startswith(
        "dag_run.clear_number (Airflow's) is not available in Conveyor: "
    )
    assert seen.pop("no_such_thing") == "dag_run has no attribute 'no_such_thing'"
    assert seen == {
        "state": "running",
        "end": None,
        "duration": None,
        "run_state": RunState.RUNNING,
        "missing_run_instance": None,
        "instances": ["look"],
        "same": True,
    }


def test_a_failure_callback_exception_falls_back_to_an_airflow_exception() -> None:
    from conveyor.run_views import as_exception

    made = as_exception("Traceback ...\nValueError: no")
    assert isinstance(made, AirflowException) and "ValueError: no" in str(made)
    real = KeyError("k")
    assert as_exception(real) is real and as_exception(None) is None
