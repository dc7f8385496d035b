"""A plugin's listeners, in Airflow's spelling, see every event of a run in order.

The plugins folder holds an ``AirflowPlugin`` whose ``listeners`` are a recorder (every hook,
written to a file with the process that called it) and a listener that raises. A run of
three chained tasks (one succeeds, one skips itself, one fails) goes through a real scheduler
with the local executor and, on PostgreSQL, a real Celery worker: the scheduler and each
try's process call the hooks Airflow's would, with its arguments; the raising listener is
logged in the try's log and changes nothing else; a slow listener does not hold the next try.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from celery_workers import require_redis, start_worker, worker_env
from conftest import make_settings, run_until_finished, runs_finished
from conveyor.airflow_compat import listeners
from conveyor.config import Settings
from conveyor.executors.celery_app import make_app
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import runs, schema, transitions
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance, task_try
from conveyor.web import accounts
from conveyor.web.app import create_app

BROKER = "redis://127.0.0.1:6379/13"

DAG_FILE = """
    from datetime import datetime

    from airflow import DAG
    from airflow.datasets import Dataset
    from airflow.exceptions import AirflowSkipException
    from airflow.operators.python import PythonOperator


    def skip_me():
        raise AirflowSkipException("nothing to do")


    def fail():
        raise ValueError("boom went the task")


    with DAG("watched", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        ok = PythonOperator(
            task_id="ok", python_callable=lambda: 1, outlets=[Dataset("s3://lake/watched")]
        )
        skip = PythonOperator(task_id="skip", python_callable=skip_me)
        boom = PythonOperator(task_id="boom", python_callable=fail, trigger_rule="all_done")
        ok >> skip >> boom
"""

PLUGIN = """
    import json
    import os
    import time

    from airflow.listeners import hookimpl
    from airflow.operators.python import PythonOperator
    from airflow.plugins_manager import AirflowPlugin
    from airflow.sdk import BaseOperatorLink

    EVENTS = @EVENTS@
    SLOW = @SLOW@


    def _write(event, **fields):
        line = json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\\n"
        with open(EVENTS, "a") as out:
            out.write(line)


    def _ti(ti):
        ended = ti.end_date.isoformat() if ti.end_date else None
        return {"task": ti.task_id, "try": ti.try_number, "run": ti.run_id, "ended": ended}


    class Recorder:
        @hookimpl
        def on_starting(self, component):
            _write("on_starting", component=type(component).__name__)

        @hookimpl
        def before_stopping(self, component):
            _write("before_stopping", component=type(component).__name__)

        @hookimpl
        def on_task_instance_running(self, previous_state, task_instance):
            _write("on_task_instance_running", previous=str(previous_state), **_ti(task_instance))

        @hookimpl
        def on_task_instance_success(self, previous_state, task_instance):
            _write("on_task_instance_success", previous=str(previous_state), **_ti(task_instance))
            time.sleep(SLOW)

        @hookimpl
        def on_task_instance_skipped(self, previous_state, task_instance):
            _write("on_task_instance_skipped", previous=str(previous_state), **_ti(task_instance))

        @hookimpl
        def on_task_instance_failed(self, previous_state, task_instance, error):
            _write("on_task_instance_failed", error=str(error), **_ti(task_instance))

        @hookimpl
        def on_asset_changed(self, asset):
            _write("on_asset_changed", uri=asset.uri)

        @hookimpl
        def on_asset_event_emitted(self, asset_event):
            _write(
                "on_asset_event_emitted",
                uri=asset_event.asset.uri,
                source=[asset_event.source_dag_id, asset_event.source_task_id],
            )

        @hookimpl
        def on_dag_run_running(self, dag_run, msg):
            started = dag_run.start_date.isoformat() if dag_run.start_date else None
            _write(
                "on_dag_run_running",
                run=dag_run.run_id,
                dag=dag_run.dag_id,
                msg=msg,
                started=started,
            )

        @hookimpl
        def on_dag_run_success(self, dag_run, msg):
            _write("on_dag_run_success", run=dag_run.run_id, msg=msg)

        @hookimpl
        def on_dag_run_failed(self, dag_run, msg):
            _write(
                "on_dag_run_failed",
                run=dag_run.run_id,
                msg=msg,
                state=str(dag_run.state),
                ended=dag_run.end_date.isoformat() if dag_run.end_date else None,
                tasks={ti.task_id: ti.state for ti in dag_run.get_task_instances()},
            )


    class Broken:
        @hookimpl
        def on_task_instance_success(self, task_instance):
            raise RuntimeError("this listener is broken")


    class RunbookLink(BaseOperatorLink):
        name = "Runbook"
        operators = [PythonOperator]

        def get_link(self, operator, *, ti_key):
            return f"https://runbooks.example/{ti_key.dag_id}/{operator.task_id}/{ti_key.try_number}"


    class WatchPlugin(AirflowPlugin):
        name = "watch_plugin"
        listeners = [Recorder(), Broken()]
        operator_extra_links = [RunbookLink()]
"""


def _write_folders(settings: Settings, events: Path, slow: float = 0.0) -> None:
    settings.dags_path.mkdir(parents=True, exist_ok=True)
    settings.plugins_path.mkdir(parents=True, exist_ok=True)
    (settings.dags_path / "watched.py").write_text(textwrap.dedent(DAG_FILE))
    plugin = textwrap.dedent(PLUGIN).replace("@EVENTS@", repr(str(events)))
    (settings.plugins_path / "watch_plugin.py").write_text(plugin.replace("@SLOW@", repr(slow)))


def _parse(store: Store, settings: Settings) -> None:
    DagFileProcessor(
        store, settings.dags_path, timeout=30, scan_every=1, plugins_folder=settings.plugins_path
    ).sync()


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(autouse=True)
def no_listeners_left() -> Iterator[None]:
    """The scheduler runs in this process: its listeners are let go after each test."""
    yield
    listeners.reset()
    transitions.on_run_moves(None)
    sys.modules.pop("watch_plugin", None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    schema.migrate(made)
    try:
        yield made
    finally:
        made.dispose()


def _check_run_events(
    events: list[dict[str, Any]], run: tuple[str, str, str, dict[str, str]], scheduler_pid: int
) -> None:
    """Every event of the run (its id and start), in order: the scheduler's, and each try's in
    its process."""
    run_id, run_start, run_end, try_ends = run
    everything = events
    assets = [e for e in events if e["event"].startswith("on_asset_")]
    events = [e for e in events if not e["event"].startswith("on_asset_")]
    tries = [e for e in events if e["pid"] != scheduler_pid]
    by_task: dict[str, list[dict[str, Any]]] = {}
    for event in tries:
        if "task" in event:
            by_task.setdefault(event["task"], []).append(event)
    assert [e["task"] for e in tries if e["event"] == "on_task_instance_running"] == [
        "ok",
        "skip",
        "boom",
    ]
    assert all(e["previous"] == "queued" for e in tries if e["event"].endswith("_running"))
    ended = {task: [e["event"] for e in found] for task, found in by_task.items()}
    assert ended == {
        "ok": ["on_task_instance_running", "on_task_instance_success"],
        "skip": ["on_task_instance_running", "on_task_instance_skipped"],
        "boom": ["on_task_instance_running", "on_task_instance_failed"],
    }
    # A try's hooks see the end its record gave it; none while it runs.
    assert {task: [e["ended"] for e in found] for task, found in by_task.items()} == {
        task: [None, try_ends[task]] for task in ("ok", "skip", "boom")
    }
    failed = by_task["boom"][1]
    assert "boom went the task" in failed["error"]
    assert {e["run"] for e in tries if "run" in e} == {run_id}
    # Each try's process: started, its task's hooks, (the run's end), stopped.
    for task in ("ok", "skip", "boom"):
        pid = by_task[task][0]["pid"]
        own = [e for e in events if e["pid"] == pid]  # a runner process runs several tries
        start = own.index(by_task[task][0])
        expected = ["on_starting", "on_task_instance_running", by_task[task][1]["event"]]
        if task == "boom":  # its record ended the run: told after the try's own hook
            expected.append("on_dag_run_failed")
        expected.append("before_stopping")
        assert [e["event"] for e in own[start - 1 :][: len(expected)]] == expected, own
    names = [e["event"] for e in events]
    # The run started (in the scheduler) before any task ran, and ended after the last.
    assert names.index("on_dag_run_running") < names.index("on_task_instance_running")
    assert names.index("on_dag_run_failed") > names.index("on_task_instance_failed")
    running = next(e for e in events if e["event"] == "on_dag_run_running")
    assert (running["pid"], running["msg"], running["dag"]) == (scheduler_pid, "started", "watched")
    assert running["started"] == run_start  # the run as it started, as Airflow hands it over
    end = next(e for e in events if e["event"] == "on_dag_run_failed")
    assert (end["msg"], end["state"], end["ended"]) == ("task_failure", "failed", run_end)
    # Its run reads its task instances, as Airflow's DagRun does.
    assert end["tasks"] == {"ok": "success", "skip": "skipped", "boom": "failed"}
    assert "on_dag_run_success" not in names
    # ok's outlet: told in ok's process once its record committed, before ok's success hook.
    assert [(e["event"], e["uri"]) for e in assets] == [
        ("on_asset_changed", "s3://lake/watched"),
        ("on_asset_event_emitted", "s3://lake/watched"),
    ]
    assert assets[1]["source"] == ["watched", "ok"]
    assert {e["pid"] for e in assets} == {by_task["ok"][0]["pid"]}
    assert everything.index(assets[1]) < everything.index(by_task["ok"][1])
    lifecycle = [e for e in events if e["event"] in ("on_starting", "before_stopping")]
    assert {e["component"] for e in lifecycle if e["pid"] != scheduler_pid} == {"TaskRunnerMarker"}


def _run_id(store: Store, run_pk: int) -> str:
    with store.read() as conn:
        return str(conn.execute(select(dag_run.c.run_id).where(dag_run.c.id == run_pk)).scalar())


def _run(store: Store, run_pk: int) -> tuple[str, str, str, dict[str, str]]:
    """The run's id, start and end, and each task's try's recorded end, as a listener writes
    them."""
    with store.read() as conn:
        row = conn.execute(
            select(dag_run.c.run_id, dag_run.c.start_date, dag_run.c.end_date).where(
                dag_run.c.id == run_pk
            )
        ).one()
        ends = conn.execute(
            select(task_instance.c.task_id, task_try.c.end_date)
            .join(task_try, task_try.c.ti_id == task_instance.c.id)
            .where(task_instance.c.run_pk == run_pk)
        ).all()
    assert row.start_date is not None and row.end_date is not None
    tries = {task_id: end.isoformat() for task_id, end in ends}
    return row.run_id, row.start_date.isoformat(), row.end_date.isoformat(), tries


def test_a_plugin_listener_sees_every_event_of_a_run_on_the_local_executor(
    tmp_path: Path, store: Store
) -> None:
    settings = make_settings(tmp_path, tmp_path / "dags", store.url)
    events = tmp_path / "events.jsonl"
    _write_folders(settings, events)
    _parse(store, settings)
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "watched", created_by="test")
    assert run_pk is not None
    run_until_finished(settings, store, [run_pk], limit=60)

    found = _events(events)
    scheduler_pid = os.getpid()
    # The scheduler (in this process) started and stopped for its listeners.
    own = [e["event"] for e in found if e["pid"] == scheduler_pid]
    assert own[0] == "on_starting" and own[-1] == "before_stopping", own
    assert found[0]["component"] == "Scheduler"
    _check_run_events(found, _run(store, run_pk), scheduler_pid)

    # The broken listener: in the try's log, and nothing else changed (ok succeeded, the
    # recorder was called, the next task ran).
    with store.read() as conn:
        states = dict(
            conn.execute(
                select(task_instance.c.task_id, task_instance.c.state).where(
                    task_instance.c.run_pk == run_pk
                )
            ).all()
        )
        ok_log = conn.execute(
            select(task_try.c.log_path)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == "ok")
        ).scalar()
    assert states == {"ok": "success", "skip": "skipped", "boom": "failed"}
    text = Path(str(ok_log)).read_text()
    assert "listener" in text and "raised in on_task_instance_success" in text
    assert "this listener is broken" in text

    # The plugin's extra link of PythonOperator: made by each try, answered by /api/v2.
    accounts.create_user(store, "viewer", "viewer", "viewer-secret")
    token = accounts.create_token(store, "viewer", "test")
    accounts.create_user(store, "operator", "admin", "operator-secret")
    admin_token = accounts.create_token(store, "operator", "test")
    app = create_app(settings, Store(store.url))
    base = f"/api/v2/dags/watched/dagRuns/{_run_id(store, run_pk)}/taskInstances"
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        links = {task: client.get(f"{base}/{task}/links") for task in ("ok", "boom")}
        page = client.get(f"/dags/watched/runs/{_run_id(store, run_pk)}/tasks/ok")
        # A person marks the whole run: the web server's own listeners hear of it, with the
        # words of Airflow's API server.
        marked = client.patch(
            f"/api/v2/dags/watched/dagRuns/{_run_id(store, run_pk)}",
            json={"state": "success"},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
    app.state.store.dispose()
    assert marked.status_code == 200, marked.text
    by_hand = [e for e in _events(events) if e["event"] == "on_dag_run_success"][-1]
    assert by_hand["msg"] == "Dag Run's state was manually set to `success`."
    assert by_hand["pid"] == os.getpid() and by_hand["run"] == _run_id(store, run_pk)
    assert links["ok"].status_code == 200, links["ok"].text
    assert links["ok"].json() == {
        "extra_links": {"Runbook": "https://runbooks.example/watched/ok/1"},
        "total_entries": 1,
    }
    assert page.status_code == 200, page.text[:500]
    assert 'href="https://runbooks.example/watched/ok/1"' in page.text  # on the task page
    assert links["boom"].json()["extra_links"] == {
        "Runbook": "https://runbooks.example/watched/boom/1"
    }


@pytest.mark.parametrize("reuse", [True, False], ids=["runners", "process-per-try"])
def test_a_slow_listener_does_not_hold_the_next_try(
    tmp_path: Path, store: Store, reuse: bool
) -> None:
    """The recorder sleeps 3 s after a success: the next task starts long before that, in
    long-lived runners and in a process per try."""
    slow = 3.0
    settings = make_settings(tmp_path, tmp_path / "dags", store.url, local_reuse_processes=reuse)
    events = tmp_path / "events.jsonl"
    _write_folders(settings, events, slow=slow)
    _parse(store, settings)
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "watched", created_by="test")
    assert run_pk is not None
    run_until_finished(settings, store, [run_pk], limit=60)
    with store.read() as conn:
        rows = dict(
            conn.execute(
                select(task_instance.c.task_id, task_try.c.start_date)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.run_pk == run_pk)
            ).all()
        )
        ended = conn.execute(
            select(task_try.c.end_date)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == "ok")
        ).scalar()
    hop = (rows["skip"] - ended).total_seconds()
    print(f"hop from ok's end to skip's start with a {slow}s listener: {hop:.3f}s")
    assert hop < slow / 2, hop
    # The listener still ran to its end for ok, in ok's process.
    found = _events(events)
    ok_events = [e["event"] for e in found if e.get("task") == "ok"]
    assert ok_events == ["on_task_instance_running", "on_task_instance_success"]


@pytest.mark.postgres
def test_a_plugin_listener_sees_every_event_of_a_run_on_a_celery_worker(
    tmp_path: Path, pg_database_url: str
) -> None:
    require_redis(fail_in_ci=False)
    store = Store(pg_database_url)
    schema.migrate(store)
    try:
        settings = make_settings(
            tmp_path, tmp_path / "dags", store.url, executor="celery", broker_url=BROKER
        )
        events = tmp_path / "events.jsonl"
        _write_folders(settings, events)
        _parse(store, settings)
        make_app(settings).control.purge()
        environ = worker_env(settings, BROKER)  # its home holds the plugins folder
        with store.write() as conn:
            run_pk = runs.create_manual_run(conn, "watched", created_by="test")
        assert run_pk is not None
        log = tmp_path / "worker.log"
        with start_worker("default", "w_listen@test", environ, log, db_url=None):
            scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor=None)
            done = runs_finished(store, [run_pk])
            deadline = time.monotonic() + 90
            scheduler.run(until=lambda: done() or time.monotonic() > deadline)
        assert done(), f"the run did not finish; the worker said:\n{log.read_text()[-3000:]}"
        _check_run_events(_events(events), _run(store, run_pk), os.getpid())
    finally:
        store.dispose()
