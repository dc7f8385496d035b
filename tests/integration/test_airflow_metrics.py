"""A real DAG run sends Airflow's metrics, by Airflow's names, from the processes Airflow
sends them from: to a StatsD receiver that parses every datagram, and to an OTLP/HTTP
receiver that decodes every request with opentelemetry-proto. The same runs send their
traces (Airflow's ``[traces]``) to that receiver: the run's span, its task instances' spans
under it, and each try's worker span under its instance's.

The DAG (Airflow's spelling) runs on schedule: a PythonOperator that succeeds, a ``@task``
that succeeds, a PythonOperator that fails and fails the run; beside it, a file that does not
import. On the local executor, with a task that defers to a triggerer, the scheduler (this
process, with its DAG file processor), the triggerer (a thread of it) and the runner
processes send to both receivers at once; on PostgreSQL a real Celery worker,
configured by Airflow's ``AIRFLOW__METRICS__*`` variables, speaks DogStatsD with its tags.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from celery_workers import celery_settings, require_redis, start_worker, worker_env
from conftest import make_settings, run_scheduler, token_clients
from conveyor.config import Settings
from conveyor.engine import manual
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.lifecycle import GAUGED, Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.stats import emit, spans
from conveyor.store import figures, pools, runs, scheduling, schema, transitions
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance
from conveyor.triggerer.process import beside as triggerer_beside
from conveyor.web.app import create_app
from metric_receivers import OtlpReceiver, OtlpSpan, Packet, StatsdReceiver

BROKER = "redis://127.0.0.1:6379/12"

DAG_FILE = """
    from datetime import datetime, timedelta

    from airflow import DAG
    from airflow.decorators import task
    from airflow.models import BaseOperator
    from airflow.operators.python import PythonOperator
    from airflow.triggers.temporal import TimeDeltaTrigger


    def fail():
        raise ValueError("measured to fail")


    def crash():
        import os

        os._exit(3)  # no report: the executor records the end


    def broken_callback(context):
        raise RuntimeError("the on-call channel is down")


    class Nap(BaseOperator):
        def execute(self, context):
            self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=0.1)), method_name="woke")

        def woke(self, context, event=None):
            return "rested"


    with DAG(
        "measured",
        schedule="@daily",
        start_date=datetime(2026, 1, 1),
        catchup=False,
        is_paused_upon_creation=False,
        on_failure_callback=broken_callback,
    ) as dag:

        @task
        def double():
            return 2

        ok = PythonOperator(task_id="ok", python_callable=lambda: 1)
        boom = PythonOperator(task_id="boom", python_callable=fail)
        ok >> double() >> boom
        @LOCAL@
