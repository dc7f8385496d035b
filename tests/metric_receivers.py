"""Receivers of the metrics Conveyor sends under Airflow's names, for the tests.

:class:`StatsdReceiver` is a StatsD daemon's receiving end: a UDP socket on a free port whose
thread parses every datagram by the StatsD / DogStatsD grammar, keeping each metric with the
address it came from (a process's socket: who sent it). A line outside the grammar is kept
apart and fails the test that reads it. :class:`OtlpReceiver` is an OpenTelemetry
collector's OTLP endpoints, over HTTP (``POST /v1/metrics`` and ``POST /v1/traces``) or over
gRPC (the metrics and trace services' ``Export``), decoding each request with
opentelemetry-proto.

Imported as ``metric_receivers`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

import gzip
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: name:value|type, then DogStatsD's |#tags (sample rates are never sent).
_LINE = re.compile(r"(?P<name>[^:|#\s]+):(?P<value>-?[0-9.]+)\|(?P<kind>c|g|ms)(\|#(?P<tags>.*))?")


@dataclass(frozen=True)
class Packet:
    name: str
    value: float
    kind: str  # c, g or ms
    tags: dict[str, str]
    sender: tuple[str, int]


@dataclass
class StatsdReceiver:
    sock: socket.socket = field(
        default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    )
    packets: list[Packet] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    datagrams: list[bytes] = field(default_factory=list)  # as they came, whole
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _receive(self) -> None:
        while not self._stopping.is_set():
            try:
                data, sender = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            with self._lock:
                self.datagrams.append(data)
            for line in data.decode().splitlines():
                found = _LINE.fullmatch(line)
                with self._lock:
                    if found is None:
                        self.malformed.append(line)
                        continue
                    tags = dict(
                        item.split(":", 1) for item in (found["tags"] or "").split(",") if item
                    )
                    self.packets.append(
                        Packet(found["name"], float(found["value"]), found["kind"], tags, sender)
                    )

    def seen(self) -> list[Packet]:
        with self._lock:
            assert not self.malformed, f"lines outside the StatsD grammar: {self.malformed}"
            return list(self.packets)

    def named(self, name: str) -> list[Packet]:
        return [p for p in self.seen() if p.name == name]

    def names(self) -> set[str]:
        return {p.name for p in self.seen()}

    def wait_for(self, *names: str, limit: float = 20.0) -> None:
        """Until every name arrived (datagrams from other processes come when they come)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if set(names) <= self.names():
                return
            time.sleep(0.05)
        missing = set(names) - self.names()
        raise AssertionError(f"never received {sorted(missing)}; got {sorted(self.names())}")

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        self.sock.close()


@dataclass(frozen=True)
class OtlpPoint:
    name: str
    kind: str  # sum, gauge, histogram or exponential_histogram
    value: float  # a sum's or gauge's value, a histogram's sum
    count: int  # a histogram's count (1 for the others)
    attributes: dict[str, str]
    service: str


def _text(value: Any) -> str:
    which = value.WhichOneof("value")
    return str(getattr(value, which)) if which else ""


def decode_metrics(body: bytes) -> list[OtlpPoint]:
    """Every data point of an OTLP ``ExportMetricsServiceRequest``."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    request = ExportMetricsServiceRequest()
    request.ParseFromString(body)
    points = []
    for resource in request.resource_metrics:
        attributes = {a.key: _text(a.value) for a in resource.resource.attributes}
        service = attributes.get("service.name", "")
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                kind = metric.WhichOneof("data")
                for point in getattr(metric, kind).data_points:
                    tags = {a.key: _text(a.value) for a in point.attributes}
                    if kind in ("histogram", "exponential_histogram"):
                        value, count = float(point.sum), int(point.count)
                    else:
                        which = point.WhichOneof("value")
                        value, count = float(getattr(point, which)), 1
                    points.append(OtlpPoint(metric.name, kind, value, count, tags, service))
    return points


@dataclass(frozen=True)
class OtlpSpan:
    name: str
    trace_id: str  # hex, as W3C trace context writes it
    span_id: str
    parent_id: str  # "" for a root span
    attributes: dict[str, str]
    status: str  # UNSET, OK or ERROR
    start_ns: int
    end_ns: int
    service: str


def decode_spans(body: bytes) -> list[OtlpSpan]:
    """Every span of an OTLP ``ExportTraceServiceRequest``."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.trace.v1.trace_pb2 import Status

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    found = []
    for resource in request.resource_spans:
        attributes = {a.key: _text(a.value) for a in resource.resource.attributes}
        service = attributes.get("service.name", "")
        for scope in resource.scope_spans:
            for span in scope.spans:
                found.append(
                    OtlpSpan(
                        span.name,
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        {a.key: _text(a.value) for a in span.attributes},
                        Status.StatusCode.Name(span.status.code).removeprefix("STATUS_CODE_"),
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                        service,
                    )
                )
    return found


