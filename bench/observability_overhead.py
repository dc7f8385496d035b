"""What Airflow's metrics, traces and lineage cost a hop and a fan-out: each on against off.

The embedded default (SQLite, the local executor, a real scheduler loop) runs the same chain
and fan-out as ``bench/local_executor.py``, in interleaved rounds: each round runs every
case once (all off; StatsD; DogStatsD; OpenTelemetry traces; OpenLineage; all three) in an
order that turns with the round, so a slow stretch of the machine falls on each case alike.
Everything is sent for real: the metrics to a UDP socket of this process that counts the
datagrams, the spans (OTLP/HTTP: ``OTEL_TRACES_EXPORTER=otlp_proto_http``, where Airflow's
default is gRPC) and the lineage events (HTTP transport) to an HTTP server of this process
that counts the requests. Traces and lineage need ``conveyor[otel,lineage]``.

    .venv/bin/python bench/observability_overhead.py [--chain 50] [--fanout 200] [--rounds 3]
        [--cases lineage]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local_executor import CHAIN_DAG, FANOUT_DAG, chain_metrics, fanout_metrics, run_dag


class Counter:
    """A UDP socket on a free port of 127.0.0.1 counting the datagrams that arrive."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._count, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _count(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recv(65535)
            except TimeoutError:
                continue
            self.received += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def _serve_sink(port: Any, received: Any) -> None:
    """The sink's process: an HTTP server answering every POST with a 200."""

    class Handler(BaseHTTPRequestHandler):
        # Keeps its connections, as a collector or Marquez does: a client opens none per
        # request.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with received.get_lock():
                received.value += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.value = int(server.server_address[1])
    server.serve_forever()


