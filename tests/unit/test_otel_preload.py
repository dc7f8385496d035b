"""A process that sends spans or OpenTelemetry metrics has its fork server import the SDK
and the chosen exporter, so each try's runner does not import them again (a runner's first
try paid a third of a second on a quiet machine, several on a busy one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, os
from multiprocessing import forkserver
from conveyor._processes import fork_context
from conveyor.config import load_config
from conveyor.stats import emit, spans

def preload():
    fork_context()
    return list(forkserver._forkserver._preload_modules)

home = {home!r}
off = load_config({{"CONVEYOR_HOME": home}}, home=home).settings
emit.configure(off)
spans.configure(off)
before = preload()
on = load_config(
    {{"CONVEYOR_HOME": home}},
    home=home,
    traces_otel_on=True,
    traces_otel_port=4318,
    otel_on=True,
    otel_port=4318,
).settings
emit.configure(on)
spans.configure(on)
print(json.dumps([before, preload()]))
"""


def test_the_fork_server_preloads_the_sdk_and_exporters_only_where_they_send(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(home=str(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"OTEL_TRACES_EXPORTER": "otlp_proto_http", "PATH": "/usr/bin:/bin"},
    )
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    wanted = {
        "conveyor.stats.otel_traces",
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.sdk.metrics",
        "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    }
    assert not wanted & set(before)
    assert wanted <= set(after)
    assert after[-1] == before[-1] == "conveyor.executors.fork_server_warmup"
