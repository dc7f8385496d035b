"""Airflow's metrics by Airflow's names: the names and tags each fact is sent under, the allow
and block lists, and the wire: real UDP datagrams to a StatsD receiver (plain and DogStatsD,
set by Airflow's ``AIRFLOW__METRICS__*`` variables) and a real OTLP/HTTP request decoded with
opentelemetry-proto."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from conveyor.config import Settings, load_config
from conveyor.exceptions import ConfigError
from conveyor.stats import airflow, emit
from conveyor.stats.names import NameFilter
from conveyor.stats.statsd_sink import MAX_DATAGRAM, number
from metric_receivers import OtlpReceiver, StatsdReceiver


class Recorder:
    where = "a test's list"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, float, dict[str, str]]] = []

    def send(self, kind: str, name: str, value: float, tags: Mapping[str, str]) -> None:
        self.sent.append((kind, name, value, dict(tags)))

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def _closed() -> Iterator[None]:
    yield
    emit.close()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    found = Recorder()
    monkeypatch.setattr(emit, "_sinks", (found,))
    monkeypatch.setattr(emit, "_filter", NameFilter())
    return found


def _settings(tmp_path: Path, env: dict[str, str] | None = None, **values: Any) -> Settings:
    return load_config({"CONVEYOR_HOME": str(tmp_path), **(env or {})}, **values).settings


# -- the names ------------------------------------------------------------------------------


def test_a_successful_try_is_sent_under_airflows_legacy_and_tagged_names(
    recorder: Recorder,
) -> None:
    airflow.ti_started("etl", "load")
    airflow.ti_finished("etl", "load", "success", "PythonOperator", 1.5)
    tags = {"dag_id": "etl", "task_id": "load"}
    # The legacy name holds the tags it names; it keeps only the others (Airflow 3.3's rule).
    assert recorder.sent == [
        ("c", "ti.start.etl.load", 1, {}),
        ("c", "ti.start", 1, tags),
        ("c", "ti.finish.etl.load.success", 1, {}),
        ("c", "ti.finish", 1, {**tags, "state": "success"}),
        ("ms", "dag.etl.load.duration", 1500.0, {}),
        ("ms", "task.duration", 1500.0, tags),
        ("c", "operator_successes_PythonOperator", 1, tags),
        ("c", "operator_successes", 1, {**tags, "operator_name": "PythonOperator"}),
        ("c", "ti_successes", 1, tags),
    ]


def test_a_task_groups_dot_stays_one_segment_of_a_legacy_name(recorder: Recorder) -> None:
    airflow.ti_finished("etl.v2", "extract.load", "success", "PythonOperator", 1.0)
    airflow.pool_slots("team pool/1", 4, 0, 0, 0, 0)
    names = [name for _, name, _, _ in recorder.sent]
    assert "ti.finish.etl__v2.extract__load.success" in names
    assert "dag.etl__v2.extract__load.duration" in names
    # The plain name's tags keep the value as it is.
    (finish,) = [tags for _, name, _, tags in recorder.sent if name == "ti.finish"]
    assert finish == {"dag_id": "etl.v2", "task_id": "extract.load", "state": "success"}
    # A pool's name is put into a metric with each character outside Airflow's rule as "_".
    assert "pool.open_slots.team_pool_1" in names


def test_legacy_names_off_sends_only_the_plain_names(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = _settings(tmp_path, {"AIRFLOW__METRICS__LEGACY_NAMES_ON": "False"})
    assert off.legacy_names_on is False
    monkeypatch.setattr(emit, "_legacy_names", off.legacy_names_on)
    airflow.ti_finished("etl", "load", "success", "PythonOperator", 1.0)
    assert [name for _, name, _, _ in recorder.sent] == [
        "ti.finish",
        "task.duration",
        "operator_successes",
        "ti_successes",
    ]


def test_a_wait_is_a_finish_without_a_duration_or_a_count(recorder: Recorder) -> None:
    for state in ("deferred", "up_for_reschedule", "awaiting_input", "skipped"):
        airflow.ti_finished("etl", "wait", state, "PythonSensor", 2.0)
    assert [name for _, name, _, _ in recorder.sent if "." in name and "finish" not in name] == []
    assert [tags["state"] for _, name, _, tags in recorder.sent if name == "ti.finish"] == [
        "deferred",
        "up_for_reschedule",
        "awaiting_input",
        "skipped",
    ]


@pytest.mark.parametrize("state", ["failed", "up_for_retry"])
def test_a_failed_try_counts_as_its_operators_failure(recorder: Recorder, state: str) -> None:
    airflow.ti_finished("etl", "load", state, "BashOperator", None)
    names = [name for _, name, _, _ in recorder.sent]
    assert names == [
        f"ti.finish.etl.load.{state}",
        "ti.finish",
        "operator_failures_BashOperator",
        "operator_failures",
        "ti_failures",
    ]


def test_a_skipped_try_is_only_finished(recorder: Recorder) -> None:
    airflow.ti_finished("etl", "load", "skipped", "EmptyOperator", 0.0)
    assert [n for _, n, _, _ in recorder.sent if "success" in n or "failure" in n] == []


def test_dag_run_metrics(recorder: Recorder) -> None:
    airflow.dag_run_started("etl", "scheduled", 2.25)
    airflow.dag_run_started("etl", "manual", None)  # no delay: a manual run is not due
    airflow.dag_run_ended("etl", "scheduled", "failed", 60)
    airflow.dependency_check("etl", 0.004)
    tags = {"dag_id": "etl", "run_type": "scheduled"}
    kept = {"run_type": "scheduled"}
    assert recorder.sent == [
        ("ms", "dagrun.schedule_delay.etl", 2250.0, kept),
        ("ms", "dagrun.schedule_delay", 2250.0, tags),
        ("ms", "dagrun.duration.failed.etl", 60000.0, kept),
        ("ms", "dagrun.duration.failed", 60000.0, tags),
        ("ms", "dagrun.dependency-check.etl", 4.0, {}),
        ("ms", "dagrun.dependency-check", 4.0, {"dag_id": "etl"}),
    ]


def test_scheduler_executor_and_pool_gauges(recorder: Recorder) -> None:
    airflow.scheduler_heartbeat()
    airflow.executor_slots("LocalExecutor", 6, 1, 2)
    airflow.pool_slots("default_pool", 5, 1, 2, 3, 0)
    airflow.pool_slots("unlimited", None, 0, 1, 0, 0)
    sent = {(name, value): tags for _, name, value, tags in recorder.sent}
    assert ("scheduler_heartbeat", 1) in sent
    executor = {"executor_class_name": "LocalExecutor"}
    assert sent["executor.open_slots", 6] == {"status": "open", **executor}
    assert sent["executor.queued_tasks", 1] == {"status": "queued", **executor}
    assert sent["executor.running_tasks", 2] == {"status": "running", **executor}
    assert sent["executor.open_slots.LocalExecutor", 6] == {"status": "open"}
    assert sent["pool.open_slots.default_pool", 5] == {}
    assert sent["pool.open_slots", 5] == {"pool_name": "default_pool"}
    assert ("pool.scheduled_slots.default_pool", 3) in sent
    assert ("pool.running_slots.unlimited", 1) in sent
    # A pool without a limit has no open slot count (Airflow's would be infinite).
    assert not [name for name, _ in sent if name == "pool.open_slots.unlimited"]
    assert {kind for kind, name, _, _ in recorder.sent if name.startswith("pool.")} == {"g"}


def test_lost_heartbeats_are_counted_under_airflow_3s_and_2s_names(recorder: Recorder) -> None:
    airflow.heartbeat_lost("etl", "load")
    assert [name for _, name, _, _ in recorder.sent] == [
        "task_instances_without_heartbeats_killed",
        "zombies_killed",
    ]


def test_heartbeat_failures_triggers_and_the_folders_queue(recorder: Recorder) -> None:
    with pytest.raises(ConnectionError), airflow.heartbeat_failures("SchedulerJob"):
        raise ConnectionError("the store went away")
    with airflow.heartbeat_failures("SchedulerJob"):
        pass  # written: nothing counted
    airflow.triggers_ended(3, 0)
    airflow.triggers_ended(0, 2)
    airflow.file_queue_size(4)
    airflow.dagruns_running(2)
    assert recorder.sent == [
        ("c", "SchedulerJob_heartbeat_failure", 1, {}),
        ("c", "triggers.succeeded", 3, {}),
        ("c", "triggers.failed", 2, {}),
        ("g", "dag_processing.file_path_queue_size", 4, {}),
        ("g", "scheduler.dagruns.running", 2, {}),
    ]


def test_file_ages_are_tagged_by_path_bundle_and_name(recorder: Recorder) -> None:
    airflow.dag_file_ages({"team a/etl.py": 12.5})
    # Airflow's path tag has each character outside a stat name's (the / too) as _.
    assert recorder.sent == [
        (
            "g",
            "dag_processing.last_run.seconds_ago.etl",
            12.5,
            {"file_path": "team_a_etl.py", "bundle_name": "dags-folder"},
        ),
        (
            "g",
            "dag_processing.last_run.seconds_ago",
            12.5,
            {"file_path": "team_a_etl.py", "bundle_name": "dags-folder", "file_name": "etl"},
        ),
    ]


def test_instance_gauges_count_by_task_and_set_what_went_to_zero_once(
    recorder: Recorder,
) -> None:
    gauges = airflow.InstanceGauges()
    gauges.send({("queued", "etl", "load", "default"): 2, ("running", "etl", "x.y", "big"): 1})
    gauges.send({("running", "etl", "x.y", "big"): 3})
    gauges.send({})
    gauges.send({})
    sent = [(name, value) for _, name, value, _ in recorder.sent]
    assert sent == [
        ("ti.queued.default.etl.load", 2),
        ("ti.queued", 2),
        ("ti.running.big.etl.x__y", 1),
        ("ti.running", 1),
        ("ti.running.big.etl.x__y", 3),
        ("ti.running", 3),
        ("ti.queued.default.etl.load", 0),  # gone: set to 0 once
        ("ti.queued", 0),
        ("ti.running.big.etl.x__y", 0),
        ("ti.running", 0),
    ]
    tags = [tags for _, name, _, tags in recorder.sent if name == "ti.queued"]
    assert tags[0] == {"queue": "default", "dag_id": "etl", "task_id": "load"}


def test_a_loops_queued_tries_a_failed_dag_callback_and_lineage_sends(
    recorder: Recorder,
) -> None:
    airflow.tasks_executable(4)
    airflow.dag_callback_failed("etl")
    airflow.lineage_sent("start", "http", 0.0125, failed=False)
    airflow.lineage_sent("complete", "http", 0.5, failed=True)
    airflow.instances_made("etl", "manual", {"PythonOperator": 2, "_PythonDecoratedOperator": 1})
    made = {"dag_id": "etl", "run_type": "manual"}
    assert recorder.sent[-4:] == [
        ("c", "task_instance_created_PythonOperator", 2, made),
        ("c", "task_instance_created", 2, {**made, "task_type": "PythonOperator"}),
        ("c", "task_instance_created__PythonDecoratedOperator", 1, made),
        ("c", "task_instance_created", 1, {**made, "task_type": "_PythonDecoratedOperator"}),
    ]
    del recorder.sent[-4:]
    airflow.asset_updates(3)
    airflow.asset_runs_made(2)
    assert recorder.sent[-2:] == [
        ("c", "asset.updates", 3, {}),
        ("c", "asset.triggered_dagruns", 2, {}),
    ]
    del recorder.sent[-2:]
    airflow.deadlines_decided("etl", "manual__1", missed=True)
    assert recorder.sent[-1] == (
        "c",
        "deadline_alerts.deadline_missed",
        1,
        {"dag_id": "etl", "dagrun_id": "manual__1"},
    )
    assert recorder.sent[:-1] == [
        ("g", "scheduler.tasks.executable", 4, {}),
        ("c", "dag.callback_exceptions", 1, {"dag_id": "etl"}),
        ("ms", "ol.emit.attempts.start.http", 12.5, {}),
        ("ms", "ol.emit.attempts", 12.5, {"event_type": "start", "transport_type": "http"}),
        ("ms", "ol.emit.attempts.complete.http", 500.0, {}),
        ("ms", "ol.emit.attempts", 500.0, {"event_type": "complete", "transport_type": "http"}),
        ("c", "ol.emit.failed", 1, {}),
    ]


def test_nothing_is_gathered_when_no_sink_is_open() -> None:
    assert not emit.on()
    airflow.ti_finished("etl", "load", "success", "PythonOperator", 1.0)  # returns at once


# -- which names go ---------------------------------------------------------------------------


def test_the_allow_list_is_searched_anywhere_and_makes_the_block_list_ignored() -> None:
    allowed = NameFilter(allow_list="scheduler, ^ti\\.", block_list="ti")
    assert allowed.allows("scheduler_heartbeat")
    assert allowed.allows("pool.scheduler_wide")  # anywhere in the name, as Airflow 3
    assert allowed.allows("ti.finish")
    assert not allowed.allows("dagrun.duration.success.ti")  # ^ anchors
    assert not allowed.allows("ti_successes")


def test_the_block_list_drops_what_it_matches_lower_cased() -> None:
    blocked = NameFilter(block_list="Pool,executor")
    assert not blocked.allows("pool.open_slots.default_pool")
    assert not blocked.allows("EXECUTOR.open_slots")
    assert blocked.allows("ti.finish")


def test_names_outside_airflows_rule_are_not_sent() -> None:
    names = NameFilter()
    assert names.allows("dag.my-dag.v1/load.duration")
    assert not names.allows("dag.naïve.load.duration")
    assert not names.allows("ti.start.a b")
    assert not names.allows("x" * 251)


def test_numbers_as_statsd_reads_them() -> None:
    assert [number(1), number(2.0), number(1500.25), number(0.0000004)] == [
        "1",
        "2",
        "1500.25",
        "0",
    ]


# -- the wire ---------------------------------------------------------------------------------


@pytest.fixture
def statsd() -> Iterator[StatsdReceiver]:
    receiver = StatsdReceiver()
    yield receiver
    receiver.close()


def test_plain_statsd_over_udp_from_airflows_variables(
    tmp_path: Path, statsd: StatsdReceiver
) -> None:
    settings = _settings(
        tmp_path,
        {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "localhost",
            "AIRFLOW__METRICS__STATSD_PORT": str(statsd.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "",
        },
    )
    assert (settings.statsd_on, settings.statsd_prefix) == (True, "")
    emit.configure(settings)
    airflow.ti_finished("etl", "load", "success", "PythonOperator", 0.25)
    airflow.executor_slots("LocalExecutor", -1, 0, 0)
    statsd.wait_for("ti_successes", "executor.running_tasks")
    finish = statsd.named("ti.finish.etl.load.success")
    assert [(p.value, p.kind, p.tags) for p in finish] == [(1, "c", {})]  # no tags in StatsD
    assert [(p.value, p.kind) for p in statsd.named("task.duration")] == [(250, "ms")]
    # A negative gauge in plain StatsD: set to 0, then the change below it.
    assert [p.value for p in statsd.named("executor.open_slots")] == [0, -1]


def test_the_metrics_of_one_fact_leave_in_one_datagram(
    tmp_path: Path, statsd: StatsdReceiver
) -> None:
    emit.configure(_settings(tmp_path, statsd_on=True, statsd_port=statsd.port))
    airflow.ti_finished("etl", "load", "success", "PythonOperator", 1.0)
    statsd.wait_for("airflow.ti_successes")
    (datagram,) = statsd.datagrams
    assert len(datagram.splitlines()) == 7
    # Many pools' gauges: as many lines to a datagram as fit, none larger than the limit.
    with airflow.together():
        for index in range(100):
            airflow.pool_slots(f"pool_{index:03d}", 1, 0, 0, 0, 0)
    statsd.wait_for("airflow.pool.open_slots.pool_099")
    sent = statsd.datagrams[1:]
    assert 1 < len(sent) < 100
    assert all(len(d) <= MAX_DATAGRAM for d in sent)
    assert sum(len(d.splitlines()) for d in sent) == 100 * 12  # six figures, two names each


def test_dogstatsd_tags_and_the_allow_list(tmp_path: Path, statsd: StatsdReceiver) -> None:
    settings = _settings(
        tmp_path,
        {
            "AIRFLOW__METRICS__STATSD_ON": "true",
            "AIRFLOW__METRICS__STATSD_PORT": str(statsd.port),
            "AIRFLOW__METRICS__STATSD_DATADOG_ENABLED": "true",
            "AIRFLOW__METRICS__STATSD_DATADOG_TAGS": "env:test,team:data",
            "AIRFLOW__METRICS__STATSD_DISABLED_TAGS": "task_id",
            "AIRFLOW__METRICS__METRICS_ALLOW_LIST": "^ti\\.finish,heartbeat",
        },
    )
    emit.configure(settings)
    airflow.ti_finished("etl", "load", "failed", "PythonOperator", 1.0)
    airflow.scheduler_heartbeat()
    statsd.wait_for("airflow.scheduler_heartbeat")
    assert statsd.names() == {
        "airflow.ti.finish.etl.load.failed",
        "airflow.ti.finish",
        "airflow.scheduler_heartbeat",
    }
    (tagged,) = statsd.named("airflow.ti.finish")
    assert tagged.tags == {"dag_id": "etl", "state": "failed", "env": "test", "team": "data"}
    (beat,) = statsd.named("airflow.scheduler_heartbeat")
    assert beat.tags == {"env": "test", "team": "data"}


def test_dogstatsd_without_the_metrics_own_tags(tmp_path: Path, statsd: StatsdReceiver) -> None:
    emit.configure(
        _settings(
            tmp_path,
            statsd_on=True,
            statsd_port=statsd.port,
            statsd_datadog_enabled=True,
            statsd_datadog_metrics_tags=False,
            statsd_datadog_tags="env:test",
        )
    )
    airflow.ti_started("etl", "load")
    statsd.wait_for("airflow.ti.start")
    assert {tuple(p.tags.items()) for p in statsd.seen()} == {(("env", "test"),)}


def test_an_unresolvable_statsd_host_is_a_configuration_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path, statsd_on=True, statsd_host="no-such-host.invalid")
    with pytest.raises(ConfigError, match=r"statsd_host 'no-such-host\.invalid'"):
        emit.configure(settings)


def test_opentelemetry_over_otlp_http(tmp_path: Path) -> None:
    receiver = OtlpReceiver()
    try:
        settings = _settings(
            tmp_path,
            {
                "AIRFLOW__METRICS__OTEL_ON": "True",
                "AIRFLOW__METRICS__OTEL_HOST": "127.0.0.1",
                "AIRFLOW__METRICS__OTEL_PORT": str(receiver.port),
                "AIRFLOW__METRICS__OTEL_INTERVAL_MILLISECONDS": "600000",  # only when flushed
            },
        )
        emit.configure(settings)
        airflow.ti_finished("etl", "load", "success", "PythonOperator", 0.5)
        airflow.ti_finished("etl", "load", "success", "PythonOperator", 1.5)
        airflow.executor_slots("CeleryExecutor", 4, 2, 1)
        emit.flush()
        receiver.wait_for("airflow.ti.finish", "airflow.task.duration")
        assert set(receiver.paths) == {"/v1/metrics"}
        (finish,) = receiver.named("airflow.ti.finish")
        assert (finish.kind, finish.value, finish.service) == ("sum", 2, "Airflow")
        assert finish.attributes == {"dag_id": "etl", "task_id": "load", "state": "success"}
        (legacy,) = receiver.named("airflow.ti.finish.etl.load.success")
        assert legacy.value == 2
        (duration,) = receiver.named("airflow.task.duration")
        # In exponential buckets, as Airflow's histograms are.
        assert (duration.kind, duration.count, duration.value) == (
            "exponential_histogram",
            2,
            2000.0,
        )
        (slots,) = receiver.named("airflow.executor.open_slots")
        assert (slots.kind, slots.value) == ("gauge", 4)
        assert slots.attributes == {"status": "open", "executor_class_name": "CeleryExecutor"}
        # OpenTelemetry's instrument names are not case-sensitive: the SDK sends them lowered.
        (legacy_slots,) = receiver.named("airflow.executor.open_slots.celeryexecutor")
        assert legacy_slots.attributes == {"status": "open"}
    finally:
        emit.close()
        receiver.close()


def test_opentelemetrys_variables_win_as_in_airflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collector named by the OTLP variables, over gRPC, takes the metrics ``[metrics]``'s
    host and port would have had; ``OTEL_SERVICE_NAME`` wins; an empty prefix is Airflow's."""
    receiver = OtlpReceiver(grpc=True)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"http://127.0.0.1:{receiver.port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "platform")
    try:
        settings = _settings(
            tmp_path,
            {
                "AIRFLOW__METRICS__OTEL_ON": "True",
                "AIRFLOW__METRICS__OTEL_PORT": "9",  # not where the variables say
                "AIRFLOW__METRICS__OTEL_PREFIX": "",
                "AIRFLOW__METRICS__OTEL_INTERVAL_MILLISECONDS": "600000",
            },
        )
        emit.configure(settings)
        airflow.ti_started("etl", "load")
        emit.flush()
        receiver.wait_for("airflow.ti.start")
        assert set(receiver.paths) == {
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
        }
        assert {p.service for p in receiver.seen()} == {"platform"}
    finally:
        emit.close()
        receiver.close()
