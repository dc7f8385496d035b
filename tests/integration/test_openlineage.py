"""OpenLineage events of real runs, received by an HTTP endpoint the test starts.

Two DAGs run through a real scheduler with the local executor, the events going to the
endpoint by the OpenLineage client's http transport: one whose SQL tasks create, fill and
copy tables of a real PostgreSQL database and whose last task fails, one whose operator
declares its own lineage. Every event is checked against the OpenLineage JSON Schema
(``tests/fixtures/openlineage/run_event.schema.json``), each run's START comes before its
COMPLETE or FAIL, each try names its DAG run as its parent, the SQL tasks' tables are their
inputs and outputs as OpenLineage names them (with their columns), the operator's own
datasets are sent, and the failure says why. An endpoint that never answers does not hold
the runs up, and what the scheduler could not queue is counted as dropped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from http_servers import Recorder, serve
from prometheus_client import REGISTRY
from sql_servers import (  # noqa: F401 - fixtures
    mysql_rows,
    mysql_url,
    pg_rows,
    pg_sql_url,
    unique,
)

from celery_workers import require_redis, run_on_celery, start_worker, worker_env
from conftest import make_settings, run_until_finished
from conveyor import lineage
from conveyor.airflow_compat import listeners
from conveyor.cli.common import settings as cli_settings
from conveyor.cli.main import cli
from conveyor.config import Settings
from conveyor.engine import manual
from conveyor.executors.celery_app import make_app
from conveyor.lineage import events as lineage_events
from conveyor.loading.processor import DagFileProcessor
from conveyor.providers.mysql import MySqlHook
from conveyor.providers.openlineage.sql import lineage_of_sql
from conveyor.store import runs, schema, transitions
from conveyor.store.engine import Store
from conveyor.web import accounts
from conveyor.web.app import create_app

BROKER = "redis://127.0.0.1:6379/8"

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "fixtures/openlineage/run_event.schema.json").read_text()
)

SQL_DAG = """
    from datetime import datetime

    from airflow import DAG
    from airflow.operators.python import PythonOperator
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
    from airflow.providers.postgres.hooks.postgres import PostgresHook


    def fail():
        raise ValueError("boom went the task")


    def through_the_hook():
        hook = PostgresHook(postgres_conn_id="lineage_pg")
        hook.run("CREATE TABLE IF NOT EXISTS public.summary (n bigint)")
        hook.run("INSERT INTO public.summary SELECT count(*) FROM public.daily_events")


    with DAG(
        "lineage_sql", schedule=None, start_date=datetime(2026, 1, 1), tags=["finance", "daily"]
    ) as dag:
        make = SQLExecuteQueryOperator(
            task_id="make",
            conn_id="lineage_pg",
            sql=[
                "CREATE TABLE IF NOT EXISTS public.source_events (id integer, name text)",
                "CREATE TABLE IF NOT EXISTS public.daily_events (id integer, name text)",
                "INSERT INTO public.source_events VALUES (1, 'one'), (2, 'two')",
            ],
        )
        copy = SQLExecuteQueryOperator(
            task_id="copy",
            conn_id="lineage_pg",
            sql="INSERT INTO daily_events (id, name) SELECT id, name FROM source_events",
            owner="data-team",
        )
        hooked = PythonOperator(task_id="hooked", python_callable=through_the_hook)
        boom = PythonOperator(task_id="boom", python_callable=fail, retries=0)
        make >> copy >> hooked >> boom
