"""Airflow DAG files that reach Airflow's core names the way real folders do, run unchanged.

Through the real DAG file processor and scheduler with the local executor, on SQLite and
PostgreSQL: ``import airflow`` then ``airflow.utils.dates``, ``conf``/``settings``/
``version``/``AIRFLOW_HOME`` read at import, a module-level ``Variable.get`` in a fresh home,
1.10's flat operator names, ``none_failed_or_skipped``, ``on_execute_callback``, templates
with ``user_defined_macros`` / ``user_defined_filters`` / ``render_template_as_native_obj``,
``@dag.task``, ``trigger_dag`` from task code, a file saved with a byte order mark.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import make_settings, run_until_finished
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, import_error
from store_reads import returned, states_of

LEGACY = """
import os

import airflow
from airflow import DAG, AirflowException, settings
from airflow.configuration import conf
from airflow.contrib.sensors.file_sensor import FileSensor
from airflow.models import Variable
from airflow.operators import BashOperator, BranchPythonOperator, DummyOperator, PythonOperator
from airflow.utils.dates import timedelta
from airflow.version import version

HOME = os.environ["AIRFLOW_HOME"]
GREETING = Variable.get("greeting", default_var="hello")  # never set: the default
START = airflow.utils.dates.days_ago(2)


def facts():
    return {
        "home": HOME,
        "dags_folder": conf.get("core", "dags_folder"),
        "settings_dags_folder": settings.DAGS_FOLDER,
        "team": conf.get("pipeline", "team"),
        "retries": conf.getint("pipeline", "retries", fallback=2),
        "examples": conf.getboolean("core", "load_examples"),
        "version": version,
        "greeting": GREETING,
    }


def noted(context):
    with open("@TMP@/executed.txt", "a") as handle:
        handle.write(context["ti"].task_id + "\\n")


def refuse():
    raise AirflowException("refused on purpose")


with DAG("af_legacy_names", start_date=START, schedule_interval=None,
         default_args={"on_execute_callback": noted, "retry_delay": timedelta(seconds=1)}):
    info = PythonOperator(task_id="facts", python_callable=facts)
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left")
    left, right = DummyOperator(task_id="left"), DummyOperator(task_id="right")
    ready = FileSensor(task_id="ready", filepath="@TMP@/ready.flag", fs_conn_id="fs_default",
                       poke_interval=0.2, timeout=20)
    landed = FileSensor(task_id="landed", filepath="in/*.csv", fs_conn_id="landing",
                        poke_interval=0.2, timeout=20)
    join = BashOperator(task_id="join", bash_command="echo joined",
                        trigger_rule="none_failed_or_skipped")
    broken = PythonOperator(task_id="broken", python_callable=refuse)
    after_broken = DummyOperator(task_id="after_broken", trigger_rule="none_failed_or_skipped")
    info >> pick >> [left, right] >> join
    [ready, landed] >> join
    [broken, left] >> after_broken
"""

TEMPLATES = """
from datetime import datetime

from airflow import DAG
from airflow.api.common.trigger_dag import trigger_dag
from airflow.exceptions import DagNotFound, DagRunAlreadyExists
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.sdk.definitions.decorators import task
from airflow.task.trigger_rule import TriggerRule

START = datetime(2024, 1, 1)


def shout(text):
    return text.upper() + "!"


def kinds(numbers, mapping, text):
    return {"type": type(numbers).__name__, "total": sum(numbers), "team": mapping["team"],
            "text": text}


with DAG("af_native", start_date=START, schedule=None, render_template_as_native_obj=True,
         user_defined_macros={"team": "data", "double": lambda n: n * 2},
         user_defined_filters={"shout": shout}):
    PythonOperator(task_id="kinds", python_callable=kinds, op_kwargs={
        "numbers": "{{ [1, 2, double(3)] }}",
        "mapping": "{{ {'team': team} }}",
        "text": "{{ team | shout }}",
    })

with DAG("af_macros", start_date=START, schedule=None, user_defined_macros={"team": "data"},
         user_defined_filters={"shout": shout}):
    BashOperator(task_id="say", bash_command="echo {{ team | shout }} {{ [1, 2] }}")

with DAG("af_started", start_date=START, schedule=None, params={"n": 1}):
    BashOperator(task_id="echo", bash_command="echo n={{ params.n }}")

starter = DAG("af_starter", start_date=START, schedule=None)


@starter.task
def start_other():
    made = trigger_dag("af_started", run_id="from_code", conf={"n": 3})
    try:
        trigger_dag("af_started", run_id="from_code")
    except DagRunAlreadyExists:
        again = "already exists"
    try:
        trigger_dag("af_nowhere")
    except DagNotFound:
        missing = "not found"
    return {"run_id": made.run_id, "again": again, "missing": missing}


