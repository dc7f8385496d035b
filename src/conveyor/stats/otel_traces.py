"""The spans of DAG runs and task tries, with the official OpenTelemetry SDK (conveyor[otel]),
by the exporter ``otel_exporters`` chooses (OTLP over gRPC unless ``OTEL_TRACES_EXPORTER``
names another, as Airflow's); imported only when ``traces_otel_on`` is set.

One ``TracerProvider`` a process, made global as Airflow's is, so that spans a task's own
code makes nest under its try's ``worker`` span and leave by the same exporter. Spans are
batched by the SDK's thread; a try's process flushes them when the try ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.install_hint import pip_install
from conveyor.stats import otel_exporters

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    from opentelemetry.sdk.trace.sampling import Decision
    from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags
except ImportError as exc:
    raise ConfigError(
        f"traces_otel_on needs the OpenTelemetry SDK and exporter ({exc.name} is missing): "
        f"{pip_install('otel')}"
    ) from exc

#: (trace id, span id) the next span is made with: a span whose ids every process derives.
_chosen: ContextVar[tuple[int, int] | None] = ContextVar("conveyor_span_ids", default=None)


class _ChosenIds(RandomIdGenerator):
    def generate_trace_id(self) -> int:
        chosen = _chosen.get()
        return chosen[0] if chosen else super().generate_trace_id()

    def generate_span_id(self) -> int:
        chosen = _chosen.get()
        return chosen[1] if chosen else super().generate_span_id()


def _nanos(when: datetime) -> int:
    return int(when.timestamp() * 1e9)


def _resource(settings: Settings) -> Resource:
    if os.environ.get("OTEL_SERVICE_NAME") or os.environ.get("OTEL_RESOURCE_ATTRIBUTES"):
        return Resource.create()  # the SDK's variables name the service
    return Resource.create({"service.name": settings.traces_otel_service})


class OtelTracer:
    def __init__(self, settings: Settings) -> None:
        endpoint = otel_exporters.traces_endpoint(settings) or "at OTEL_EXPORTER_OTLP_*ENDPOINT"
        self.where = f"OpenTelemetry ({otel_exporters.traces_exporter_name()}) {endpoint}"
        exporter = otel_exporters.span_exporter(settings)
        self.exporter_module = type(exporter).__module__
        self.provider = TracerProvider(id_generator=_ChosenIds(), resource=_resource(settings))
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        if settings.traces_otel_debugging_on:
            self.provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        self.tracer = self.provider.get_tracer("conveyor")
        self.flush_millis = settings.traces_task_runner_flush_timeout_milliseconds
        # As Airflow's: the task's own spans (the API's global tracer) go by this provider.
        # Once a process; a second provider (a test that reconfigures) keeps the first.
        if not isinstance(trace.get_tracer_provider(), TracerProvider):
            trace.set_tracer_provider(self.provider)

    def sampled(self, trace_id: int, attributes: Mapping[str, Any]) -> bool:
        """The root decision for a run's trace, as each process makes it again: the
        configured sampler (``OTEL_TRACES_SAMPLER``) on the run's trace id."""
        result = self.provider.sampler.should_sample(
            None, trace_id, "dag_run", attributes=dict(attributes)
        )
        return result.decision is Decision.RECORD_AND_SAMPLE

    def _parent(self, trace_id: int, span_id: int, sampled: bool) -> otel_context.Context:
        flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
        parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
        return trace.set_span_in_context(NonRecordingSpan(parent))

    def finished_span(
        self,
        name: str,
        ids: tuple[int, int],
        parent: tuple[int, int] | None,
        start: datetime,
        end: datetime | None,
        attributes: Mapping[str, Any],
        ok: bool,
    ) -> None:
        """A span made whole at its end, with the ids every process derives (the run's
        root span, a task instance's span under it)."""
        trace_id = ids[0]
        sampled = self.sampled(trace_id, attributes)
        if not sampled:
            return
        context = self._parent(trace_id, parent[1], sampled) if parent else otel_context.Context()
        token = _chosen.set(ids)
        try:
            span = self.tracer.start_span(
                name, context=context, start_time=_nanos(start), attributes=dict(attributes)
            )
        finally:
            _chosen.reset(token)
        span.set_status(StatusCode.OK if ok else StatusCode.ERROR)
        span.end(end_time=_nanos(end) if end else None)

    @contextmanager
    def current_span(
        self, name: str, parent: tuple[int, int], attributes: Mapping[str, Any]
    ) -> Iterator[Callable[[], None]]:
        """A span of this process's work, current while it runs (the try's ``worker``, a
        trigger's); what it yields marks the span OK."""
        trace_id, parent_id = parent
        context = self._parent(trace_id, parent_id, self.sampled(trace_id, attributes))
        with self.tracer.start_as_current_span(
            name,
            context=context,
            attributes=dict(attributes),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield lambda: span.set_status(Status(StatusCode.OK))
            except BaseException as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"Exception: {type(exc).__name__}"))
                raise

    def flush(self) -> None:
        self.provider.force_flush(timeout_millis=self.flush_millis)

    def close(self) -> None:
        self.provider.shutdown()