"""

BROKEN_FILE = """
    from airflow import DAG

    with DAG("broken" as dag:
        pass
"""

#: Every name the run sends to a plain StatsD receiver (prefix ``airflow.``), by its type.
EXPECTED = {
    # the try runner's, for each try
    "ti.start.measured.ok": "c",
    "ti.start": "c",
    "ti.finish.measured.ok.success": "c",
    "ti.finish.measured.double.success": "c",
    "ti.finish.measured.boom.failed": "c",
    "ti.finish": "c",
    "ti_successes": "c",
    "ti_failures": "c",
    "operator_successes_PythonOperator": "c",
    "operator_successes__PythonDecoratedOperator": "c",
    "operator_failures_PythonOperator": "c",
    "operator_successes": "c",
    "operator_failures": "c",
    "dag.measured.ok.duration": "ms",
    "task.duration": "ms",
    # the run's, from the process that moved it
    "task.scheduled_duration": "ms",  # each first try, from the process that queued it
    "dag.measured.ok.scheduled_duration": "ms",
    "dagrun.schedule_delay.measured": "ms",
    "dagrun.schedule_delay": "ms",
    "dagrun.duration.failed.measured": "ms",
    "dagrun.duration.failed": "ms",
    "dagrun.dependency-check.measured": "ms",
    "dagrun.first_task_scheduling_delay": "ms",  # the scheduled run, never cleared
    "dagrun.measured.first_task_scheduling_delay": "ms",
    "dagrun.first_task_start_delay": "ms",
    # the process that ran the failed run's DAG callback, which raised
    "dag.callback_exceptions": "c",
    # deferred, then resumed: its process's each end counted, as Airflow 3.3's task runner
    "ti.finish.measured.nap.deferred": "c",
    "ti.finish.measured.nap.success": "c",
    "ti.finish.measured.crash.failed": "c",  # sent by the executor, which saw it end
    # the triggerer's
    "TriggererJob_start": "c",
    "triggerer_heartbeat": "c",
    "triggers.succeeded": "c",
    "triggers.running": "g",
    "triggerer.capacity_left": "g",
    # the scheduler's
    "SchedulerJob_start": "c",
    "task_instance_created": "c",  # the scheduled run's instances, by operator class
    "task_instance_created_PythonOperator": "c",
    "task_instance_created__PythonDecoratedOperator": "c",
    "scheduler.dagruns.running": "g",
    "scheduler_heartbeat": "c",
    "scheduler.scheduler_loop_duration": "ms",
    "scheduler.tasks.starving": "g",
    "scheduler.tasks.executable": "g",
    "executor.open_slots": "g",
    "executor.queued_tasks": "g",
    "executor.running_tasks": "g",
    "executor.open_slots.LocalExecutor": "g",
    "pool.open_slots.default_pool": "g",
    "pool.queued_slots.default_pool": "g",
    "pool.running_slots.default_pool": "g",
    "pool.open_slots": "g",
    # the DAG file processor's, in the scheduler's process
    "dag_processing.total_parse_time": "g",
    "dag_processing.file_path_queue_size": "g",
    "dagbag_size": "g",
    "dag_processing.import_errors": "g",
    "dag_processing.last_duration.dags-folder.measured": "ms",
    "dag_processing.last_duration": "ms",
    "dag_processing.last_run.seconds_ago.measured": "g",
    "dag_processing.last_run.seconds_ago": "g",
}


@pytest.fixture(autouse=True)
def no_sinks_left() -> Iterator[None]:
    """The scheduler runs in this process: its sinks are closed after each test."""
    yield
    emit.close()
    spans.close()
    transitions.on_run_times(None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite for the local executor: the metrics do not depend on the store's backend,
    and the Celery test runs on PostgreSQL."""
    made = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    schema.migrate(made)
    try:
        yield made
    finally:
        made.dispose()


@pytest.fixture
def statsd() -> Iterator[StatsdReceiver]:
    receiver = StatsdReceiver()
    yield receiver
    receiver.close()


def _write_dags(settings: Settings, *, local: bool = False) -> None:
    """The DAG files; with ``local``, beside ``ok`` a task that defers (a triggerer runs it)
    and one whose process exits without a word (the local executor ends its try)."""
    settings.dags_path.mkdir(parents=True, exist_ok=True)
    beside_ok = 'ok >> [Nap(task_id="nap"), PythonOperator(task_id="crash", python_callable=crash)]'
    source = textwrap.dedent(DAG_FILE).replace("@LOCAL@", beside_ok if local else "")
    (settings.dags_path / "measured.py").write_text(source)
    (settings.dags_path / "broken_airflow_dag.py").write_text(textwrap.dedent(BROKEN_FILE))


def _parsed(settings: Settings, store: Store) -> Settings:
    """The DAG files written and parsed into ``store``."""
    _write_dags(settings)
    DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
    return settings


def _run_ended(store: Store) -> Callable[[], bool]:
    def check() -> bool:
        with store.read() as conn:
            states = conn.execute(select(dag_run.c.state).where(dag_run.c.dag_id == "measured"))
            return any(RunState(s) in RUN_FINISHED for s in states.scalars())

    return check


def _one(found: list[OtlpSpan], name: str) -> OtlpSpan:
    named = [s for s in found if s.name == name]
    assert len(named) == 1, f"{len(named)} spans {name}: {named}"
    return named[0]


def _check_trace(
    found: list[OtlpSpan],
    ended: dict[str, str],
    workers: dict[str, int],
    deferred: tuple[str, ...] = (),
) -> None:
    """The run's trace as Airflow makes it: ``dag_run.measured`` its root; a ``task_run``
    span of each instance (``ended``: task -> state) under it; each try's ``worker`` span
    (``workers``: task -> how many) under its instance's, and the ``trigger`` span of each
    ``deferred`` task's try."""
    root = _one(found, "dag_run.measured")
    assert root.parent_id == "" and root.status == "ERROR"  # the run failed
    assert root.service == "Airflow"
    assert root.attributes["airflow.dag_id"] == "measured"
    assert root.attributes["airflow.dag_run.run_type"] == "scheduled"
    assert root.attributes["airflow.dag_run.run_id"].startswith("scheduled__")
    assert {"start_date", "end_date", "queued_at", "logical_date"} <= {
        key.removeprefix("airflow.dag_run.") for key in root.attributes
    }
    assert root.start_ns < root.end_ns
    assert {s.trace_id for s in found} == {root.trace_id}  # one trace: the run's
    for task_id, state in ended.items():
        task_run = _one(found, f"task_run.{task_id}")
        assert task_run.parent_id == root.span_id
        assert task_run.status == ("OK" if state == "success" else "ERROR")
        assert task_run.attributes["airflow.task_instance.state"] == state
        assert task_run.attributes["airflow.task_id"] == task_id
        assert (
            task_run.attributes["airflow.dag_run.run_id"]
            == root.attributes["airflow.dag_run.run_id"]
        )
        assert task_run.attributes["airflow.task_instance.try_number"] == "1"
        assert task_run.attributes["airflow.task_instance.map_index"] == "-1"
        assert task_run.attributes["airflow.task_instance.id"]
        tries = [s for s in found if s.name == f"worker.{task_id}"]
        assert len(tries) == workers.get(task_id, 0), tries
        for worker in tries:
            assert worker.parent_id == task_run.span_id
            assert worker.attributes["airflow.task_id"] == task_id
            assert worker.status == "UNSET"  # the task's failure is the try's outcome
            assert task_run.start_ns <= worker.start_ns
    for task_id in deferred:
        trigger = _one(found, f"trigger.{task_id}")
        assert trigger.parent_id == _one(found, f"task_run.{task_id}").span_id
        assert trigger.status == "OK"  # it fired
        assert trigger.attributes["airflow.task_instance.try_number"] == "1"
        assert trigger.attributes["airflow.trigger.name"].startswith(
            f"measured/{root.attributes['airflow.dag_run.run_id']}/{task_id}/-1/1 (ID "
        )
    expected_names = {"dag_run.measured"} | {f"trigger.{t}" for t in deferred}
    expected_names |= {f"task_run.{t}" for t in ended} | {f"worker.{t}" for t in workers}
    assert {s.name for s in found} == expected_names


def _one_value(packets: list[Packet]) -> float:
    assert packets, "not received"
    return packets[-1].value


def test_the_instance_gauges_count_the_store_by_state_dag_task_and_queue(
    tmp_path: Path, store: Store
) -> None:
    _parsed(make_settings(tmp_path, tmp_path / "dags", store.url), store)
    with store.write() as conn:
        one = runs.create_manual_run(conn, "measured", created_by="test")
        two = runs.create_manual_run(conn, "measured", created_by="test")
        ti = task_instance.c
        # States set by hand: what is counted, not how the instances got there.
        for run_pk, task_id, state, queue in [
            (one, "ok", "running", "default"),
            (two, "ok", "running", "default"),
            (one, "double", "queued", "etl"),
            (two, "boom", "success", "default"),  # a state the gauges do not count
        ]:
            conn.execute(
                update(task_instance)
                .where(ti.run_pk == run_pk, ti.task_id == task_id)
                .values(state=state, queue=queue)
            )
    with store.read() as conn:
        counts = figures.instances_by_task(conn, GAUGED)
    assert counts == {
        ("running", "measured", "ok", "default"): 2,
        ("queued", "measured", "double", "etl"): 1,
    }


def test_a_first_try_is_timed_from_scheduled_to_queued_and_a_retry_is_not(
    tmp_path: Path, store: Store
) -> None:
    _parsed(make_settings(tmp_path, tmp_path / "dags", store.url), store)
    scheduled = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "measured", created_by="test")
        ti = task_instance.c
        for task_id, try_number, resumptions, waited in [
            ("ok", 1, 0, 2.5),  # its first try, queued after waiting for a pool slot
            ("double", 2, 1, 0.0),  # its first try resumed after a deferral
            ("boom", 2, 0, 4.0),  # a retry: Airflow times only the first round
        ]:
            conn.execute(
                update(task_instance)
                .where(ti.run_pk == run_pk, ti.task_id == task_id)
                .values(
                    state="queued",
                    try_number=try_number,
                    resumptions=resumptions,
                    scheduled_at=scheduled,
                    queued_at=scheduled + timedelta(seconds=waited),
                )
            )
        ids = list(conn.execute(select(ti.id).where(ti.run_pk == run_pk)).scalars())
        waits = scheduling.first_round_waits(conn, ids)
    assert sorted(waits) == [("double", "default", 0.0), ("ok", "default", 2.5)]