class Sink:
    """An HTTP server on a free port of 127.0.0.1 taking every POST (OTLP spans, OpenLineage
    events) with a 200, counting the requests. It runs in a process of its own, as a
    collector does: in the bench's process, its threads took the interpreter's lock from
    the scheduler loop, which a hop waits for, and made the sending look dearer."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._port = context.Value("i", 0)
        self._received = context.Value("q", 0)
        self._process = context.Process(
            target=_serve_sink, args=(self._port, self._received), daemon=True
        )
        self._process.start()
        deadline = time.monotonic() + 30
        while not self._port.value:
            if time.monotonic() > deadline or not self._process.is_alive():
                raise SystemExit("the bench's HTTP sink did not start")
            time.sleep(0.01)

    @property
    def port(self) -> int:
        return int(self._port.value)

    @property
    def received(self) -> int:
        return int(self._received.value)

    def close(self) -> None:
        self._process.terminate()
        self._process.join()


def per_try_cost(port: int, datadog: bool, calls: int = 20_000) -> float:
    """Seconds a try's process spends sending its metrics (``ti.start`` and everything
    ``ti.finish`` sends: 9 metrics in 2 datagrams), in this process, median of 5."""
    from conveyor.config import load_config
    from conveyor.stats import airflow, emit

    settings = load_config(
        {"CONVEYOR_HOME": "/nonexistent"},
        statsd_on=True,
        statsd_port=port,
        statsd_datadog_enabled=datadog,
    ).settings
    emit.configure(settings)
    times = []
    try:
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(calls):
                airflow.ti_started("bench_chain", "t0001")
                airflow.ti_finished("bench_chain", "t0001", "success", "PythonOperator", 0.01)
            times.append((time.perf_counter() - started) / calls)
    finally:
        emit.close()
    return statistics.median(times)


def cases(port: int, http_port: int) -> dict[str, dict[str, Any]]:
    statsd = {"statsd_on": True, "statsd_port": port}
    traces = {
        "traces_otel_on": True,
        "traces_otel_host": "127.0.0.1",
        "traces_otel_port": http_port,
    }
    lineage = {
        "openlineage_transport": json.dumps(
            {"type": "http", "url": f"http://127.0.0.1:{http_port}", "endpoint": "lineage"}
        )
    }
    return {
        "off": {},
        "statsd": statsd,
        "dogstatsd": {**statsd, "statsd_datadog_enabled": True, "statsd_datadog_tags": "env:bench"},
        "traces": traces,
        "lineage": lineage,
        "all": {**statsd, **traces, **lineage},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=50)
    parser.add_argument("--fanout", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument(
        "--cases",
        default="",
        help="the cases to run, comma-separated (off is always run): statsd, dogstatsd, "
        "traces, lineage, all; all of them by default",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ["OTEL_TRACES_EXPORTER"] = "otlp_proto_http"  # to the counting HTTP server
    # Each case's fork server starts where a scheduler's does, once its sinks are configured,
    # with what they import preloaded (local_executor.run_dag stops the one before).
    counter = Counter()
    http = Sink()
    options: dict[str, Any] = {"parallelism": args.parallelism, "loop_seconds": 1.0, "timeout": 600}
    wanted = {"off", *filter(None, args.cases.split(","))}
    found: dict[str, list[dict[str, float]]] = {
        name: [] for name in cases(counter.port, http.port) if not args.cases or name in wanted
    }
    sent: dict[str, list[int]] = {name: [] for name in found}
    try:
        for round_ in range(args.rounds):
            names = list(found)
            names = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in names:
                before = counter.received + http.received
                settings = cases(counter.port, http.port)[name]
                chain = CHAIN_DAG.format(n=args.chain)
                sample = chain_metrics(run_dag("bench_chain", chain, settings=settings, **options))
                fanout = FANOUT_DAG.format(n=args.fanout, limit=args.fanout + 2)
                sample.update(
                    fanout_metrics(run_dag("bench_fanout", fanout, settings=settings, **options))
                )
                found[name].append(sample)
                sent[name].append(counter.received + http.received - before)
                print(
                    f"round {round_ + 1} {name:>9}: hop median "
                    f"{sample['chain_hop_median'] * 1000:.2f} ms, fan-out "
                    f"{sample['fanout_tasks_per_second']:.0f} tasks/s, "
                    f"{sent[name][-1]} datagrams and requests",
                    file=sys.stderr,
                )
    finally:
        counter.close()
        http.close()
    print(
        f"\nchain of {args.chain}, fan-out of {args.fanout}, SQLite, local executor, "
        f"medians of {args.rounds} interleaved rounds\n"
    )
    print(f"{'case':>9}  {'hop p50':>9}  {'hop p95':>9}  {'fan-out':>12}  {'sent':>9}")
    base = found["off"]
    for name, samples in found.items():
        hop = statistics.median(s["chain_hop_median"] for s in samples)
        p95 = statistics.median(s["chain_hop_p95"] for s in samples)
        rate = statistics.median(s["fanout_tasks_per_second"] for s in samples)
        print(
            f"{name:>9}  {hop * 1000:7.2f}ms  {p95 * 1000:7.2f}ms  {rate:8.0f} /s  "
            f"{statistics.median(sent[name]):9.0f}"
        )
    off_hop = statistics.median(s["chain_hop_median"] for s in base)
    off_rate = statistics.median(s["fanout_tasks_per_second"] for s in base)
    for name in list(found)[1:]:
        hop = statistics.median(s["chain_hop_median"] for s in found[name])
        rate = statistics.median(s["fanout_tasks_per_second"] for s in found[name])
        print(f"{name}: hop {hop / off_hop:.3f} of off, fan-out {rate / off_rate:.3f} of off")
    if args.cases and not wanted & {"statsd", "dogstatsd"}:
        return
    counter = Counter()
    try:
        for name, datadog in (("statsd", False), ("dogstatsd", True)):
            cost = per_try_cost(counter.port, datadog)
            print(f"{name}: a try's own metrics cost its process {cost * 1e6:.1f} us")
    finally:
        counter.close()


if __name__ == "__main__":
    main()
