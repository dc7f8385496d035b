"""OpenLineage's pure parts: the settings and where they come from, the emitter that never
holds a task up (and counts what it drops), Airflow's run ids, selective enabling and
disabled operators, the tables a SQLite statement reads and writes, and the datasets of the
S3 operators."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from openlineage.client.event_v2 import Dataset, RunState
from openlineage.client.serde import Serde
from prometheus_client import REGISTRY

from conveyor import DAG, BashOperator, EmptyOperator, hot_path
from conveyor.airflow_compat import listeners
from conveyor.config import load_config, mask
from conveyor.connections import masking
from conveyor.exceptions import ConfigError
from conveyor.lineage import events, extraction
from conveyor.lineage.emitter import Emitter
from conveyor.lineage.listener import OpenLineageListener
from conveyor.lineage.redaction import redacted
from conveyor.lineage.settings import client_config, read
from conveyor.providers.amazon.local_to_s3 import LocalFilesystemToS3Operator
from conveyor.providers.amazon.s3_operators import S3CopyObjectOperator
from conveyor.providers.openlineage.selective import disable_lineage, enable_lineage
from conveyor.providers.openlineage.sql import lineage_of_sql
from conveyor.providers.sqlite import SqliteHook
from metric_receivers import record_metrics


def _settings(tmp_path: Path, **values: Any) -> Any:
    return load_config({"CONVEYOR_HOME": str(tmp_path)}, home=tmp_path, **values).settings


# -- settings ------------------------------------------------------------------------------


def test_nothing_said_about_where_events_go_means_lineage_is_off(tmp_path: Path) -> None:
    assert not read(_settings(tmp_path), {}).enabled
    assert read(_settings(tmp_path), {"OPENLINEAGE_URL": "http://marquez:5000"}).enabled
    assert read(_settings(tmp_path), {"OPENLINEAGE__TRANSPORT__TYPE": "console"}).enabled
    on = _settings(tmp_path, openlineage_transport='{"type": "console"}')
    assert read(on, {}).enabled
    assert not read(on, {"AIRFLOW__OPENLINEAGE__DISABLED": "true"}).enabled
    assert not read(on, {"OPENLINEAGE_DISABLED": "1"}).enabled
    off = _settings(
        tmp_path, openlineage_transport='{"type": "console"}', openlineage_disabled=True
    )
    assert not read(off, {}).enabled


def test_airflows_variables_win_over_conveyors_settings(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        openlineage_transport='{"type": "console"}',
        openlineage_namespace="ours",
        openlineage_disabled_for_operators="a.B; c.D",
    )
    found = read(settings, {})
    assert (found.transport, found.namespace) == ({"type": "console"}, "ours")
    assert found.disabled_for_operators == {"a.B", "c.D"}
    found = read(
        settings,
        {
            "AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "http", "url": "http://x:1"}',
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "theirs",
            "AIRFLOW__OPENLINEAGE__SELECTIVE_ENABLE": "True",
            "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "3",
        },
    )
    assert found.transport == {"type": "http", "url": "http://x:1"}
    assert (found.namespace, found.selective_enable, found.execution_timeout) == (
        "theirs",
        True,
        3.0,
    )
    assert client_config(found) == {"transport": {"type": "http", "url": "http://x:1"}}
    # The client's own namespace variable, then Airflow's default.
    assert read(_settings(tmp_path), {"OPENLINEAGE_NAMESPACE": "env"}).namespace == "env"
    assert read(_settings(tmp_path), {}).namespace == "default"
    with pytest.raises(ConfigError, match="not a JSON object"):
        read(settings, {"AIRFLOW__OPENLINEAGE__TRANSPORT": "[1]"})


def test_a_configuration_file_is_read_when_no_transport_is_given(tmp_path: Path) -> None:
    path = tmp_path / "openlineage.yml"
    path.write_text("transport:\n  type: file\n  log_file_path: /tmp/events.jsonl\n")
    found = read(_settings(tmp_path, openlineage_config_path=str(path)), {})
    assert found.enabled
    assert client_config(found) == {
        "transport": {"type": "file", "log_file_path": "/tmp/events.jsonl"}
    }


def test_the_transport_setting_is_a_json_object_and_its_secrets_are_masked(
    tmp_path: Path,
) -> None:
    given = {"type": "http", "url": "http://m:5000", "auth": {"type": "api_key", "apiKey": "s3"}}
    settings = _settings(tmp_path, openlineage_transport=given)  # a table in conveyor.toml
    assert json.loads(settings.openlineage_transport) == given
    shown = json.loads(mask("openlineage_transport", settings.openlineage_transport))
    assert shown["auth"] == {"type": "api_key", "apiKey": "***"}
    assert shown["url"] == "http://m:5000"
    with pytest.raises(ConfigError, match="openlineage_transport"):
        _settings(tmp_path, openlineage_transport="{not json")


# -- the emitter ---------------------------------------------------------------------------


class _Client:
    """A client whose emit blocks until released (a transport that hangs), or raises."""

    def __init__(self, fail: bool = False) -> None:
        self.release = threading.Event()
        self.sent: list[Any] = []
        self.fail = fail

    def emit(self, event: Any) -> None:
        if self.fail:
            raise ConnectionError("refused")
        self.release.wait(30)
        self.sent.append(event)


def _count(reason: str) -> float:
    value = REGISTRY.get_sample_value("conveyor_lineage_events_dropped_total", {"reason": reason})
    return value or 0.0


def test_a_hanging_transport_never_blocks_a_submit_and_drops_are_counted() -> None:
    client = _Client()
    emitter = Emitter(lambda: client, queue_size=2, close_timeout=0.2)
    before = {r: _count(r) for r in ("queue_full", "shutdown")}
    started = time.monotonic()
    accepted = [emitter.submit(f"event-{i}") for i in range(50)]
    assert time.monotonic() - started < 0.5  # 50 submits to a transport that never answers
    # One in the thread (maybe), two queued: the rest dropped and counted.
    assert 2 <= sum(accepted) <= 3
    assert _count("queue_full") - before["queue_full"] == 50 - sum(accepted)
    started = time.monotonic()
    emitter.close()  # waits its 0.2 s, then counts what is left
    assert time.monotonic() - started < 2
    assert _count("shutdown") - before["shutdown"] == sum(accepted)
    assert not emitter.submit("late")
    client.release.set()


def test_events_go_in_order_and_a_failing_transport_is_counted() -> None:
    client = _Client()
    client.release.set()
    emitter = Emitter(lambda: client, queue_size=10, close_timeout=5)
    for i in range(5):
        assert emitter.submit(f"event-{i}")
    emitter.close()
    assert client.sent == [f"event-{i}" for i in range(5)]

    failing = Emitter(lambda: _Client(fail=True), queue_size=10, close_timeout=5)
    before = _count("transport_error")
    assert failing.submit("a") and failing.submit("b")
    failing.close()
    assert _count("transport_error") - before == 2


class _Event:
    def __init__(self, kind: str) -> None:
        self.eventType = SimpleNamespace(value=kind)


def test_each_send_is_timed_and_a_failure_counted_under_airflows_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = record_metrics(monkeypatch)
    client = _Client()
    client.release.set()
    client.transport = SimpleNamespace(kind="http")  # type: ignore[attr-defined]
    working = Emitter(lambda: client, queue_size=10, close_timeout=5)
    working.submit(_Event("START"))
    working.close()
    failing_client = _Client(fail=True)
    failing_client.transport = SimpleNamespace(kind="http")  # type: ignore[attr-defined]
    failing = Emitter(lambda: failing_client, queue_size=10, close_timeout=5)
    failing.submit(_Event("COMPLETE"))
    failing.close()
    sent = recorder.named()
    assert [(kind, name) for kind, name, _ in sent] == [
        ("ms", "ol.emit.attempts.start.http"),
        ("ms", "ol.emit.attempts"),
        ("ms", "ol.emit.attempts.complete.http"),
        ("ms", "ol.emit.attempts"),
        ("c", "ol.emit.failed"),
    ]
    assert sent[1][2] == {"event_type": "start", "transport_type": "http"}


def test_each_extraction_is_timed_under_airflows_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = record_metrics(monkeypatch)
    with DAG("timed", schedule=None, start_date=datetime(2026, 1, 1)):
        bash = BashOperator(task_id="bash", bash_command="true")
    run = SimpleNamespace(
        logical_date=datetime(2026, 1, 2, tzinfo=UTC),
        data_interval_start=datetime(2026, 1, 2, tzinfo=UTC),
        data_interval_end=datetime(2026, 1, 3, tzinfo=UTC),
        conf={},
        dag_id="timed",
        run_id="manual__1",
        run_type="manual",
    )
    ti = SimpleNamespace(
        task=bash, dag_run=run, dag_id="timed", task_id="bash", try_number=1, map_index=-1
    )
    listener = _listener(tmp_path)
    listener.on_task_instance_running(None, ti)
    listener.on_task_instance_failed(None, ti, "boom")
    listener.emitter.close()
    # Airflow's listener calls a START's extraction "running".
    assert recorder.named("ol.extract") == [
        ("ms", "ol.extract.running.bashoperator", {}),
        ("ms", "ol.extract", {"event_type": "running", "operator_name": "bashoperator"}),
        ("ms", "ol.extract.fail.bashoperator", {}),
        ("ms", "ol.extract", {"event_type": "fail", "operator_name": "bashoperator"}),
    ]


def test_an_event_waits_while_a_try_of_its_process_is_in_its_hop() -> None:
    client = _Client()
    client.release.set()
    emitter = Emitter(lambda: client, queue_size=10, close_timeout=5)
    with hot_path.hop():  # a try's end being recorded
        assert emitter.submit("complete")
        time.sleep(0.1)
        assert client.sent == []  # not beside the record
    deadline = time.monotonic() + 5
    while not client.sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.sent == ["complete"]
    emitter.close()


def test_a_process_always_in_a_hop_still_sends_its_events() -> None:
    client = _Client()
    client.release.set()
    emitter = Emitter(lambda: client, queue_size=10, close_timeout=5)
    with hot_path.hop():
        for i in range(5):
            assert emitter.submit(f"event-{i}")
        deadline = time.monotonic() + 5
        while len(client.sent) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.sent == [f"event-{i}" for i in range(5)]
    emitter.close()


def test_an_event_that_cannot_be_built_is_logged_and_the_next_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = _Client()
    client.release.set()
    emitter = Emitter(lambda: client, queue_size=10, close_timeout=5)

    def broken() -> Any:
        raise KeyError("a facet")

    assert emitter.submit(broken) and emitter.submit(lambda: "built")
    emitter.close()
    assert client.sent == ["built"]
    assert "an event could not be built" in caplog.text


def test_a_send_that_met_a_variable_taken_out_meanwhile_goes_again() -> None:
    """A try's end takes its AIRFLOW_CTX_* variables out of the environment while the
    transport may be reading it (its proxies): the reader gets a KeyError, and the event is
    sent again rather than dropped. Any other KeyError is the transport's own failure."""

    class Racing(_Client):
        def __init__(self, missing: str) -> None:
            super().__init__()
            self.missing, self.calls = missing, 0

        def emit(self, event: Any) -> None:
            self.calls += 1
            if self.calls == 1:
                raise KeyError(self.missing)
            self.sent.append(event)

    raced = Racing("AIRFLOW_CTX_DAG_OWNER")
    emitter = Emitter(lambda: raced, queue_size=10, close_timeout=5)
    dropped = _count("transport_error")
    assert emitter.submit("complete")
    emitter.close()
    assert raced.sent == ["complete"] and _count("transport_error") == dropped
    broken = Racing("PATH")  # in the environment: not a race
    failing = Emitter(lambda: broken, queue_size=10, close_timeout=5)
    assert failing.submit("complete")
    failing.close()
    assert broken.sent == [] and _count("transport_error") == dropped + 1