def test_an_ended_run_reads_its_first_task_start_and_whether_it_was_cleared(
    tmp_path: Path, store: Store
) -> None:
    _parsed(make_settings(tmp_path, tmp_path / "dags", store.url), store)
    started = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "measured", created_by="test")
        ti = task_instance.c
        for task_id, state, offset in [("ok", "success", 5), ("double", "failed", 2)]:
            conn.execute(
                update(task_instance)
                .where(ti.run_pk == run_pk, ti.task_id == task_id)
                .values(state=state, start_date=started + timedelta(seconds=offset))
            )
        ended = runs.run_times(conn, run_pk, ended=True)
        assert (ended.first_task_start, ended.cleared) == (started + timedelta(seconds=2), False)
        assert runs.run_times(conn, run_pk).first_task_start is None  # read only at an end
        run_id = conn.execute(select(dag_run.c.run_id).where(dag_run.c.id == run_pk)).scalar()
    with store.write() as conn:  # a person's clear, its timeline written at its commit
        manual.clear(conn, "measured", run_id, "ok", Actor("test"))
    with store.read() as conn:
        assert runs.run_times(conn, run_pk, ended=True).cleared


def test_the_web_server_counts_the_instances_of_a_run_it_triggers(
    tmp_path: Path, store: Store, statsd: StatsdReceiver
) -> None:
    settings = make_settings(
        tmp_path, tmp_path / "dags", store.url, statsd_on=True, statsd_port=statsd.port
    )
    _write_dags(settings)
    DagFileProcessor(store, settings.dags_path, timeout=10, scan_every=1).sync()
    op = token_clients(create_app(settings, store), store)["op"]
    made = op.post("/api/v1/dags/measured/dagRuns", json={})
    assert made.status_code in (200, 201), made.text
    statsd.wait_for("airflow.task_instance_created")
    created = sorted(
        (p.name, p.value) for p in statsd.seen() if p.name.startswith("airflow.task_instance_")
    )
    assert created == [
        ("airflow.task_instance_created", 1),  # the plain name, once by operator class
        ("airflow.task_instance_created", 2),
        ("airflow.task_instance_created_PythonOperator", 2),  # ok, boom
        ("airflow.task_instance_created__PythonDecoratedOperator", 1),  # double
    ]


