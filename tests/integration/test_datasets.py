"""Data-driven scheduling through the real scheduler: DAGs that run when datasets update.

A task's ``outlets`` record dataset updates when it succeeds; a DAG scheduled on datasets
gets one run once each of its datasets has been updated. Every test runs on SQLite and on
PostgreSQL; the race between two schedulers runs on PostgreSQL only.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from conftest import run_scheduler
from conveyor.engine.outlets import record_task_outlets
from conveyor.lifecycle import Actor
from conveyor.scheduler.datasets import RUN_TYPE, create_dataset_runs
from conveyor.states import RUN_FINISHED, RunState
from conveyor.stats import emit
from conveyor.store import datasets, runs
from conveyor.store.engine import Store
from conveyor.store.mapping import xcom_value
from conveyor.store.tables import dag, dag_run, dataset_dag_queue, dataset_event
from conveyor.web import accounts
from conveyor.web.app import create_app
from run_env import Env

PRODUCERS = """
from conveyor.datasets import Dataset

ORDERS = Dataset("s3://shop/orders")
CUSTOMERS = Dataset("s3://shop/customers")

with DAG("export_orders", start_date=START):
    BashOperator(task_id="export", bash_command="echo orders", outlets=[ORDERS])

with DAG("export_customers", start_date=START):
    @task(outlets=[CUSTOMERS])
    def export():
        return "customers"
    export()

with DAG("orders_report", start_date=START, schedule=[ORDERS]):
    @task
    def report(params=None):
        return [e["uri"] for e in params["dataset_events"]]
    report()

with DAG("joined_report", start_date=START, schedule=[ORDERS, CUSTOMERS]):
    @task
    def join(dag_run=None):
        return sorted(e["source_dag_id"] for e in dag_run.conf["dataset_events"])
    join()
"""


@pytest.fixture
def env(env: Env) -> Env:
    """The shared ``env`` with this module's DAG files written and parsed."""
    env.write_dag("datasets.py", PRODUCERS)
    env.sync()
    return env


def dag_runs(env: Env, dag_id: str) -> list[Any]:
    with env.store.read() as conn:
        return list(
            conn.execute(select(dag_run).where(dag_run.c.dag_id == dag_id).order_by(dag_run.c.id))
        )


def all_finished(env: Env, dag_id: str, count: int) -> Any:
    def check() -> bool:
        found = dag_runs(env, dag_id)
        return len(found) >= count and all(RunState(r.state) in RUN_FINISHED for r in found)

    return check


def run_until(env: Env, check: Any, what: str) -> None:
    run_scheduler(env.settings(), env.store, check, limit=30, what=what)


def xcom_of(env: Env, run_pk: int, task_id: str) -> Any:
    with env.store.read() as conn:
        return xcom_value(conn, run_pk, task_id, "return_value")


def test_a_producer_success_runs_its_consumer_once_with_the_event_in_its_conf(env: Env) -> None:
    producer = env.trigger("export_orders")
    run_until(env, all_finished(env, "orders_report", 1), "orders_report ran")
    assert env.run_state(producer) is RunState.SUCCESS
    consumer = dag_runs(env, "orders_report")
    assert len(consumer) == 1
    assert consumer[0].run_type == RUN_TYPE and consumer[0].state == "success"
    (event,) = consumer[0].conf["dataset_events"]
    assert event["uri"] == "s3://shop/orders"
    assert (event["source_dag_id"], event["source_task_id"]) == ("export_orders", "export")
    assert xcom_of(env, consumer[0].id, "report") == ["s3://shop/orders"]
    env.run_for(0.6)  # more loops: the consumed update makes no second run
    assert len(dag_runs(env, "orders_report")) == 1
    with env.store.read() as conn:  # orders also feeds joined_report, still waiting for customers
        pending = conn.execute(select(dataset_dag_queue.c.target_dag_id)).scalars().all()
    assert pending == ["joined_report"]


def test_a_consumer_of_two_datasets_runs_only_after_both_were_updated(env: Env) -> None:
    orders = env.trigger("export_orders")
    run_until(env, all_finished(env, "orders_report", 1), "orders_report ran")
    assert env.run_state(orders) is RunState.SUCCESS
    assert dag_runs(env, "joined_report") == []  # customers not updated yet
    customers = env.trigger("export_customers")
    run_until(env, all_finished(env, "joined_report", 1), "joined_report ran")
    assert env.run_state(customers) is RunState.SUCCESS
    (joined,) = dag_runs(env, "joined_report")
    assert joined.state == "success"
    assert xcom_of(env, joined.id, "join") == ["export_customers", "export_orders"]
    with env.store.read() as conn:
        assert conn.execute(select(dataset_dag_queue)).all() == []
        assert len(conn.execute(select(dataset_event)).all()) == 2
        listed = {d.uri: d for d in datasets.list_datasets(conn)}
    assert listed["s3://shop/orders"].consumers == ["joined_report", "orders_report"]
    assert listed["s3://shop/customers"].last_event is not None
    assert listed["s3://shop/customers"].last_event["source_dag_id"] == "export_customers"


def test_a_paused_consumer_keeps_its_pending_update_until_unpaused(env: Env) -> None:
    with env.store.write() as conn:
        conn.execute(update(dag).where(dag.c.dag_id == "orders_report").values(is_paused=True))
    producer = env.trigger("export_orders")
    env.run(producer)
    env.run_for(0.5)
    assert dag_runs(env, "orders_report") == []
    with env.store.write() as conn:
        conn.execute(update(dag).where(dag.c.dag_id == "orders_report").values(is_paused=False))
    run_until(env, all_finished(env, "orders_report", 1), "orders_report ran after unpausing")
    assert len(dag_runs(env, "orders_report")) == 1


