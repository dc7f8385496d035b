"""Airflow-style DAG files, one concern each, through the real scheduler on both backends.

Written for this test in the way Airflow users write them: callbacks that read Airflow's
context keys, ``email_on_failure`` without an SMTP connection, ``AirflowFailException``,
``Variable.get(deserialize_json=)``, ``BaseHook.get_connection``, a user's own operator on
``airflow.models.BaseOperator`` with ``self.log`` and ``apply_defaults``, ``cross_downstream``,
and an ``@once`` DAG that triggers a DAG whose file is still being parsed.
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import make_settings, run_scheduler, run_until_finished
from conveyor.config import Settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance, task_try, xcom
from conveyor.worker.runner import log_path_for
from store_reads import states_of

CALLBACKS = """
import json
from datetime import datetime

from airflow import DAG
from airflow.exceptions import AirflowFailException
from airflow.operators.python import PythonOperator

SEEN = "@TMP@/callback.json"


def remember(context):
    keys = sorted(k for k in ("dag", "task", "ti", "task_instance", "dag_run", "run_id", "ds",
                              "params", "exception", "logical_date") if k in context)
    with open(SEEN, "w") as handle:
        json.dump({"keys": keys, "task": context["task_instance"].task_id,
                   "error": str(context["exception"])}, handle)


def explode():
    raise AirflowFailException("no retry for this")


with DAG("af_callbacks", start_date=datetime(2024, 1, 1), schedule_interval=None,
         default_args={"retries": 3, "email": ["ops@example.com"], "email_on_failure": True,
                       "on_failure_callback": remember}) as dag:
    PythonOperator(task_id="explode", python_callable=explode)
"""

RESOURCES = """
from datetime import datetime

from airflow import DAG
from airflow.hooks.base import BaseHook
from airflow.models import BaseOperator, Variable
from airflow.operators.empty import EmptyOperator
from airflow.utils.decorators import apply_defaults
from airflow.utils.helpers import cross_downstream