def test_a_run_on_the_local_executor_sends_airflows_metrics(
    tmp_path: Path, store: Store, statsd: StatsdReceiver
) -> None:
    otlp = OtlpReceiver()
    otlp_traces = OtlpReceiver(grpc=True)  # spans go over gRPC by default, as Airflow's
    try:
        settings = make_settings(
            tmp_path,
            tmp_path / "dags",
            store.url,
            statsd_on=True,
            statsd_port=statsd.port,
            otel_on=True,
            otel_host="127.0.0.1",
            otel_port=otlp.port,
            otel_interval_milliseconds=200,
            traces_otel_on=True,
            traces_otel_host="127.0.0.1",
            traces_otel_port=otlp_traces.port,
            dag_processor_stats_seconds=1,
        )
        _write_dags(settings, local=True)
        with store.write() as conn:  # Airflow's default pool has slots, and so open slots
            pools.set_pool(conn, "default_pool", 8)
        with triggerer_beside(settings):
            run_scheduler(settings, store, _run_ended(store), limit=60, what="the run ended")
        statsd.wait_for(*(f"airflow.{name}" for name in EXPECTED))
        seen = statsd.seen()
        kinds = {p.name.removeprefix("airflow."): p.kind for p in seen}
        assert {name: kinds[name] for name in EXPECTED} == EXPECTED
        assert all(p.name.startswith("airflow.") for p in seen)
        assert all(p.tags == {} for p in seen)  # plain StatsD: no tags on the wire

        assert _one_value(statsd.named("airflow.ti_successes")) == 1
        assert len(statsd.named("airflow.ti_successes")) == 3
        assert len(statsd.named("airflow.ti_failures")) == 2
        assert len(statsd.named("airflow.ti.start")) == 6  # nap's two tries
        assert len(statsd.named("airflow.ti.finish.measured.nap.deferred")) == 1
        assert sum(p.value for p in statsd.named("airflow.triggers.succeeded")) == 1
        assert _one_value(statsd.named("airflow.pool.open_slots.default_pool")) <= 8
        # Each task's first try, the time it spent scheduled before it was queued; nap's
        # twice, as in Airflow: its try was scheduled again when its trigger fired.
        waits = statsd.named("airflow.task.scheduled_duration")
        assert len(waits) == 6 and all(0 <= p.value < 60_000 for p in waits)
        assert len(statsd.named("airflow.dag.measured.nap.scheduled_duration")) == 2
        assert _one_value(statsd.named("airflow.dagbag_size")) == 1
        assert _one_value(statsd.named("airflow.dag_processing.import_errors")) == 1
        # The scheduled run started hours after its data interval ended (catchup=False).
        assert _one_value(statsd.named("airflow.dagrun.schedule_delay.measured")) > 1000
        (duration,) = statsd.named("airflow.dagrun.duration.failed.measured")
        assert 0 < duration.value < 60_000
        # Each from the process Airflow sends it from: the tries' from their runner
        # processes, the heartbeat from the scheduler (each process has its own socket).
        scheduler_senders = {p.sender for p in statsd.named("airflow.scheduler_heartbeat")}
        assert len(scheduler_senders) == 1
        try_senders = {p.sender for p in statsd.named("airflow.ti.start")}
        assert try_senders and not try_senders & scheduler_senders
        (crashed,) = statsd.named("airflow.ti.finish.measured.crash.failed")
        assert crashed.sender in scheduler_senders  # the local executor is the scheduler's

        emit.close()  # the scheduler's OpenTelemetry sink exports what it holds
        # OpenTelemetry's instrument names are case-insensitive: the SDK sends them lower-cased.
        otlp.wait_for(
            "airflow.schedulerjob_start",
            "airflow.ti.finish",
            "airflow.task.duration",
            "airflow.dagrun.duration.failed.measured",
            "airflow.scheduler_heartbeat",
            "airflow.executor.open_slots",
            "airflow.dagbag_size",
        )
        finished = {
            tuple(sorted(p.attributes.items()))
            for p in otlp.named("airflow.ti.finish")
            if p.kind == "sum"
        }
        assert (("dag_id", "measured"), ("state", "failed"), ("task_id", "boom")) in finished
        assert {p.service for p in otlp.seen()} == {"Airflow"}
        assert {p.kind for p in otlp.named("airflow.task.duration")} == {"exponential_histogram"}

        spans.close()  # the scheduler's spans (a crashed try's, perhaps the run's) go out
        ended = {"ok": "success", "double": "success", "boom": "failed"}
        ended |= {"nap": "success", "crash": "failed"}  # crash: ended by the executor
        found = otlp_traces.wait_for_spans(
            *(f"task_run.{t}" for t in ended), "dag_run.measured", "trigger.nap"
        )
        # nap's try ran twice (deferred, then resumed), its trigger in the triggerer between;
        # crash's process exited mid-span.
        workers = {"ok": 1, "double": 1, "boom": 1, "nap": 2}
        _check_trace(found, ended, workers, deferred=("nap",))
    finally:
        emit.close()
        otlp.close()
        otlp_traces.close()