def _schedule(store: Store, name: str, barrier: threading.Barrier, made: list[int]) -> None:
    barrier.wait()  # both schedulers look at the same pending updates at the same moment
    made.append(create_dataset_runs(store, Actor(name), runs.utcnow()))


@pytest.mark.postgres
def test_two_schedulers_racing_create_each_dataset_triggered_run_once(
    tmp_path: Path, pg_database_url: str
) -> None:
    store = Store(pg_database_url)
    env = Env(tmp_path, tmp_path / "dags", store)
    env.dags.mkdir()
    consumers = "".join(
        f"""
with DAG("consumer_{n}", start_date=START, schedule=[Dataset("s3://race/data")]):
    EmptyOperator(task_id="noop")
"""
        for n in range(8)
    )
    env.write_dag(
        "race.py",
        "from conveyor.datasets import Dataset\n"
        'with DAG("producer", start_date=START):\n'
        '    EmptyOperator(task_id="make", outlets=[Dataset("s3://race/data")])\n' + consumers,
    )
    env.sync()
    producer = env.trigger("producer")
    stores = [Store(pg_database_url), Store(pg_database_url)]
    try:
        for round_ in range(3):
            with store.write() as conn:
                run = runs.get_run(conn, producer)
                datasets.record_updates(conn, run, "make", -1, ["s3://race/data"])
            barrier = threading.Barrier(2)
            made: list[int] = []

            threads = [
                threading.Thread(target=_schedule, args=(s, f"scheduler-{i}", barrier, made))
                for i, s in enumerate(stores)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            # Both schedulers took part; together they made exactly one run per consumer.
            assert sum(made) == 8, made
            for n in range(8):
                assert len(dag_runs(env, f"consumer_{n}")) == round_ + 1
    finally:
        for s in (*stores, store):
            s.dispose()


class _Recorder:
    """A metrics sink keeping Airflow's asset counters it is sent."""

    where = "a test's list"

    def __init__(self) -> None:
        self.sent: list[tuple[str, float]] = []

    def send(self, kind: str, name: str, value: float, tags: Any) -> None:
        self.sent.append((name, value))

    def close(self) -> None:
        pass


def test_asset_updates_and_the_runs_they_make_are_counted_under_airflows_names(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_dag(
        "assets.py",
        "from conveyor.datasets import Dataset\n"
        'with DAG("maker", start_date=START):\n'
        '    EmptyOperator(task_id="make", outlets=[Dataset("s3://counted/a")])\n'
        'with DAG("user", start_date=START, schedule=[Dataset("s3://counted/a")]):\n'
        '    EmptyOperator(task_id="use")\n',
    )
    env.sync()
    maker = env.trigger("maker")
    recorder = _Recorder()
    monkeypatch.setattr(emit, "_sinks", (recorder,))
    with env.store.write() as conn:
        run = runs.get_run(conn, maker)
        datasets.record_updates(conn, run, "make", -1, ["s3://counted/a", "s3://counted/b"])
    assert recorder.sent == [("asset.updates", 2)]  # after the commit
    assert create_dataset_runs(env.store, Actor("test"), runs.utcnow()) == 1
    assets = [sent for sent in recorder.sent if sent[0].startswith("asset.")]
    assert assets == [("asset.updates", 2), ("asset.triggered_dagruns", 1)]


def test_the_api_lists_datasets_and_shows_dataset_schedules(env: Env) -> None:
    producer = env.trigger("export_orders")
    run_until(env, all_finished(env, "orders_report", 1), "orders_report ran")
    accounts.create_user(env.store, "viewer", "viewer", "viewer-secret")
    token = accounts.create_token(env.store, "viewer", "test")
    app = create_app(env.settings(), Store(env.store.url))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        listed = client.get("/api/v1/datasets")
        assert listed.status_code == 200, listed.text
        by_uri = {d["uri"]: d for d in listed.json()["datasets"]}
        dag_list = client.get("/api/v1/dags").json()
        detail = client.get("/api/v1/dags/joined_report").json()
    app.state.store.dispose()
    orders = by_uri["s3://shop/orders"]
    assert orders["consumers"] == ["joined_report", "orders_report"]
    assert orders["events"] == 1
    assert orders["last_event"]["source_dag_id"] == "export_orders"
    assert orders["last_event"]["source_run_id"] == env.dag_runs("export_orders")[0].run_id
    assert env.run_state(producer) is RunState.SUCCESS
    schedules = {d["dag_id"]: d["schedule"] for d in dag_list["dags"]}
    assert schedules["joined_report"] == (
        "on dataset updates: s3://shop/orders, s3://shop/customers"
    )
    assert detail["schedule"] == schedules["joined_report"]


def test_recording_outlets_costs_no_statement_for_a_task_without_outlets(env: Env) -> None:
    def statements_of(dag_id: str, task_id: str) -> list[str]:
        run_pk = env.trigger(dag_id)
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        with env.store.write() as conn:
            run = runs.get_run(conn, run_pk)
            runs.serialized_dag(conn, run.version_hash)  # the run's advance reads it anyway
            event.listen(env.store.engine, "before_cursor_execute", count)
            try:
                record_task_outlets(conn, run, task_id, -1)
            finally:
                event.remove(env.store.engine, "before_cursor_execute", count)
        return statements

    assert statements_of("orders_report", "report") == []
    assert any("dataset_event" in s for s in statements_of("export_orders", "export"))