# -- run ids and events --------------------------------------------------------------------


def test_run_ids_are_airflows_uuid7_of_the_logical_date() -> None:
    logical = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    first = events.task_run_id("ns", "dag", "task", 1, -1, logical)
    assert first == events.task_run_id("ns", "dag", "task", 1, -1, logical)
    assert first != events.task_run_id("ns", "dag", "task", 2, -1, logical)
    assert first != events.task_run_id("other", "dag", "task", 1, -1, logical)
    found = uuid.UUID(first)
    assert found.version == 7
    assert found.int >> 80 == int(logical.timestamp() * 1000)  # its time: the logical date
    assert uuid.UUID(events.dag_run_id("ns", "dag", logical)).version == 7


# -- which tasks send events ---------------------------------------------------------------


def _listener(tmp_path: Path, **values: Any) -> OpenLineageListener:
    lineage = read(_settings(tmp_path, openlineage_transport='{"type": "console"}', **values), {})
    return OpenLineageListener(lineage, Emitter(lambda: None, 1, 0), None)


def test_selective_enable_sends_only_what_is_marked(tmp_path: Path) -> None:
    with DAG("marked", schedule=None, start_date=datetime(2026, 1, 1)) as marked:
        a = EmptyOperator(task_id="a")
    with enable_lineage(DAG("whole", schedule=None, start_date=datetime(2026, 1, 1))) as whole:
        b = EmptyOperator(task_id="b")
        c = disable_lineage(EmptyOperator(task_id="c"))
    with DAG("one", schedule=None, start_date=datetime(2026, 1, 1)):
        d = enable_lineage(EmptyOperator(task_id="d"))
        e = EmptyOperator(task_id="e")
    everything = _listener(tmp_path)
    assert all(everything._task_emits(t) for t in (a, b, c, d, e))
    selective = _listener(tmp_path, openlineage_selective_enable=True)
    assert [t.task_id for t in (a, b, c, d, e) if selective._task_emits(t)] == ["b", "d"]
    assert whole.params["_selective_enable_ol"] is True  # stored with the DAG's version
    assert "_selective_enable_ol" not in marked.params