"""

OWN_DAG = """
    from datetime import datetime

    from airflow import DAG
    from airflow.models.baseoperator import BaseOperator
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset


    class Mover(BaseOperator):
        def execute(self, context):
            return "moved"

        def get_openlineage_facets_on_start(self):
            return OperatorLineage(inputs=[Dataset(namespace="s3://raw", name="in/events.csv")])

        def get_openlineage_facets_on_complete(self, task_instance):
            return OperatorLineage(
                inputs=[Dataset(namespace="s3://raw", name="in/events.csv")],
                outputs=[
                    Dataset(namespace="s3://lake", name=f"out/try-{task_instance.try_number}")
                ],
            )


    with DAG("lineage_own", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        Mover(task_id="move", doc_md="Moves **events** to the lake")
"""

WAIT_DAG = """
    import os
    from datetime import datetime

    from airflow import DAG
    from airflow.sensors.python import PythonSensor

    MARK = @MARK@


    def second_poke():
        if os.path.exists(MARK):
            return True
        open(MARK, "w").close()
        return False


    with DAG("lineage_wait", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        PythonSensor(
            task_id="wait", python_callable=second_poke, mode="reschedule", poke_interval=0.2
        )
"""


@pytest.fixture(autouse=True)
def no_listeners_left() -> Iterator[None]:
    """The scheduler runs in this process: its listeners are let go after each test."""
    yield
    lineage.stop()
    listeners.reset()
    transitions.on_run_moves(None)
    manual.on_marks(None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    schema.migrate(made)
    try:
        yield made
    finally:
        made.dispose()


@pytest.fixture
def endpoint() -> Iterator[Recorder]:
    """The OpenLineage HTTP endpoint (Marquez's path): takes every event."""
    recorder = Recorder(routes={("POST", "/api/v1/lineage"): lambda _seen: (201, {}, {})})
    yield from serve(recorder)


def _run(settings: Settings, store: Store, dag_ids: list[str], limit: float = 60) -> float:
    DagFileProcessor(store, settings.dags_path, timeout=30, scan_every=1).sync()
    made = []
    with store.write() as conn:
        for dag_id in dag_ids:
            made.append(runs.create_manual_run(conn, dag_id, created_by="test"))
    assert None not in made
    return run_until_finished(settings, store, [pk for pk in made if pk is not None], limit=limit)


def _write(settings: Settings, files: dict[str, str]) -> None:
    settings.dags_path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (settings.dags_path / name).write_text(textwrap.dedent(text))


def _check_shape(event: dict[str, Any]) -> None:
    """The schema, and the formats the validator cannot check without more libraries."""
    jsonschema.validate(
        event, SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    uuid.UUID(event["run"]["runId"])
    datetime.fromisoformat(event["eventTime"])
    for facet in [*event["run"]["facets"].values(), *event["job"]["facets"].values()]:
        assert urlsplit(facet["_schemaURL"]).scheme == "https", facet


def _events(endpoint: Recorder) -> list[dict[str, Any]]:
    return [seen.json() for seen in endpoint.requests("POST", "/api/v1/lineage")]


def _by_job(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        found.setdefault(event["job"]["name"], []).append(event)
    return found


@pytest.mark.postgres
def test_runs_send_their_events_with_sql_tables_and_operator_lineage(
    tmp_path: Path,
    store: Store,
    endpoint: Recorder,
    pg_sql_url: str,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONVEYOR_CONN_LINEAGE_PG", pg_sql_url)
    transport = {"type": "http", "url": endpoint.url, "timeout": 5}
    settings = make_settings(
        tmp_path,
        tmp_path / "dags",
        store.url,
        openlineage_transport=json.dumps(transport),
        openlineage_namespace="warehouse",
    )
    wait = WAIT_DAG.replace("@MARK@", repr(str(tmp_path / "poked")))
    _write(settings, {"lineage_sql.py": SQL_DAG, "lineage_own.py": OWN_DAG, "wait.py": wait})
    _run(settings, store, ["lineage_sql", "lineage_own", "lineage_wait"])
    lineage.stop()  # the scheduler's last events sent

    events = _events(endpoint)
    for event in events:
        _check_shape(event)
    jobs = _by_job(events)
    assert {name: [e["eventType"] for e in found] for name, found in jobs.items()} == {
        "lineage_sql": ["START", "FAIL"],
        "lineage_sql.make": ["START", "COMPLETE"],
        "lineage_sql.copy": ["START", "COMPLETE"],
        "lineage_sql.hooked": ["START", "COMPLETE"],
        "lineage_sql.boom": ["START", "FAIL"],
        "lineage_own": ["START", "COMPLETE"],
        "lineage_own.move": ["START", "COMPLETE"],
        "lineage_wait": ["START", "COMPLETE"],
        "lineage_wait.wait": ["START", "COMPLETE"],  # two pokes: one run, as in Airflow
    }
    for found in jobs.values():  # one run each, started before it ended
        assert len({e["run"]["runId"] for e in found}) == 1
        assert found[0]["eventTime"] <= found[1]["eventTime"]
        assert {e["job"]["namespace"] for e in found} == {"warehouse"}
    assert all(e["producer"].startswith("urn:conveyor:") for e in events)

    # Each try names its DAG run as parent and root; the DAG run's id is the one its own
    # events carry; job types as Airflow's.
    dag_run_id = jobs["lineage_sql"][0]["run"]["runId"]
    for task in ("make", "copy", "hooked", "boom"):
        for event in jobs[f"lineage_sql.{task}"]:
            parent = event["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == dag_run_id
            assert (parent["job"]["namespace"], parent["job"]["name"]) == (
                "warehouse",
                "lineage_sql",
            )
            assert parent["root"]["run"]["runId"] == dag_run_id
            assert event["job"]["facets"]["jobType"]["jobType"] == "TASK"
            assert event["run"]["facets"]["airflow"]["taskUuid"] == event["run"]["runId"]
            assert event["run"]["facets"]["airflow"]["task"]["task_id"] == task
    dag_start, dag_fail = jobs["lineage_sql"]
    assert dag_start["job"]["facets"]["jobType"]["jobType"] == "DAG"
    assert sorted(dag_start["job"]["facets"]["airflow"]["tasks"]) == [
        "boom",
        "copy",
        "hooked",
        "make",
    ]
    assert [t["key"] for t in dag_start["job"]["facets"]["tags"]["tags"]] == ["daily", "finance"]
    assert dag_fail["run"]["facets"]["errorMessage"]["message"] == "task_failure"
    assert dag_fail["run"]["facets"]["airflowState"]["tasksState"] == {
        "make": "success",
        "copy": "success",
        "hooked": "success",
        "boom": "failed",
    }

    # The SQL tasks' tables, as OpenLineage names PostgreSQL's: with their columns.
    parts = urlsplit(pg_sql_url)
    namespace = f"postgres://{parts.hostname}:{parts.port or 5432}"
    database = parts.path.lstrip("/")
    copy_done = jobs["lineage_sql.copy"][1]
    assert [(d["namespace"], d["name"]) for d in copy_done["inputs"]] == [
        (namespace, f"{database}.public.source_events")
    ]
    assert [(d["namespace"], d["name"]) for d in copy_done["outputs"]] == [
        (namespace, f"{database}.public.daily_events")
    ]
    fields = copy_done["outputs"][0]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("id", "int4"), ("name", "text")]
    lineage_of_name = copy_done["outputs"][0]["facets"]["columnLineage"]["fields"]["name"]
    assert lineage_of_name["inputFields"][0]["name"] == f"{database}.public.source_events"
    assert "SELECT id, name FROM source_events" in copy_done["job"]["facets"]["sql"]["query"]
    assert copy_done["job"]["facets"]["ownership"]["owners"] == [{"name": "data-team"}]
    make_done = jobs["lineage_sql.make"][1]
    assert {d["name"] for d in make_done["outputs"]} == {
        f"{database}.public.source_events",
        f"{database}.public.daily_events",
    }
    assert pg_rows(pg_sql_url, "SELECT count(*) FROM daily_events") == [(2,)]
    # A task's own hook calls (Airflow 3's hook lineage): the tables of the SQL it ran.
    hooked_start, hooked_done = jobs["lineage_sql.hooked"]
    assert hooked_start["inputs"] == hooked_start["outputs"] == []
    assert [(d["namespace"], d["name"]) for d in hooked_done["inputs"]] == [
        (namespace, f"{database}.public.daily_events")
    ]
    assert [(d["namespace"], d["name"]) for d in hooked_done["outputs"]] == [
        (namespace, f"{database}.public.summary")
    ]
    assert "INSERT INTO public.summary" in hooked_done["job"]["facets"]["sql"]["query"]

    # The sensor's second poke is a dispatch of its own here, the same try and one run as in
    # Airflow: its id is the first poke's, its try number the first's.
    first_poke, last_poke = jobs["lineage_wait.wait"]
    assert first_poke["run"]["runId"] == last_poke["run"]["runId"]
    assert last_poke["run"]["facets"]["airflow"]["taskInstance"]["try_number"] == 1

    # The failure says why, with the trace.
    failed = jobs["lineage_sql.boom"][1]["run"]["facets"]["errorMessage"]
    assert failed["message"] == "boom went the task"
    assert failed["programmingLanguage"] == "python"
    assert "ValueError: boom went the task" in failed["stackTrace"]
    # A Python task's function, as its source code (Airflow's Python extractor).
    source = jobs["lineage_sql.boom"][1]["job"]["facets"]["sourceCode"]
    assert source["language"] == "python"
    assert source["sourceCode"].startswith("def fail():")
    assert "sourceCode" not in copy_done["job"]["facets"]  # an operator that says its own

    # The operator's own lineage: its start's inputs, its end's inputs and outputs.
    move_start, move_done = jobs["lineage_own.move"]
    assert [d["name"] for d in move_start["inputs"]] == ["in/events.csv"]
    assert move_start["outputs"] == []
    assert [(d["namespace"], d["name"]) for d in move_done["outputs"]] == [
        ("s3://lake", "out/try-1")
    ]
    assert move_done["job"]["facets"]["documentation"]["description"] == (
        "Moves **events** to the lake"
    )


@pytest.mark.postgres
def test_a_celery_worker_sends_its_tries_events(
    tmp_path: Path, pg_database_url: str, endpoint: Recorder
) -> None:
    """The try's events from the worker's pool process (its operator's lineage included), the
    run's start from the scheduler, its end from the worker whose try ended it."""
    require_redis(fail_in_ci=False)
    store = Store(pg_database_url)
    try:
        transport = json.dumps({"type": "http", "url": endpoint.url, "timeout": 5})
        settings = make_settings(
            tmp_path,
            tmp_path / "dags",
            store.url,
            executor="celery",
            broker_url=BROKER,
            openlineage_transport=transport,
        )
        _write(settings, {"lineage_own.py": OWN_DAG})
        DagFileProcessor(store, settings.dags_path, timeout=30, scan_every=1).sync()
        make_app(settings).control.purge()
        environ = worker_env(settings, BROKER, CONVEYOR_OPENLINEAGE_TRANSPORT=transport)
        log = tmp_path / "worker.log"
        with start_worker("default", "w_lineage@test", environ, log, db_url=None):
            # The worker's events are sent by its own thread, after the try's record: the
            # run is watched until the endpoint has them (or the limit passes).
            run_on_celery(
                settings, store, "lineage_own", log, until=lambda: len(_events(endpoint)) >= 4
            )
        lineage.stop()
        events = _events(endpoint)
        for event in events:
            _check_shape(event)
        jobs = _by_job(events)
        assert {name: [e["eventType"] for e in found] for name, found in jobs.items()} == {
            "lineage_own": ["START", "COMPLETE"],
            "lineage_own.move": ["START", "COMPLETE"],
        }
        move_done = jobs["lineage_own.move"][1]
        assert [d["name"] for d in move_done["outputs"]] == ["out/try-1"]
        parent = move_done["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == jobs["lineage_own"][0]["run"]["runId"]
    finally:
        store.dispose()


def test_task_instances_a_person_marks_send_airflows_events(
    tmp_path: Path, store: Store, endpoint: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Marked through the REST API and the CLI, as Airflow's API server sends them: a
    COMPLETE for a mark of success and a FAIL for one of failed, of the try's run id, its DAG
    run as parent, without the task's own facets; nothing for a dry run. No try runs."""
    transport = {"type": "http", "url": endpoint.url, "timeout": 5}
    settings = make_settings(
        tmp_path,
        tmp_path / "dags",
        store.url,
        openlineage_transport=json.dumps(transport),
        openlineage_namespace="warehouse",
    )
    _write(settings, {"lineage_sql.py": SQL_DAG})
    DagFileProcessor(store, settings.dags_path, timeout=30, scan_every=1).sync()
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "lineage_sql", created_by="test")
    assert run_pk is not None
    with store.read() as conn:
        run = runs.get_run(conn, run_pk)
    accounts.create_user(store, "marker", "admin", "marker-secret-1")
    with TestClient(create_app(settings, store)) as client:
        token = client.post(
            "/auth/token", json={"username": "marker", "password": "marker-secret-1"}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        instances = f"/api/v2/dags/lineage_sql/dagRuns/{run.run_id}/taskInstances"
        dry = client.patch(f"{instances}/copy/dry_run", json={"new_state": "success"})
        assert dry.status_code == 200, dry.text
        for task_id, state in (("make", "success"), ("boom", "failed")):
            answer = client.patch(f"{instances}/{task_id}", json={"new_state": state})
            assert answer.status_code == 200, answer.text
        # The whole run marked failed: the DAG's own FAIL, with Airflow's message.
        answer = client.patch(
            f"/api/v2/dags/lineage_sql/dagRuns/{run.run_id}", json={"state": "failed"}
        )
        assert answer.status_code == 200, answer.text
    lineage.stop()  # the web process's events sent
    manual.on_marks(None)
    # And through the CLI, which sends them itself.
    monkeypatch.setenv("CONVEYOR_HOME", str(settings.home))
    monkeypatch.setenv("CONVEYOR_DAGS_FOLDER", str(settings.dags_path))
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", store.url)
    monkeypatch.setenv("CONVEYOR_OPENLINEAGE_TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("CONVEYOR_OPENLINEAGE_NAMESPACE", "warehouse")
    cli_settings.cache_clear()
    args = ["tasks", "mark", "lineage_sql", run.run_id, "hooked", "--state", "success"]
    done = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    lineage.stop()  # the command's

    events = _events(endpoint)
    for event in events:
        _check_shape(event)
    jobs = _by_job(events)
    assert {name: [e["eventType"] for e in found] for name, found in jobs.items()} == {
        "lineage_sql.make": ["COMPLETE"],
        "lineage_sql.boom": ["FAIL"],
        "lineage_sql": ["FAIL"],
        "lineage_sql.hooked": ["COMPLETE"],
    }
    (run_failed,) = jobs["lineage_sql"]
    run_error = run_failed["run"]["facets"]["errorMessage"]["message"]
    assert run_error == "Dag Run's state was manually set to `failed`."
    dag_run_id = lineage_events.dag_run_id("warehouse", "lineage_sql", run.logical_date)
    for task_id in ("make", "boom", "hooked"):
        (event,) = jobs[f"lineage_sql.{task_id}"]  # a task's, the DAG's aside
        # The id a try of it would have had (try 0: it never ran), as Airflow's provider
        # makes it from the task instance.
        assert event["run"]["runId"] == lineage_events.task_run_id(
            "warehouse", "lineage_sql", task_id, 0, -1, run.logical_date
        )
        facets = event["run"]["facets"]
        assert facets["parent"]["run"]["runId"] == dag_run_id
        parent_job = facets["parent"]["job"]
        assert (parent_job["namespace"], parent_job["name"]) == ("warehouse", "lineage_sql")
        assert "airflow" not in facets  # the API server has no task to describe
        assert event["job"]["facets"]["jobType"]["jobType"] == "TASK"
        assert "tags" not in event["job"]["facets"]
        assert event["inputs"] == event["outputs"] == []
    failed = jobs["lineage_sql.boom"][0]["run"]["facets"]["errorMessage"]
    assert failed["message"] == "TaskInstance's state was manually set to `failed`."
    assert "errorMessage" not in jobs["lineage_sql.make"][0]["run"]["facets"]


class _Hanging:
    """An endpoint that takes connections and never answers, until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.seen = 0

    def answer(self, _seen: Any) -> tuple[int, Any, dict[str, str]]:
        self.seen += 1
        self.release.wait(60)
        return 201, {}, {}


def _dropped(reason: str) -> float:
    return (
        REGISTRY.get_sample_value("conveyor_lineage_events_dropped_total", {"reason": reason})
        or 0.0
    )


@pytest.mark.parametrize("reuse", [True, False], ids=["runners", "process-per-try"])
def test_an_endpoint_that_never_answers_holds_no_run_up(
    tmp_path: Path, store: Store, reuse: bool
) -> None:
    """Its transport's timeout is a minute; three runs finish in a few seconds all the same
    (a try's process that ends waits half a second for its events, then drops them), and
    the events the scheduler could not queue (a queue of one) are counted as dropped."""
    hanging = _Hanging()
    recorder = Recorder(routes={("POST", "/api/v1/lineage"): hanging.answer})
    server = serve(recorder)
    next(server)
    try:
        transport = {"type": "http", "url": recorder.url, "timeout": 60}
        settings = make_settings(
            tmp_path,
            tmp_path / "dags",
            store.url,
            openlineage_transport=json.dumps(transport),
            openlineage_queue_size=1,
            openlineage_execution_timeout=0.5,
            local_reuse_processes=reuse,
        )
        _write(settings, {"lineage_own.py": OWN_DAG})
        full_before = _dropped("queue_full")
        DagFileProcessor(store, settings.dags_path, timeout=30, scan_every=1).sync()
        with store.write() as conn:
            made = [runs.create_manual_run(conn, "lineage_own", created_by="test") for _ in "abc"]
        started = time.monotonic()
        run_until_finished(settings, store, [pk for pk in made if pk is not None], limit=60)
        took = time.monotonic() - started
        print(f"three runs took {took:.2f}s")
        assert took < 20, took
        assert hanging.seen >= 1  # the events went out, and hang there
        assert _dropped("queue_full") - full_before >= 1
    finally:
        lineage.stop()  # what is still queued is dropped, not sent to the closed server
        hanging.release.set()
        server.close()


def test_a_mysql_statements_tables_are_named_as_openlineage_names_mysqls(
    mysql_url: str,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A database is a schema: ``<database>.<table>`` in ``mysql://host:port``, with the
    columns information_schema gives."""
    source, target = unique("ol_src"), unique("ol_dst")
    mysql_rows(mysql_url, f"CREATE TABLE {source} (id INT, label VARCHAR(20))")
    mysql_rows(mysql_url, f"CREATE TABLE {target} (id INT, label VARCHAR(20))")
    try:
        monkeypatch.setenv("CONVEYOR_CONN_LINEAGE_MY", mysql_url)
        found = lineage_of_sql(
            MySqlHook(mysql_conn_id="lineage_my"),
            f"INSERT INTO {target} SELECT id, label FROM {source}",
        )
    finally:
        mysql_rows(mysql_url, f"DROP TABLE {source}, {target}")
    assert found is not None
    parts = urlsplit(mysql_url)
    namespace = f"mysql://{parts.hostname}:{parts.port or 3306}"
    database = parts.path.lstrip("/")
    assert [(d.namespace, d.name) for d in found.inputs] == [(namespace, f"{database}.{source}")]
    assert [(d.namespace, d.name) for d in found.outputs] == [(namespace, f"{database}.{target}")]
    columns = [(f.name, f.type) for f in found.outputs[0].facets["schema"].fields]
    assert columns == [("id", "int(11)"), ("label", "varchar(20)")]


_EXITING = """
import json
import sys
from datetime import UTC, datetime, timedelta

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from conveyor import lineage
from conveyor.config import load_config
from conveyor.lineage import events


def submit_all(home, url, count):
    settings = load_config(
        {"CONVEYOR_HOME": home},
        home=home,
        openlineage_transport=json.dumps({"type": "http", "url": url}),
    ).settings
    assert lineage.start(settings)
    emitter = lineage._started.emitter
    logical = datetime(2026, 1, 1, tzinfo=UTC)
    sent = []
    for i in range(count):
        run_id = events.task_run_id("ns", "exiting", f"t{i}", 1, -1, logical)
        state = RunState.START if i % 2 == 0 else RunState.COMPLETE
        event = RunEvent(
            eventType=state,
            eventTime=(logical + timedelta(seconds=i)).isoformat(),
            run=Run(runId=run_id),
            job=Job(namespace="ns", name=f"exiting.t{i}"),
            producer=events.PRODUCER,
        )
        assert emitter.submit(event)
        sent.append(Serde.to_json(event))
    return sent


def child(home, url, count, out):
    with open(out, "w") as handle:
        json.dump(submit_all(home, url, count), handle)
    # and the child ends at once: multiprocessing's end, without atexit


if __name__ == "__main__":
    home, url, count, how, out = sys.argv[1:]
    if how == "child":
        import multiprocessing

        process = multiprocessing.get_context("fork").Process(
            target=child, args=(home, url, int(count), out)
        )
        process.start()
        process.join()
        sys.exit(process.exitcode)
    child(home, url, int(count), out)
    # the interpreter ends at once: atexit's close
"""


@pytest.mark.parametrize("how", ["interpreter", "child"])
def test_a_process_that_ends_right_after_its_events_sends_each_once_in_order(
    tmp_path: Path, endpoint: Recorder, how: str
) -> None:
    """What the sending thread still holds when its process ends goes before it ends: every
    event once, in the order given, each body the client's serialization of the event (an
    interpreter's end, and a multiprocessing child's, which skips atexit)."""
    script = tmp_path / "exiting.py"
    script.write_text(_EXITING)
    out = tmp_path / "sent.json"
    count = 40
    subprocess.run(
        [sys.executable, str(script), str(tmp_path), endpoint.url, str(count), how, str(out)],
        check=True,
        timeout=120,
    )
    sent = [json.loads(text) for text in json.loads(out.read_text())]
    received = [seen.json() for seen in endpoint.requests("POST", "/api/v1/lineage")]
    for event in received:  # the client's own tag, added as it sends
        assert event["run"]["facets"].pop("tags")["tags"][0]["key"] == (
            "openlineage_client_version"
        )
        event["run"]["facets"] = event["run"]["facets"] or {}
    assert len(sent) == count
    assert [e["job"]["name"] for e in received] == [f"exiting.t{i}" for i in range(count)]
    assert received == sent
