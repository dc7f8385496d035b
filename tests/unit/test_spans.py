"""The spans of a run and its tries (Airflow's ``[traces]``): the ids every process derives,
and the wire: real OTLP requests, over gRPC (Airflow's default exporter) and over HTTP
(``OTEL_TRACES_EXPORTER=otlp_proto_http``), set by Airflow's ``AIRFLOW__TRACES__*`` variables,
decoded with opentelemetry-proto. With traces off, nothing of OpenTelemetry is imported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conveyor.config import load_config
from conveyor.exceptions import ConfigError
from conveyor.stats import spans, trace_ids
from metric_receivers import OtlpReceiver

STARTED = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _closed() -> Iterator[None]:
    yield
    spans.close()


def test_the_ids_name_one_run_and_its_task_instances() -> None:
    trace = trace_ids.run_trace_id("etl", "manual__1", STARTED)
    assert trace == trace_ids.run_trace_id("etl", "manual__1", STARTED)  # in every process
    assert 0 < trace < 2**128
    # Cleared and started again: a new trace, as Airflow's clear draws a new carrier.
    assert trace != trace_ids.run_trace_id("etl", "manual__1", STARTED + timedelta(seconds=1))
    assert trace != trace_ids.run_trace_id("etl", "manual__2", STARTED)
    load = trace_ids.task_span_id(trace, "load", -1)
    assert 0 < load < 2**64
    assert len({load, trace_ids.task_span_id(trace, "load", 0), trace_ids.run_span_id(trace)}) == 3


@pytest.mark.parametrize(
    ("exporter", "path"),
    [
        (None, "/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
        ("otlp_proto_http", "/v1/traces"),
    ],
    ids=["grpc-by-default", "http-when-named"],
)
def test_spans_over_otlp_from_airflows_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exporter: str | None, path: str
) -> None:
    if exporter:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", exporter)
    else:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    receiver = OtlpReceiver(grpc=exporter is None)
    try:
        environ = {
            "CONVEYOR_HOME": str(tmp_path),
            "AIRFLOW__TRACES__OTEL_ON": "True",
            "AIRFLOW__TRACES__OTEL_HOST": "127.0.0.1",
            "AIRFLOW__TRACES__OTEL_PORT": str(receiver.port),
            "AIRFLOW__TRACES__OTEL_SERVICE": "platform",
        }
        spans.configure(load_config(environ).settings)
        run = spans.RunSpan("etl", "manual__1", "manual", STARTED, STARTED, STARTED)
        try_ = spans.TrySpan(run, 7, "load", 3, 2, STARTED, STARTED + timedelta(seconds=1))
        with pytest.raises(ValueError), spans.worker(try_):
            raise ValueError("lost the file")
        spans.try_ended(try_, "up_for_retry")
        spans.run_ended(run, "success")
        spans.flush()
        found = {s.name: s for s in receiver.wait_for_spans("dag_run.etl", "worker.load[3]")}
        assert set(receiver.paths) == {path}
        root, task_run, worker = (
            found["dag_run.etl"],
            found["task_run.load[3]"],
            found["worker.load[3]"],
        )
        assert {s.service for s in found.values()} == {"platform"}
        assert (root.parent_id, root.status) == ("", "OK")
        assert root.trace_id == f"{run.trace_id:032x}"
        assert root.attributes["airflow.dag_run.run_type"] == "manual"
        assert task_run.parent_id == root.span_id == f"{trace_ids.run_span_id(run.trace_id):016x}"
        assert task_run.span_id == f"{try_.span_id:016x}"
        assert task_run.status == "ERROR"  # anything but success, as Airflow's
        assert task_run.attributes == {
            "airflow.dag_id": "etl",
            "airflow.task_id": "load",
            "airflow.dag_run.run_id": "manual__1",
            "airflow.task_instance.try_number": "2",
            "airflow.task_instance.map_index": "3",
            "airflow.task_instance.state": "up_for_retry",
            "airflow.task_instance.id": "7",
        }
        assert task_run.start_ns == int(STARTED.timestamp() * 1e9)  # queued, before its start
        assert worker.parent_id == task_run.span_id
        assert worker.status == "ERROR"  # an error out of the try's process itself
    finally:
        spans.close()
        receiver.close()


def test_an_exporter_not_installed_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    environ = {"CONVEYOR_HOME": str(tmp_path), "AIRFLOW__TRACES__OTEL_ON": "True"}
    with pytest.raises(ConfigError, match=r"OTEL_TRACES_EXPORTER='zipkin'.*installed: .*otlp"):
        spans.configure(load_config(environ).settings)


def test_nothing_of_opentelemetry_is_imported_with_traces_off(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from conveyor.config import load_config\n"
        "import conveyor.worker.runner, conveyor.scheduler.loop, conveyor.triggerer.process\n"
        "from conveyor.engine import run_metrics\n"
        f"run_metrics.start(load_config({{'CONVEYOR_HOME': {str(tmp_path)!r}}}).settings)\n"
        "print([m for m in sys.modules if m.startswith('opentelemetry')])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_finer_span_detail_asked_for_in_a_runs_conf_is_named() -> None:
    """Airflow makes a try's step and listener spans at a detail level above 1; Conveyor
    does not, and the try's log says so where a run asks for them."""
    asked = spans.finer_detail_refused({"airflow/task_span_detail_level": 2})
    assert asked is not None and "task_span_detail_level=2" in asked
    assert "must be an integer" in (spans.finer_detail_refused({spans.DETAIL_LEVEL_KEY: "x"}) or "")
    assert spans.finer_detail_refused({spans.DETAIL_LEVEL_KEY: 1}) is None
    assert spans.finer_detail_refused({"other": 2}) is None
    assert spans.finer_detail_refused(None) is None
