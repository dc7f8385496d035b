"""The DAG folder's root and the plugins folder are importable, as on Airflow's sys.path.

A DAG file in a subfolder imports ``common.helpers`` from the folder's root and an operator,
a macro and a hook of an ``AirflowPlugin`` in the plugins folder, by Airflow 1.10's names
(``airflow.operators.<plugin>``) and by the plugin module's own; a template reaches another
plugin's macros as ``{{ macros.<plugin>.<name>() }}``. It runs on the local
executor; a change to the helper or the plugin makes a new version; and a real Celery
worker that has neither folder (not even in its working folder) runs it from the store.
"""

from __future__ import annotations

import os
import shutil
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import require_redis, start_worker
from conftest import make_settings, run_until_finished, runs_finished
from conveyor.config import Settings
from conveyor.executors.celery_app import make_app
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import runs, schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag, import_error, task_try, xcom

BROKER = "redis://127.0.0.1:6379/14"

REPORT = """
    from datetime import datetime

    from airflow import DAG
    from airflow.hooks.shout_plugin import ShoutHook
    from airflow.macros.shout_plugin import twice
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator
    from airflow.operators.shout_plugin import ShoutOperator

    from common.helpers import greet
    from shout_plugin import ShoutOperator as SameOperator

    assert SameOperator is ShoutOperator

    def both():
        return [greet(), twice("ab"), ShoutHook().loud("x")]

    with DAG("report", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        PythonOperator(task_id="greet", python_callable=both)
        ShoutOperator(task_id="shout", word="hey")
        # A plugin the file never imports, reached by its macros in a template.
        BashOperator(task_id="stamp", bash_command="echo {{ macros.stamp_plugin.stamp('x') }}")
"""
STAMP_PLUGIN = """
    from airflow.plugins_manager import AirflowPlugin


    def stamp(text):
        return "stamped-" + text


    class StampPlugin(AirflowPlugin):
        name = "stamp_plugin"
        macros = [stamp]
"""
HELPERS = 'def greet():\n    return "common @VERSION@"\n'
PLUGIN = """
    from airflow.hooks.base import BaseHook
    from airflow.models import BaseOperator
    from airflow.plugins_manager import AirflowPlugin


    class ShoutOperator(BaseOperator):
        def __init__(self, word, **kwargs):
            super().__init__(**kwargs)
            self.word = word

        def execute(self, context):
            return self.word.upper() + "@MARK@"


    class ShoutHook(BaseHook):
        def loud(self, text):
            return text.upper()


    def twice(text):
        return text * 2


    class ShoutPlugin(AirflowPlugin):
        name = "shout_plugin"
        operators = [ShoutOperator]
        hooks = [ShoutHook]
        macros = [twice]
"""


def _write(dags: Path, plugins: Path, version: str = "v1", mark: str = "!") -> None:
    (dags / "team").mkdir(parents=True, exist_ok=True)
    (dags / "common").mkdir(exist_ok=True)
    plugins.mkdir(parents=True, exist_ok=True)
    (dags / "team" / "report.py").write_text(textwrap.dedent(REPORT))
    (dags / "common" / "__init__.py").write_text("")
    (dags / "common" / "helpers.py").write_text(HELPERS.replace("@VERSION@", version))
    (plugins / "shout_plugin.py").write_text(textwrap.dedent(PLUGIN).replace("@MARK@", mark))
    (plugins / "stamp_plugin.py").write_text(textwrap.dedent(STAMP_PLUGIN))


def _processor(store: Store, settings: Settings) -> DagFileProcessor:
    return DagFileProcessor(
        store, settings.dags_path, timeout=30, scan_every=1, plugins_folder=settings.plugins_path
    )


def _parse(store: Store, settings: Settings, processor: DagFileProcessor | None = None) -> str:
    """Parse the folder as the scheduler does (by default with a processor just started);
    the DAG's version hash."""
    (processor or _processor(store, settings)).sync()
    with store.read() as conn:
        errors = conn.execute(select(import_error.c.message)).scalars().all()
        version = conn.execute(select(dag.c.version_hash).where(dag.c.dag_id == "report"))
        found = version.scalar()
    assert not errors, errors
    assert found is not None
    return str(found)