class GreetOperator(BaseOperator):
    template_fields = ("who",)

    @apply_defaults
    def __init__(self, who, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.who = who

    def execute(self, context):
        settings = Variable.get("greeting", deserialize_json=True)
        host = BaseHook.get_connection("warehouse").host
        self.log.info("greeting %s from %s", self.who, host)
        try:
            Variable.get("never_set")
        except KeyError:  # what Airflow code catches for a missing variable
            host += " (no never_set)"
        self.xcom_push(context, key="host", value=host)  # Airflow 1.10's operator method
        return f"{settings['word']} {self.who} at {host}"


with DAG("af_resources", start_date=datetime(2024, 1, 1), schedule_interval=None,
         params={"name": "ops"}) as dag:
    greet = GreetOperator(task_id="greet", who="{{ params.name }}", provide_context=True)
    a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
    c, d = EmptyOperator(task_id="c"), EmptyOperator(task_id="d")
    cross_downstream([a, b], [c, d])
    greet >> a
"""

SHELL = """
from datetime import datetime

from airflow.decorators import task
from airflow.models import BaseOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.weekday import BranchDayOfWeekOperator
from airflow.sdk import DAG


class Double(BaseOperator):
    def __init__(self, number, **kwargs):
        super().__init__(**kwargs)
        self.number = number

    def execute(self, context):
        return self.number * 2


with DAG("af_shell", start_date=datetime(2024, 1, 1), schedule_interval=None, concurrency=4,
         dag_display_name="Shell things") as dag:
    stats = BashOperator(
        task_id="stats", bash_command="echo files=3 lines=40", multiple_outputs=True,
        output_processor=lambda line: {k: int(v) for k, v in (p.split("=") for p in line.split())},
    )

    @task.bash(task_display_name="Report")
    def report(files):
        return f"echo files={files} day={{{{ ds }}}}"

    report(stats.output["files"])
    monday = BranchDayOfWeekOperator(
        task_id="monday", week_day="Monday", use_task_logical_date=True,
        follow_task_ids_if_true="start_week", follow_task_ids_if_false="carry_on",
    )
    monday >> [EmptyOperator(task_id="start_week"), EmptyOperator(task_id="carry_on")]
    doubled = Double.partial(task_id="double").expand(number=[1, 2, 3])
    BashOperator(task_id="sum", bash_command="echo {{ ti.xcom_pull(task_ids='double') | sum }}")
    doubled >> dag.get_task("sum")
"""

WATCHED = """
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor
from airflow.utils.task_group import TaskGroup

with DAG("af_parent", start_date=datetime(2024, 1, 1), schedule=None) as parent:
    with TaskGroup("load"):
        BashOperator(task_id="one", bash_command="sleep 1")
        BashOperator(task_id="two", bash_command="sleep 1")
    ExternalTaskMarker(task_id="mark", external_dag_id="af_child", external_task_id="wait")

with DAG("af_child", start_date=datetime(2024, 1, 1), schedule=None) as child:
    ExternalTaskSensor(
        task_id="wait", external_dag_id="af_parent", external_task_group_id="load",
        allowed_states=["success"], failed_states=["failed", "skipped"],
        poke_interval=0.2, timeout=30, mode="reschedule",
    )
"""

STARTER = """
from datetime import datetime

from airflow import DAG
from airflow.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("af_starter", schedule="@once", start_date=datetime(2024, 1, 1)) as dag:
    TriggerDagRunOperator(task_id="kick", trigger_dag_id="af_late_target")
"""

LATE_TARGET = """
import time
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

time.sleep(3)  # a slow file: the starter's trigger runs before this one is registered

with DAG("af_late_target", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    BashOperator(task_id="hello", bash_command="echo late target ran")
"""


def _write(folder: Path, name: str, text: str, tmp: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text).replace("@TMP@", str(tmp)))


def _folder(
    tmp: Path, store_url: str, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> tuple[Path, Settings]:
    """A home under ``tmp`` (``CONVEYOR_HOME`` too, for what reads it) and a DAG folder
    holding ``files`` (name: text, ``@TMP@`` made ``tmp``); the folder and the settings."""
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp / "home"))
    folder = tmp / "dags"
    for name, text in files.items():
        _write(folder, name, text, tmp)
    return folder, make_settings(tmp, folder, store_url)


def test_callbacks_failure_and_resources(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_VAR_GREETING", json.dumps({"word": "hello"}))
    monkeypatch.setenv("CONVEYOR_CONN_WAREHOUSE", "postgresql://u:secret@db.internal:5432/w")
    files = {"callbacks.py": CALLBACKS, "resources.py": RESOURCES}
    folder, settings = _folder(tmp_path, store_url, monkeypatch, files)
    DagFileProcessor(store, folder, timeout=20, scan_every=60).sync()
    with store.write() as conn:
        failing = runs.create_manual_run(conn, "af_callbacks", created_by="test")
        greeting = runs.create_manual_run(conn, "af_resources", created_by="test")
    assert failing is not None and greeting is not None
    run_until_finished(settings, store, [failing, greeting], limit=60)

    # AirflowFailException: failed at once although retries=3 came from default_args.
    assert states_of(store, failing) == {"explode": "failed"}
    with store.read() as conn:
        tries = conn.execute(
            select(task_try)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.run_pk == failing)
        ).all()
    assert len(tries) == 1
    seen = json.loads((tmp_path / "callback.json").read_text())
    assert seen["task"] == "explode" and "no retry for this" in seen["error"]
    assert seen["keys"] == sorted(
        [
            "dag",
            "task",
            "ti",
            "task_instance",
            "dag_run",
            "run_id",
            "ds",
            "params",
            "exception",
            "logical_date",
        ]
    )
    with store.read() as conn:
        run = conn.execute(select(dag_run).where(dag_run.c.id == failing)).one()
    log = log_path_for(settings, "af_callbacks", run.run_id, "explode", 1).read_text()
    assert "email_on_failure: not sent to ops@example.com" in log
    assert "smtp_default" in log

    # A user's operator: template field, Variable JSON, connection, self.log.
    states = states_of(store, greeting)
    assert set(states.values()) == {"success"}
    with store.read() as conn:
        value = conn.execute(
            select(xcom.c.value).where(
                xcom.c.run_pk == greeting,
                xcom.c.task_id == "greet",
                xcom.c.key == "return_value",
            )
        ).scalar()
        run = conn.execute(select(dag_run).where(dag_run.c.id == greeting)).one()
    assert value == "hello ops at db.internal (no never_set)"
    with store.read() as conn:
        pushed = conn.execute(
            select(xcom.c.value).where(xcom.c.run_pk == greeting, xcom.c.key == "host")
        ).scalar()
    assert pushed == "db.internal (no never_set)"
    greet_log = log_path_for(settings, "af_resources", run.run_id, "greet", 1).read_text()
    assert "INFO - greeting ops from db.internal" in greet_log
    with store.read() as conn:
        structure = runs.serialized_dag(conn, run.version_hash)
    assert set(structure.tasks["c"].upstream) == {"a", "b"}
    assert set(structure.tasks["d"].upstream) == {"a", "b"}


def test_an_once_dag_triggers_a_dag_that_is_parsed_later(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"a_starter.py": STARTER, "z_late_target.py": LATE_TARGET}
    _, settings = _folder(tmp_path, store_url, monkeypatch, files)

    def both_done() -> bool:
        with store.read() as conn:
            found: list[Any] = conn.execute(select(dag_run.c.dag_id, dag_run.c.state)).all()
        return {r.dag_id for r in found} == {"af_starter", "af_late_target"} and all(
            RunState(r.state) in RUN_FINISHED for r in found
        )

    run_scheduler(settings, store, both_done, limit=60, what="both DAGs ran")
    with store.read() as conn:
        found = {r.dag_id: r for r in conn.execute(select(dag_run))}
    assert found["af_starter"].state == RunState.SUCCESS
    assert found["af_late_target"].state == RunState.SUCCESS
    assert states_of(store, found["af_starter"].id) == {"kick": "success"}


def test_task_bash_date_branch_and_a_mapped_operator_of_ones_own(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"shell.py": SHELL, "watched.py": WATCHED}
    folder, settings = _folder(tmp_path, store_url, monkeypatch, files)
    DagFileProcessor(store, folder, timeout=20, scan_every=60).sync()
    monday = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with store.write() as conn:
        shell = runs.create_manual_run(conn, "af_shell", logical_date=monday, created_by="test")
        child = runs.create_manual_run(conn, "af_child", logical_date=monday, created_by="test")
        parent = runs.create_manual_run(conn, "af_parent", logical_date=monday, created_by="t")
    assert shell is not None and child is not None and parent is not None
    run_until_finished(settings, store, [shell, child, parent], limit=60)
    # The sensor waited for every task of the parent's group, then succeeded.
    assert states_of(store, child) == {"wait": "success"}
    assert set(states_of(store, parent).values()) == {"success"}

    # @task.bash, output_processor with multiple_outputs, a date branch, a mapped own operator.
    assert states_of(store, shell) == {
        "stats": "success",
        "report": "success",
        "monday": "success",
        "start_week": "success",
        "carry_on": "skipped",
        "double": "success",
        "sum": "success",
    }
    with store.read() as conn:
        values = {
            (r.task_id, r.key): r.value
            for r in conn.execute(select(xcom).where(xcom.c.run_pk == shell))
        }
    assert values[("stats", "files")] == 3 and values[("stats", "lines")] == 40
    assert values[("report", "return_value")] == "files=3 day=2026-03-02"
    assert values[("sum", "return_value")] == "12"
