"""Prometheus metrics: what the store says, computed when scraped, plus the scheduler's loop.

The web process serves ``/metrics`` (no login): runs, task instances and tries by state,
queue depth, the age of every worker's and scheduler's heartbeat, and the distribution of
task durations and scheduling delays (ready -> running) over the tries of the last
``metrics_window_seconds``. These come from the store at each scrape, so every web replica
reports the same cluster-wide figures and nothing is lost when a process restarts.

The scheduler's loop time exists only inside the scheduler process: with ``metrics_port``
set, ``conveyor scheduler`` and ``conveyor worker`` serve their own metrics (loop time,
memory, CPU, open files) on that port.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from conveyor import lifecycle
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.states import RunState, TaskState
from conveyor.store import figures, liveness
from conveyor.store.engine import Connection, Store

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600)
DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LOOP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
#: Try states: a try is running, or ended as one of these (from the lifecycle's moves).
TRY_STATES = tuple(state.value for state in lifecycle.TRY_STATES)

SCHEDULER_LOOP = Histogram(
    "conveyor_scheduler_loop_seconds",
    "Time one scheduling loop of this scheduler process took",
    buckets=LOOP_BUCKETS,
)


class StoreCollector(Collector):
    """Reads the store at each scrape and yields the cluster's metrics."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.window = timedelta(seconds=settings.metrics_window_seconds)

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "conveyor_store_up", "1 if the metadata store answered this scrape, else 0"
        )
        try:
            with self.store.read() as conn:
                metrics = list(self._from_store(conn))
        except Exception:  # a scrape must still answer, saying the store is down
            log.exception("metrics: cannot read the store")
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *metrics]

    def _from_store(self, conn: Connection) -> Iterator[Metric]:
        yield _by_state(
            figures.runs_by_state(conn),
            [s.value for s in RunState],
            "conveyor_dag_runs",
            "DAG runs in the store, by state",
        )
        yield _by_state(
            figures.task_instances_by_state(conn),
            [s.value for s in TaskState],
            "conveyor_task_instances",
            "Task instances in the store, by state",
        )
        yield _by_state(
            figures.tries_by_state(conn), TRY_STATES, "conveyor_task_tries", "Tries by state"
        )
        yield _queue_depth(conn)
        yield from _heartbeats(conn)
        cutoff = utcnow() - self.window
        yield _durations(conn, cutoff, self.window.total_seconds())
        yield _delays(conn, cutoff, self.window.total_seconds())


def _by_state(
    found: dict[str, int], states: Iterable[str], name: str, doc: str
) -> GaugeMetricFamily:
    counts = dict.fromkeys(states, 0)
    counts.update(found)
    family = GaugeMetricFamily(name, doc, labels=["state"])
    for state, count in counts.items():
        family.add_metric([state], count)
    return family


def _queue_depth(conn: Connection) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "conveyor_queue_depth", "Tries queued and not yet started, by queue", labels=["queue"]
    )
    for queue_name, count in figures.queue_depth(conn).items():
        family.add_metric([queue_name], count)
    return family


def _heartbeats(conn: Connection) -> Iterator[GaugeMetricFamily]:
    now = utcnow()
    workers = GaugeMetricFamily(
        "conveyor_worker_heartbeat_age_seconds",
        "Seconds since each running worker's last heartbeat",
        labels=["worker"],
    )
    running = GaugeMetricFamily(
        "conveyor_worker_running_tries", "Tries each running worker runs", labels=["worker"]
    )
    for found in liveness.running_workers(conn):
        workers.add_metric([found.hostname], (now - found.heartbeat_at).total_seconds())
        running.add_metric([found.hostname], len(found.running))
    schedulers = GaugeMetricFamily(
        "conveyor_scheduler_heartbeat_age_seconds",
        "Seconds since each running scheduler's last heartbeat",
        labels=["scheduler", "hostname"],
    )
    for beat in liveness.running_schedulers(conn):
        schedulers.add_metric([beat.id, beat.hostname], (now - beat.heartbeat_at).total_seconds())
    yield workers
    yield running
    yield schedulers


def _durations(conn: Connection, cutoff: datetime, window: float) -> GaugeHistogramMetricFamily:
    family = GaugeHistogramMetricFamily(
        "conveyor_task_duration_seconds",
        f"Duration of the tries that started in the last {window:g}s and ended, by DAG",
        labels=["dag_id"],
    )
    for dag_id, values in sorted(figures.durations_by_dag(conn, cutoff).items()):
        family.add_metric([dag_id], *_buckets(values, DURATION_BUCKETS))
    return family


def _delays(conn: Connection, cutoff: datetime, window: float) -> GaugeHistogramMetricFamily:
    """Ready (the try's ``scheduled`` timeline entry) to running (the try's start)."""
    by_queue: dict[str, list[float]] = defaultdict(list)
    for start in figures.try_starts(conn, cutoff):
        # Clocks of different machines: a negative delay is a skew, not a time machine.
        delay = (start.started_at - start.ready_at).total_seconds()
        by_queue[start.queue].append(max(delay, 0.0))
    family = GaugeHistogramMetricFamily(
        "conveyor_scheduling_delay_seconds",
        f"Ready to running, for the tries that started in the last {window:g}s, by queue",
        labels=["queue"],
    )
    for queue_name, values in sorted(by_queue.items()):
        family.add_metric([queue_name], *_buckets(values, DELAY_BUCKETS))
    return family


def _buckets(
    values: list[float], bounds: tuple[float, ...]
) -> tuple[list[tuple[str, float]], float]:
    """Cumulative bucket counts (ending with +Inf) and the sum, for a gauge histogram."""
    buckets = [(_le(bound), float(sum(1 for v in values if v <= bound))) for bound in bounds]
    buckets.append(("+Inf", float(len(values))))
    return buckets, math.fsum(values)


def _le(bound: float) -> str:
    return str(float(bound))


# -- mounting and serving ---------------------------------------------------------------------


def registry_for(store: Store, settings: Settings) -> CollectorRegistry:
    """The store's metrics and this process's own (memory, CPU, garbage collector)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, settings))
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def mount_metrics(app: FastAPI, settings: Settings) -> None:
    """Add ``GET /metrics`` (Prometheus text format, no login) to the web app."""
    from fastapi import Response

    store = getattr(app.state, "store", None) or Store(settings.db_url)
    registry = registry_for(store, settings)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def serve_process_metrics(settings: Settings) -> int | None:
    """Serve this process's metrics on ``metrics_port`` (a daemon thread); the port or None."""
    if settings.metrics_port is None:
        return None
    try:
        start_http_server(settings.metrics_port)
    except OSError as exc:
        raise ConfigError(f"metrics_port {settings.metrics_port}: cannot listen: {exc}") from exc
    log.info("serving Prometheus metrics on port %s", settings.metrics_port)
    return settings.metrics_port


def instrument_scheduler(scheduler_: Any, settings: Settings) -> None:
    """Time every loop of ``scheduler_`` and serve the figures when ``metrics_port`` is set."""
    if serve_process_metrics(settings) is None:
        return
    step = scheduler_.step

    def timed_step(*args: Any, **kwargs: Any) -> None:
        with SCHEDULER_LOOP.time():
            step(*args, **kwargs)

    # The instance's step wraps the class's: the loop itself stays untouched.
    scheduler_.step = timed_step