def _results(store: Store, run_pk: int) -> dict[str, object]:
    with store.read() as conn:
        values = dict(
            conn.execute(
                select(xcom.c.task_id, xcom.c.value).where(
                    xcom.c.run_pk == run_pk, xcom.c.key == "return_value"
                )
            ).all()
        )
        failed = conn.execute(select(task_try.c.error).where(task_try.c.error.is_not(None)))
        assert not failed.first(), "a try failed"
    return values


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite: the Celery test below runs on PostgreSQL."""
    made = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    schema.migrate(made)
    try:
        yield made
    finally:
        made.dispose()


def test_a_subfolder_dag_imports_the_root_and_a_plugin_on_the_local_executor(
    tmp_path: Path, store: Store
) -> None:
    dags = tmp_path / "dags"
    settings = make_settings(tmp_path, dags, store.url)
    assert settings.plugins_path == (tmp_path / "home" / "plugins").resolve()
    _write(dags, settings.plugins_path)
    first = _parse(store, settings)
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "report", created_by="test")
    assert run_pk is not None
    run_until_finished(settings, store, [run_pk], limit=60)
    assert _results(store, run_pk) == {
        "greet": ["common v1", "abab", "X"],
        "shout": "HEY!",
        "stamp": "stamped-x",
    }

    # What the file imports from the root and the plugins folder is part of its version: a
    # change to either parses the file again, in a running processor and in one started
    # after the change.
    running = _processor(store, settings)
    assert _parse(store, settings, running) == first
    (dags / "common" / "helpers.py").write_text(HELPERS.replace("@VERSION@", "v2"))
    second = _parse(store, settings, running)
    (settings.plugins_path / "shout_plugin.py").write_text(
        textwrap.dedent(PLUGIN).replace("@MARK@", "?")
    )
    third = _parse(store, settings)
    assert len({first, second, third}) == 3
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "report", created_by="test")
    assert run_pk is not None
    run_until_finished(settings, store, [run_pk], limit=60)
    assert _results(store, run_pk) == {
        "greet": ["common v2", "abab", "X"],
        "shout": "HEY?",
        "stamp": "stamped-x",
    }


@pytest.fixture
def parsed_and_removed(tmp_path: Path, pg_database_url: str) -> Iterator[Store]:
    """The folder and plugins parsed into PostgreSQL, then both removed."""
    require_redis(fail_in_ci=False)
    store = Store(pg_database_url)
    schema.migrate(store)
    dags = tmp_path / "dags"
    settings = make_settings(tmp_path, dags, pg_database_url)
    _write(dags, settings.plugins_path)
    _parse(store, settings)
    shutil.rmtree(dags)
    shutil.rmtree(settings.plugins_path)
    try:
        yield store
    finally:
        store.dispose()


@pytest.mark.postgres
def test_a_celery_worker_without_either_folder_runs_the_dag_from_the_store(
    tmp_path: Path, parsed_and_removed: Store
) -> None:
    store = parsed_and_removed
    settings = make_settings(
        tmp_path, tmp_path / "nowhere", store.url, executor="celery", broker_url=BROKER
    )
    make_app(settings).control.purge()
    cwd = tmp_path / "worker-cwd"
    cwd.mkdir()
    worker_home = tmp_path / "worker-home"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "PYTHONPATH"))}
    environ.update(
        CONVEYOR_HOME=str(worker_home),
        CONVEYOR_DATABASE_URL=store.url,
        CONVEYOR_BROKER_URL=BROKER,
        CONVEYOR_HEARTBEAT_SECONDS="0.5",
    )
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "report", created_by="test")
    assert run_pk is not None
    log = tmp_path / "worker.log"
    with start_worker("default", "w_path@test", environ, log, db_url=None, cwd=cwd):
        scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor=None)
        done = runs_finished(store, [run_pk])
        deadline = time.monotonic() + 90
        scheduler.run(until=lambda: done() or time.monotonic() > deadline)
    assert done(), f"the run did not finish; the worker said:\n{log.read_text()[-3000:]}"
    assert _results(store, run_pk) == {
        "greet": ["common v1", "abab", "X"],
        "shout": "HEY!",
        "stamp": "stamped-x",
    }
    shipped = {p.relative_to(worker_home / "code").parts[1:] for p in worker_home.rglob("*.py")}
    assert ("common", "helpers.py") in shipped
    assert (".plugins", "shout_plugin.py") in shipped
    assert (".plugins", "stamp_plugin.py") in shipped  # named only by a template's macros