def test_disabled_operators_by_airflows_path_or_conveyors(tmp_path: Path) -> None:
    with DAG("ops", schedule=None, start_date=datetime(2026, 1, 1)):
        bash = BashOperator(task_id="bash", bash_command="true")
        empty = EmptyOperator(task_id="empty")
    by_airflow = _listener(
        tmp_path,
        openlineage_disabled_for_operators="airflow.providers.standard.operators.bash.BashOperator",
    )
    assert not by_airflow._task_emits(bash) and by_airflow._task_emits(empty)
    path = f"{type(empty).__module__}.{type(empty).__qualname__}"
    by_conveyor = _listener(tmp_path, openlineage_disabled_for_operators=path)
    assert by_conveyor._task_emits(bash) and not by_conveyor._task_emits(empty)


# -- datasets of operators -----------------------------------------------------------------


def test_a_sqlite_statement_reads_and_writes_main_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("CONVEYOR_CONN_LITE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    found = lineage_of_sql(
        SqliteHook(sqlite_conn_id="lite"),
        "INSERT INTO totals SELECT day, sum(n) FROM counts GROUP BY day; DELETE FROM counts",
    )
    assert found is not None
    assert [(d.namespace, d.name) for d in found.inputs] == [(f"sqlite://{path}", "main.counts")]
    assert sorted((d.namespace, d.name) for d in found.outputs) == [
        (f"sqlite://{path}", "main.counts"),  # DELETE writes it too
        (f"sqlite://{path}", "main.totals"),
    ]
    assert found.job_facets["sql"].query == (
        "INSERT INTO totals SELECT day, sum(n) FROM counts GROUP BY day;\nDELETE FROM counts"
    )


