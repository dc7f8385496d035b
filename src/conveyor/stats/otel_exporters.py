"""Where OpenTelemetry's metrics and spans go, chosen as Airflow 3.3 chooses it.

The OpenTelemetry variables come first, then Airflow's ``[metrics]`` and ``[traces]`` host
and port, so a collector set up for an Airflow receives from Conveyor unchanged:

- spans leave by the exporter ``OTEL_TRACES_EXPORTER`` names among those installed
  (``otlp``, Airflow's default, is OTLP over gRPC; ``otlp_proto_http``, ``console``); unless
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, an OTLP
  exporter is pointed at ``[traces]``'s ``http(s)://host:port/v1/traces``;
- metrics leave by the exporter the variables set up when one of
  ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` and ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (gRPC when
  ``OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL`` is ``grpc``), else over OTLP/HTTP to
  ``[metrics]``'s ``http(s)://host:port/v1/metrics``; ``OTEL_SERVICE_NAME`` and
  ``OTEL_METRIC_EXPORT_INTERVAL`` win over ``otel_service`` and the interval setting.

Imported only when ``otel_on`` or ``traces_otel_on`` is set (it needs conveyor[otel]).
"""

from __future__ import annotations

import inspect
import os
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.install_hint import pip_install

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.trace.export import SpanExporter

#: Airflow's exporter when ``OTEL_TRACES_EXPORTER`` is not set: OTLP over gRPC.
DEFAULT_TRACES_EXPORTER = "otlp"
_TRACES_GROUP = "opentelemetry_traces_exporter"


def _env(*names: str) -> str | None:
    """The first of the variables ``names`` that is set and not empty."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _url(ssl: bool, host: str, port: int, path: str) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL's authority
    return f"{'https' if ssl else 'http'}://{host}:{port}{path}"


def traces_endpoint(settings: Settings) -> str | None:
    """``[traces]``'s collector, unless the OpenTelemetry variables name one (None then:
    the exporter reads them)."""
    if _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    return _url(
        settings.traces_otel_ssl_active,
        settings.traces_otel_host,
        settings.traces_otel_port,
        "/v1/traces",
    )


def traces_exporter_name() -> str:
    return os.environ.get("OTEL_TRACES_EXPORTER") or DEFAULT_TRACES_EXPORTER


def span_exporter(settings: Settings) -> SpanExporter:
    """The exporter ``OTEL_TRACES_EXPORTER`` names, pointed at ``[traces]``'s collector
    where the variables name none."""
    name = traces_exporter_name()
    found = entry_points(group=_TRACES_GROUP, name=name)
    if not found:
        installed = sorted(e.name for e in entry_points(group=_TRACES_GROUP))
        raise ConfigError(
            f"OTEL_TRACES_EXPORTER={name!r} names no installed span exporter "
            f"(installed: {', '.join(installed) or 'none'}); the OTLP exporters come with "
            f"{pip_install('otel')}"
        )
    exporter_class = next(iter(found)).load()
    endpoint = traces_endpoint(settings)
    # Airflow hands [traces]'s endpoint over through the environment; an exporter that
    # takes no endpoint (console) ignores it there, as here.
    takes_endpoint = "endpoint" in inspect.signature(exporter_class).parameters
    kwargs = {"endpoint": endpoint} if endpoint and takes_endpoint else {}
    exported: SpanExporter = exporter_class(**kwargs)
    return exported


def metric_exporter(settings: Settings) -> tuple[MetricExporter, str]:
    """The metrics' exporter and where it sends, for ``otel_on``."""
    env_endpoint = _env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    protocol = _env("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    exporter_class: Any
    if env_endpoint and protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as exporter_class,
        )
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as exporter_class,
        )
    if env_endpoint:
        return exporter_class(), env_endpoint  # the SDK reads every variable itself
    endpoint = _url(settings.otel_ssl_active, settings.otel_host, settings.otel_port, "/v1/metrics")
    return exporter_class(endpoint=endpoint), endpoint


def metrics_service(settings: Settings) -> str:
    return os.environ.get("OTEL_SERVICE_NAME") or settings.otel_service or "airflow"


def metrics_interval_millis(settings: Settings) -> float:
    interval = os.environ.get("OTEL_METRIC_EXPORT_INTERVAL")
    return float(interval) if interval else float(settings.otel_interval_milliseconds)


def metrics_to_console(settings: Settings) -> bool:
    """``OTEL_METRICS_EXPORTER=console`` when set, else ``otel_debugging_on``."""
    named = os.environ.get("OTEL_METRICS_EXPORTER")
    if named:
        return named == "console"
    return settings.otel_debugging_on
