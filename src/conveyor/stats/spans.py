"""The spans of a DAG run and its task tries, by Airflow 3's names, to OpenTelemetry.

As Airflow emits them (``[traces] otel_on``), one trace a run:

- ``dag_run.<dag_id>``: the root, made when the run ends, from its queueing to its end, by
  the process that ended it (the scheduler, or the worker whose try's record ended it);
- ``task_run.<task_id>`` (``[<map_index>]`` for a mapped instance): a child of the root,
  made when a try's end is recorded (not when it waits: deferred, rescheduled, awaiting
  input), from the instance's queueing to the end, by the process that recorded it;
- ``worker.<task_id>``: a child of its instance's ``task_run`` span, around the try in the
  process that runs it; the spans the task's own code makes nest under it;
- ``trigger.<task_id>`` (``_<map_index>`` for a mapped instance, as Airflow writes it): a
  child of its instance's ``task_run`` span, around a deferred try's trigger in the
  triggerer, OK when it fires.

The ids come from ``trace_ids``, so the processes agree without passing a carrier. With
``traces_otel_on`` off, nothing of OpenTelemetry is imported and every call returns at once.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conveyor._processes import preload_also
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.stats import trace_ids

if TYPE_CHECKING:
    from conveyor.stats.otel_traces import OtelTracer

log = logging.getLogger(__name__)

_tracer: OtelTracer | None = None
_configured: tuple[object, ...] | None = None
_configuring = threading.Lock()


def _key(settings: Settings) -> tuple[object, ...]:
    fields = type(settings).model_fields
    return tuple(getattr(settings, name) for name in fields if name.startswith("traces_"))


def configure(settings: Settings) -> None:
    """Open the exporter ``traces_otel_on`` asks for, once a process (again when the
    settings change, as in a test)."""
    global _tracer, _configured
    key = _key(settings)
    with _configuring:
        if key == _configured:
            return
        close()
        _configured = key
        if settings.traces_otel_on:
            from conveyor.stats.otel_traces import OtelTracer

            _tracer = OtelTracer(settings)
            # Each try's runner sends a span: its fork server imports the SDK and the chosen
            # exporter (its protocol's client) once for all.
            preload_also("conveyor.stats.otel_traces", _tracer.exporter_module)
            atexit.register(close)
            log.info("sending DAG run and task spans to %s", _tracer.where)


#: A run's conf key by which Airflow's finer spans of a try are asked for (above 1).
DETAIL_LEVEL_KEY = "airflow/task_span_detail_level"


def finer_detail_refused(conf: Mapping[str, Any] | None) -> str | None:
    """What a try's log says when its run's conf asks for spans Conveyor does not make: a
    ``task_span_detail_level`` above 1 (Airflow's listener and task-runner step spans), or
    one that is not a number (Airflow warns of it and keeps level 1)."""
    raw = (conf or {}).get(DETAIL_LEVEL_KEY)
    if raw is None:
        return None
    try:
        level = int(raw)
    except (TypeError, ValueError):
        return f"{DETAIL_LEVEL_KEY} in the DAG run's conf must be an integer ({raw!r}): level 1"
    if level <= 1:
        return None
    return (
        f"the DAG run's conf asks for {DETAIL_LEVEL_KEY}={level}: Conveyor sends this try's "
        "task_run and worker spans (level 1), not the finer spans of its steps and listeners"
    )


def on() -> bool:
    return _tracer is not None


def close() -> None:
    """Export what is held, and stop."""
    global _tracer, _configured
    tracer, _tracer, _configured = _tracer, None, None
    if tracer is not None:
        tracer.close()


def flush() -> None:
    """Export what is held now, waiting at most ``traces_task_runner_flush_timeout_milliseconds``
    (a try's process, once the try is recorded)."""
    if _tracer is not None:
        try:
            _tracer.flush()
        except Exception:  # a span must never fail what it measures
            log.exception("spans could not be flushed")


@dataclass(frozen=True)
class RunSpan:
    """A run as its trace knows it."""

    dag_id: str
    run_id: str
    run_type: str
    started: datetime | None  # the run's start_date: it names the trace
    queued_at: datetime | None = None
    end_date: datetime | None = None
    logical_date: datetime | None = None
    partition_key: str | None = None

    @property
    def trace_id(self) -> int:
        return trace_ids.run_trace_id(self.dag_id, self.run_id, self.started)

    def attributes(self) -> dict[str, str]:
        found = {
            "airflow.dag_id": self.dag_id,
            "airflow.dag_run.run_id": self.run_id,
            "airflow.dag_run.run_type": self.run_type,
        }
        for name, value in (
            ("start_date", self.started),
            ("end_date", self.end_date),
            ("queued_at", self.queued_at),
            ("logical_date", self.logical_date),
            ("partition_key", self.partition_key),
        ):
            if value is not None:
                found[f"airflow.dag_run.{name}"] = str(value)
        return found


@dataclass(frozen=True)
class TrySpan:
    """A try as its spans name it."""

    run: RunSpan
    ti_id: int
    task_id: str
    map_index: int
    try_number: int  # as Airflow numbers it
    queued_at: datetime | None
    start_date: datetime

    @property
    def span_id(self) -> int:
        return trace_ids.task_span_id(self.run.trace_id, self.task_id, self.map_index)

    def name(self, kind: str) -> str:
        index = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{kind}.{self.task_id}{index}"

    def attributes(self) -> dict[str, str | int]:
        return {
            "airflow.dag_id": self.run.dag_id,
            "airflow.task_id": self.task_id,
            "airflow.dag_run.run_id": self.run.run_id,
            "airflow.task_instance.try_number": self.try_number,
            "airflow.task_instance.map_index": self.map_index,
        }


def run_ended(run: RunSpan, state: str) -> None:
    """The run's ``dag_run`` span: it ended as ``state`` (success or failed)."""
    tracer = _tracer
    if tracer is None:
        return
    trace_id = run.trace_id
    start = run.queued_at or run.started or utcnow()
    try:
        tracer.finished_span(
            f"dag_run.{run.dag_id}",
            (trace_id, trace_ids.run_span_id(trace_id)),
            None,
            start,
            run.end_date,
            run.attributes(),
            ok=state == "success",
        )
    except Exception:
        log.exception("the span of run %s of DAG %s could not be made", run.run_id, run.dag_id)


def try_ended(span: TrySpan, state: str) -> None:
    """The instance's ``task_run`` span: its try's end was recorded as ``state``."""
    tracer = _tracer
    if tracer is None:
        return
    trace_id = span.run.trace_id
    attributes: dict[str, str | int] = {
        **span.attributes(),
        "airflow.task_instance.state": state,
        "airflow.task_instance.id": str(span.ti_id),
    }
    start = min(t for t in (span.queued_at, span.start_date) if t is not None)
    try:
        tracer.finished_span(
            span.name("task_run"),
            (trace_id, span.span_id),
            (trace_id, trace_ids.run_span_id(trace_id)),
            start,
            None,
            attributes,
            ok=state == "success",
        )
    except Exception:
        log.exception("the span of task %s could not be made", span.task_id)


@contextmanager
def worker(span: TrySpan | None) -> Iterator[None]:
    """The try's ``worker`` span around the block that runs it (None: no span)."""
    tracer = _tracer
    if tracer is None or span is None:
        yield
        return
    parent = (span.run.trace_id, span.span_id)
    with tracer.current_span(span.name("worker"), parent, span.attributes()):
        yield


@contextmanager
def trigger(span: TrySpan | None, trigger_id: int) -> Iterator[Callable[[], None]]:
    """The ``trigger`` span of a deferred try around its trigger's run (None: no span);
    what it yields is called when the trigger fires (the span's status: OK)."""
    tracer = _tracer
    if tracer is None or span is None:
        yield lambda: None
        return
    index = f"_{span.map_index}" if span.map_index >= 0 else ""
    run = span.run
    name = (
        f"{run.dag_id}/{run.run_id}/{span.task_id}/{span.map_index}/{span.try_number} "
        f"(ID {trigger_id})"
    )
    attributes: dict[str, str | int] = {"airflow.trigger.name": name, **span.attributes()}
    parent = (run.trace_id, span.span_id)
    with tracer.current_span(f"trigger.{span.task_id}{index}", parent, attributes) as fired:
        yield fired