class OtlpReceiver:
    """An OTLP collector on a free port of 127.0.0.1, every request decoded and kept: over
    HTTP (``POST /v1/metrics`` and ``/v1/traces``), or over gRPC with ``grpc=True``."""

    def __init__(self, grpc: bool = False) -> None:
        self.points: list[OtlpPoint] = []
        self.spans: list[OtlpSpan] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._grpc_server: Any = None
        if grpc:
            self._port = self._serve_grpc()
        else:
            self._port = self._serve_http()

    def _keep(self, path: str, body: bytes) -> None:
        with self._lock:
            self.paths.append(path)
            if path.endswith("/v1/traces") or path.endswith("TraceService/Export"):
                self.spans.extend(decode_spans(body))
            else:
                self.points.extend(decode_metrics(body))

    def _serve_http(self) -> int:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver._keep(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return int(self.server.server_address[1])

    def _serve_grpc(self) -> int:
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.metrics.v1 import (
            metrics_service_pb2,
            metrics_service_pb2_grpc,
        )
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        receiver = self
        trace_path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        metrics_path = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> Any:
                receiver._keep(trace_path, request.SerializeToString())
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> Any:
                receiver._keep(metrics_path, request.SerializeToString())
                return metrics_service_pb2.ExportMetricsServiceResponse()

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._grpc_server = server
        return int(port)

    @property
    def port(self) -> int:
        return self._port

    def seen(self) -> list[OtlpPoint]:
        with self._lock:
            return list(self.points)

    def named(self, name: str) -> list[OtlpPoint]:
        return [p for p in self.seen() if p.name == name]

    def wait_for(self, *names: str, limit: float = 20.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if set(names) <= {p.name for p in self.seen()}:
                return
            time.sleep(0.05)
        got = sorted({p.name for p in self.seen()})
        raise AssertionError(f"never received {sorted(set(names) - set(got))}; got {got}")

    def seen_spans(self) -> list[OtlpSpan]:
        with self._lock:
            return list(self.spans)

    def wait_for_spans(self, *names: str, limit: float = 20.0) -> list[OtlpSpan]:
        """Until a span of every name arrived; all spans received then."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            got = self.seen_spans()
            if set(names) <= {s.name for s in got}:
                return got
            time.sleep(0.05)
        got_names = sorted({s.name for s in self.seen_spans()})
        raise AssertionError(
            f"never received spans {sorted(set(names) - set(got_names))}; got {got_names}"
        )

    def close(self) -> None:
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None)
            return
        self.server.shutdown()
        self.server.server_close()


class SinkRecorder:
    """A metric sink that keeps what it is sent, in order: (kind, name, value, tags)."""

    where = "a test's list"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, float, dict[str, str]]] = []

    def send(self, kind: str, name: str, value: float, tags: Any) -> None:
        self.sent.append((kind, name, value, dict(tags)))

    def close(self) -> None:
        pass

    def named(self, prefix: str = "") -> list[tuple[str, str, dict[str, str]]]:
        """(kind, name, tags) of each metric sent whose name starts with ``prefix``."""
        return [(kind, name, tags) for kind, name, _, tags in self.sent if name.startswith(prefix)]


def record_metrics(monkeypatch: Any) -> SinkRecorder:
    """This process's metrics go to a :class:`SinkRecorder` (and nowhere else) for the test."""
    from conveyor.stats import emit

    found = SinkRecorder()
    monkeypatch.setattr(emit, "_sinks", (found,))
    return found