@pytest.mark.postgres
def test_a_celery_worker_speaks_dogstatsd_from_airflows_variables(
    tmp_path: Path, pg_database_url: str, statsd: StatsdReceiver
) -> None:
    require_redis(fail_in_ci=False)
    store = Store(pg_database_url)
    schema.migrate(store)
    otlp = OtlpReceiver(grpc=True)  # spans over gRPC, Airflow's default exporter
    try:
        metrics = {
            "statsd_on": True,
            "statsd_port": statsd.port,
            "statsd_datadog_enabled": True,
            "statsd_datadog_tags": "env:test",
        }
        traces = {"traces_otel_on": True, "traces_otel_host": "127.0.0.1"}
        traces["traces_otel_port"] = otlp.port
        settings = celery_settings(
            tmp_path, tmp_path / "dags", store.url, BROKER, **metrics, **traces
        )
        _write_dags(settings)
        environ = worker_env(
            settings,
            BROKER,
            AIRFLOW__TRACES__OTEL_ON="True",
            AIRFLOW__TRACES__OTEL_HOST="127.0.0.1",
            AIRFLOW__TRACES__OTEL_PORT=str(otlp.port),
            AIRFLOW__METRICS__STATSD_ON="True",
            AIRFLOW__METRICS__STATSD_PORT=str(statsd.port),
            AIRFLOW__METRICS__STATSD_DATADOG_ENABLED="True",
            AIRFLOW__METRICS__STATSD_DATADOG_TAGS="env:test",
        )
        log = tmp_path / "worker.log"
        with start_worker("default", "w_metrics@test", environ, log, db_url=store.url):
            processor = DagFileProcessor(
                store, settings.dags_path, timeout=10, scan_every=0.5, stats_every=0.5
            )
            scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
            ended = _run_ended(store)
            deadline = time.monotonic() + 90

            def aged() -> bool:
                # A file's age goes every stats_every while the processor polls: a run that
                # ends within that of its file's parse ends before it has gone.
                ages = statsd.named("airflow.dag_processing.last_run.seconds_ago")
                return any(p.tags.get("file_path") == "measured.py" for p in ages)

            scheduler.run(until=lambda: (ended() and aged()) or time.monotonic() > deadline)
            statsd.wait_for("airflow.ti.finish", "airflow.ti_failures")
        assert ended(), log.read_text()[-3000:]
        finishes = {
            (p.tags["task_id"], p.tags["state"]): p.tags for p in statsd.named("airflow.ti.finish")
        }
        assert set(finishes) == {("ok", "success"), ("double", "success"), ("boom", "failed")}
        assert finishes["boom", "failed"] == {
            "dag_id": "measured",
            "task_id": "boom",
            "state": "failed",
            "env": "test",
        }
        (failure,) = statsd.named("airflow.operator_failures")
        assert failure.tags["operator_name"] == "PythonOperator"
        # A legacy name keeps only the tags it does not hold: here the task's.
        (legacy_failure,) = statsd.named("airflow.operator_failures_PythonOperator")
        assert legacy_failure.tags == {"dag_id": "measured", "task_id": "boom", "env": "test"}
        (legacy_finish,) = statsd.named("airflow.ti.finish.measured.boom.failed")
        assert legacy_finish.tags == {"env": "test"}
        statsd.wait_for("airflow.dagrun.duration.failed")
        (ended,) = statsd.named("airflow.dagrun.duration.failed")
        assert ended.tags == {"dag_id": "measured", "run_type": "scheduled", "env": "test"}
        slots = statsd.named("airflow.executor.open_slots")
        assert slots
        assert slots[0].tags == {
            "status": "open",
            "executor_class_name": "CeleryExecutor",
            "env": "test",
        }
        # Queued by the worker that ran double (the next of the chain): its first try's wait.
        waits = {p.tags["task_id"]: p for p in statsd.named("airflow.task.scheduled_duration")}
        assert set(waits) == {"ok", "double", "boom"}
        assert waits["boom"].tags == {
            "dag_id": "measured",
            "task_id": "boom",
            "queue": "default",
            "env": "test",
        }
        (legacy_wait,) = statsd.named("airflow.dag.measured.boom.scheduled_duration")
        assert legacy_wait.tags == {"queue": "default", "env": "test"}
        # Each file's parse age, by its path in the folder, as Airflow's processor tags it.
        ages = {
            p.tags["file_path"]: p
            for p in statsd.named("airflow.dag_processing.last_run.seconds_ago")
        }
        assert ages["measured.py"].tags == {
            "file_path": "measured.py",
            "bundle_name": "dags-folder",
            "file_name": "measured",
            "env": "test",
        }
        assert 0 <= ages["measured.py"].value < 90
        assert "broken_airflow_dag.py" in ages  # an import error is a parse too
        legacy_age = statsd.named("airflow.dag_processing.last_run.seconds_ago.measured")
        assert legacy_age[0].tags == {
            "file_path": "measured.py",
            "bundle_name": "dags-folder",
            "env": "test",
        }
        queued = statsd.named("airflow.pool.queued_slots")
        assert queued and queued[0].tags == {"pool_name": "default_pool", "env": "test"}
        # The tries' metrics came from the worker, not from the scheduler in this process.
        scheduler_senders = {p.sender for p in statsd.named("airflow.scheduler_heartbeat")}
        try_senders = {p.sender for p in statsd.named("airflow.ti.start")}
        assert try_senders and not try_senders & scheduler_senders

        spans.close()  # the scheduler's (the run's span, if its loop ended the run)
        ended = {"ok": "success", "double": "success", "boom": "failed"}
        found = otlp.wait_for_spans(*(f"worker.{t}" for t in ended), "dag_run.measured")
        _check_trace(found, ended, {"ok": 1, "double": 1, "boom": 1})
    finally:
        store.dispose()
        otlp.close()