def test_the_s3_operators_name_their_objects() -> None:
    copy = S3CopyObjectOperator(
        task_id="copy",
        source_bucket_key="s3://raw/in/a.csv",
        dest_bucket_key="out/a.csv",
        dest_bucket_name="lake",
    )
    found = copy.get_openlineage_facets_on_start()
    assert found.inputs == [Dataset(namespace="s3://raw", name="in/a.csv")]
    assert found.outputs == [Dataset(namespace="s3://lake", name="out/a.csv")]
    upload = LocalFilesystemToS3Operator(
        task_id="up", filename="/data/a.csv", dest_key="s3://lake/a.csv"
    )
    found = upload.get_openlineage_facets_on_start()
    assert found.inputs == [Dataset(namespace="file", name="/data/a.csv")]
    assert found.outputs == [Dataset(namespace="s3://lake", name="a.csv")]


def test_a_tasks_code_goes_as_source_and_the_secrets_it_read_are_masked(tmp_path: Path) -> None:
    with DAG("src", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        bash = BashOperator(task_id="bash", bash_command="curl -u admin:s3cr3t-value http://x")
    run = SimpleNamespace(
        logical_date=datetime(2026, 1, 2, tzinfo=UTC),
        data_interval_start=datetime(2026, 1, 2, tzinfo=UTC),
        data_interval_end=datetime(2026, 1, 3, tzinfo=UTC),
        conf={"token": "s3cr3t-value"},
        dag_id=dag.dag_id,
        run_id="manual__1",
        run_type="manual",
    )
    ti = SimpleNamespace(
        task=bash, dag_run=run, dag_id="src", task_id="bash", try_number=1, map_index=-1
    )
    found = extraction.lineage_of(bash, extraction.COMPLETE, ti)
    facet = found.job_facets["sourceCode"]
    assert (facet.language, facet.sourceCode) == ("bash", bash.bash_command)
    assert "sourceCode" not in extraction.lineage_of(bash, "complete", ti, False).job_facets
    event = events.task_event(RunState.COMPLETE, "ns", ti, found)
    masking.register("s3cr3t-value")
    try:
        text = Serde.to_json(redacted(event))
    finally:
        masking.reset()
    assert "s3cr3t-value" not in text
    assert "curl -u admin:*** http://x" in text
    assert '"token": "***"' in text  # the run's conf, in the airflow facet


def test_a_tries_event_is_built_off_the_hop_from_what_its_hook_read(tmp_path: Path) -> None:
    """The hook reads the try and its run and returns; the sending thread builds the event
    later, and it says what the hook saw, not what the try and its run became since."""
    with DAG("later", schedule=None, start_date=datetime(2026, 1, 1)):
        task = EmptyOperator(task_id="t")
    run = SimpleNamespace(
        logical_date=datetime(2026, 1, 2, tzinfo=UTC),
        data_interval_start=datetime(2026, 1, 2, tzinfo=UTC),
        data_interval_end=datetime(2026, 1, 3, tzinfo=UTC),
        conf={},
        dag_id="later",
        run_id="manual__1",
        run_type="manual",
        state="running",
    )
    ti = SimpleNamespace(
        task=task,
        dag_run=run,
        dag_id="later",
        task_id="t",
        try_number=1,
        map_index=-1,
        duration=1.5,
        pool="default_pool",
        log_url="http://ui/log",
    )
    client = _Client()
    lineage = read(_settings(tmp_path, openlineage_transport='{"type": "console"}'), {})
    listener = OpenLineageListener(lineage, Emitter(lambda: client, 10, 5), None)
    listener.on_task_instance_success(previous_state=None, task_instance=ti)
    ti.duration, ti.try_number, run.state = 99.0, 2, "failed"  # what came after the hook
    client.release.set()
    listener.emitter.close()
    [event] = client.sent
    facet = event.run.facets["airflow"]
    assert (facet.taskInstance["duration"], facet.taskInstance["try_number"]) == (1.5, 1)
    assert facet.dagRun["run_id"] == "manual__1" and event.eventType is RunState.COMPLETE
    assert event.run.runId == events.task_run_id("default", "later", "t", 1, -1, run.logical_date)


def test_only_listeners_that_queue_their_work_leave_the_next_try_free(tmp_path: Path) -> None:
    """A try's end starts the next try at once unless a listener may take its time in its
    hooks; OpenLineage's reads and queues, so it holds nothing back."""

    class OnCall:
        @listeners.hookimpl
        def on_task_instance_failed(
            self, previous_state: Any, task_instance: Any, error: Any
        ) -> None:
            pass

    manager = listeners.get_listener_manager()
    openlineage, on_call = _listener(tmp_path), OnCall()
    before = listeners.hold_the_hop()
    manager.add_listener(openlineage)
    try:
        assert listeners.has_listeners() and listeners.hold_the_hop() is before
        manager.add_listener(on_call)
        assert listeners.hold_the_hop()
    finally:
        manager.remove_listener(on_call)
        manager.remove_listener(openlineage)


def test_the_fork_server_preloads_the_client_only_where_lineage_is_on(tmp_path: Path) -> None:
    """OpenLineage's client costs the fork server a third more to import: a process whose
    settings send no events does not pay it; one that sends them preloads it for its tries."""
    script = f"""
import json
from multiprocessing import forkserver
from conveyor import lineage
from conveyor._processes import fork_context
from conveyor.config import load_config

def preload():
    fork_context()
    return list(forkserver._forkserver._preload_modules)

home = {str(tmp_path)!r}
off = load_config({{"CONVEYOR_HOME": home}}, home=home).settings
assert not lineage.start(off)
before = preload()
on = load_config(
    {{"CONVEYOR_HOME": home}}, home=home, openlineage_transport='{{"type": "console"}}'
).settings
assert lineage.start(on)
print(json.dumps([before, preload()]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert "conveyor.lineage.client" not in before
    assert "conveyor.lineage.client" in after
    assert after[-1] == before[-1] == "conveyor.executors.fork_server_warmup"