with starter:
    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(result):
        return result["run_id"]

    report(start_other())
"""

NEEDS_VARIABLE = """
from airflow import DAG
from airflow.models import Variable

URL = Variable.get("warehouse_url")

with DAG("af_needs_variable", schedule=None):
    pass
"""


def _write(folder: Path, name: str, text: str, tmp: Path, *, bom: bool = False) -> None:
    body = textwrap.dedent(text).lstrip("\n").replace("@TMP@", str(tmp))
    (folder / name).write_bytes(("\ufeff" if bom else "").encode() + body.encode())


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAG folder, and a home that is fresh: its store has no schema yet."""
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    monkeypatch.setenv("AIRFLOW__PIPELINE__TEAM", "analytics")
    monkeypatch.setenv("CONVEYOR_CONN_LANDING", f"fs://?path={tmp_path / 'landing'}")
    dags = tmp_path / "dags"
    dags.mkdir()
    monkeypatch.setenv("CONVEYOR_DAGS_FOLDER", str(dags))  # what conf and settings read
    return dags


def test_legacy_names_configuration_and_trigger_rules(
    tmp_path: Path, folder: Path, store_url: str, store: Store
) -> None:
    _write(folder, "legacy.py", LEGACY, tmp_path)
    _write(folder, "needs_variable.py", NEEDS_VARIABLE, tmp_path)
    (tmp_path / "ready.flag").write_text("")
    (tmp_path / "landing" / "in").mkdir(parents=True)
    (tmp_path / "landing" / "in" / "orders.csv").write_text("id\n1\n")
    settings = make_settings(tmp_path, folder, store_url)
    DagFileProcessor(store, folder, timeout=20, scan_every=60).sync()
    with store.read() as conn:
        errors = {Path(e.fileloc).name: e.message for e in conn.execute(select(import_error))}
    # A variable read at import with no default: an error naming it, not a missing table.
    assert list(errors) == ["needs_variable.py"]
    assert "no variable 'warehouse_url'" in errors["needs_variable.py"]
    assert "table" not in errors["needs_variable.py"]
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "af_legacy_names", created_by="test")
    assert run_pk is not None
    run_until_finished(settings, store, [run_pk], limit=60)

    assert states_of(store, run_pk) == {
        "facts": "success",
        "pick": "success",
        "left": "success",
        "right": "skipped",
        "ready": "success",
        "landed": "success",  # in/*.csv under the landing connection's path
        "join": "success",  # none_failed_or_skipped: one skipped upstream does not skip it
        "broken": "failed",
        "after_broken": "upstream_failed",
    }
    home = (tmp_path / "home").resolve()
    assert returned(store, run_pk, "facts") == {
        "home": str(home),
        "dags_folder": str(folder.resolve()),
        "settings_dags_folder": str(folder.resolve()),
        "team": "analytics",
        "retries": 2,
        "examples": False,
        "version": "3.3.2",
        "greeting": "hello",
    }
    executed = (tmp_path / "executed.txt").read_text().split()
    assert sorted(executed) == sorted(
        ["facts", "pick", "left", "ready", "landed", "join", "broken"]
    )


def test_templates_dag_task_and_trigger_dag_from_a_file_with_a_bom(
    tmp_path: Path, folder: Path, store_url: str, store: Store
) -> None:
    _write(folder, "templates.py", TEMPLATES, tmp_path, bom=True)
    settings = make_settings(tmp_path, folder, store_url)
    DagFileProcessor(store, folder, timeout=20, scan_every=60).sync()
    with store.write() as conn:
        made = [
            runs.create_manual_run(conn, dag_id, created_by="test")
            for dag_id in ("af_native", "af_macros", "af_starter")
        ]
    native, macros, starter = made
    assert native is not None and macros is not None and starter is not None
    run_until_finished(settings, store, [native, macros, starter], limit=60)

    assert returned(store, native, "kinds") == {
        "type": "list",
        "total": 9,
        "team": "data",
        "text": "DATA!",
    }
    assert returned(store, macros, "say") == "DATA! [1, 2]"
    assert states_of(store, starter) == {"start_other": "success", "report": "success"}
    assert returned(store, starter, "start_other") == {
        "run_id": "from_code",
        "again": "already exists",
        "missing": "not found",
    }
    with store.read() as conn:
        started = conn.execute(
            select(dag_run.c.id, dag_run.c.conf).where(
                dag_run.c.dag_id == "af_started", dag_run.c.run_id == "from_code"
            )
        ).one()
    assert started.conf == {"n": 3}
    run_until_finished(settings, store, [started.id], limit=60)
    assert returned(store, started.id, "echo") == "n=3"
