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
from datetime import timedelta
from typing import Any

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
from sqlalchemy import Connection, and_, func, select

from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.states import RunState, TaskState
from conveyor.store.engine import Store
from conveyor.store.tables import (
    dag_run,
    scheduler,
    task_event,
    task_instance,
    task_try,
    worker,
)

log = logging.getLogger(__name__)

DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600)
DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LOOP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
#: Try states: a try is running, or ended as one of these.
TRY_STATES = ("running", "success", "failed", "up_for_retry", "up_for_reschedule", "skipped")

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
            conn,
            dag_run.c.state,
            [s.value for s in RunState],
            "conveyor_dag_runs",
            "DAG runs in the store, by state",
        )
        yield _by_state(
            conn,
            task_instance.c.state,
            [s.value for s in TaskState],
            "conveyor_task_instances",
            "Task instances in the store, by state",
        )
        yield _by_state(conn, task_try.c.state, TRY_STATES, "conveyor_task_tries", "Tries by state")
        yield _queue_depth(conn)
        yield from _heartbeats(conn)
        cutoff = utcnow() - self.window
        yield _durations(conn, cutoff, self.window.total_seconds())
        yield _delays(conn, cutoff, self.window.total_seconds())


def _by_state(
    conn: Connection, column: Any, states: Iterable[str], name: str, doc: str
) -> GaugeMetricFamily:
    counts = dict.fromkeys(states, 0)
    for state, count in conn.execute(select(column, func.count()).group_by(column)):
        counts[state] = count
    family = GaugeMetricFamily(name, doc, labels=["state"])
    for state, count in counts.items():
        family.add_metric([state], count)
    return family


def _queue_depth(conn: Connection) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "conveyor_queue_depth", "Tries queued and not yet started, by queue", labels=["queue"]
    )
    rows = conn.execute(
        select(task_instance.c.queue, func.count())
        .where(task_instance.c.state == TaskState.QUEUED.value)
        .group_by(task_instance.c.queue)
    )
    for queue_name, count in rows:
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
    for row in conn.execute(
        select(worker.c.hostname, worker.c.heartbeat_at, worker.c.running).where(
            worker.c.stopped_at.is_(None)
        )
    ):
        workers.add_metric([row.hostname], (now - row.heartbeat_at).total_seconds())
        running.add_metric([row.hostname], len(row.running or []))
    schedulers = GaugeMetricFamily(
        "conveyor_scheduler_heartbeat_age_seconds",
        "Seconds since each running scheduler's last heartbeat",
        labels=["scheduler", "hostname"],
    )
    for row in conn.execute(
        select(scheduler.c.id, scheduler.c.hostname, scheduler.c.heartbeat_at).where(
            scheduler.c.stopped_at.is_(None)
        )
    ):
        schedulers.add_metric([row.id, row.hostname], (now - row.heartbeat_at).total_seconds())
    yield workers
    yield running
    yield schedulers


def _durations(conn: Connection, cutoff: Any, window: float) -> GaugeHistogramMetricFamily:
    rows = conn.execute(
        select(task_instance.c.dag_id, task_try.c.duration)
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .where(task_try.c.start_date >= cutoff, task_try.c.duration.is_not(None))
    )
    by_dag: dict[str, list[float]] = defaultdict(list)
    for dag_id, duration in rows:
        by_dag[dag_id].append(float(duration))
    family = GaugeHistogramMetricFamily(
        "conveyor_task_duration_seconds",
        f"Duration of the tries that started in the last {window:g}s and ended, by DAG",
        labels=["dag_id"],
    )
    for dag_id, values in sorted(by_dag.items()):
        family.add_metric([dag_id], *_buckets(values, DURATION_BUCKETS))
    return family


def _delays(conn: Connection, cutoff: Any, window: float) -> GaugeHistogramMetricFamily:
    """Ready (the try's ``scheduled`` timeline entry) to running (the try's start)."""
    ready = (
        select(
            task_event.c.ti_id,
            task_event.c.try_number,
            func.min(task_event.c.at).label("ready_at"),
        )
        .where(task_event.c.kind == "scheduled", task_event.c.at >= cutoff - timedelta(days=1))
        .group_by(task_event.c.ti_id, task_event.c.try_number)
        .subquery()
    )
    rows = conn.execute(
        select(task_instance.c.queue, task_try.c.start_date, ready.c.ready_at)
        .join(task_instance, task_instance.c.id == task_try.c.ti_id)
        .join(
            ready,
            and_(ready.c.ti_id == task_try.c.ti_id, ready.c.try_number == task_try.c.try_number),
        )
        .where(task_try.c.start_date >= cutoff)
    )
    by_queue: dict[str, list[float]] = defaultdict(list)
    for queue_name, start, ready_at in rows:
        # Clocks of different machines: a negative delay is a skew, not a time machine.
        by_queue[queue_name].append(max((start - ready_at).total_seconds(), 0.0))
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


def mount_metrics(app: Any, settings: Settings) -> None:
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
