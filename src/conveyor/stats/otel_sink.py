"""OpenTelemetry metrics, with the official SDK and exporter (conveyor[otel]), sent where
``otel_exporters`` says (OTLP/HTTP to ``[metrics]``'s collector by default).

Each of Airflow's names is an instrument of its own, made at its first use: a counter, a
gauge (the SDK's synchronous gauge: the last value set), or a histogram of milliseconds for
a timer, aggregated in exponential buckets as Airflow's are; a metric's tags are its
attributes. Names carry ``otel_prefix`` (``airflow`` when it is empty, as in Airflow). The
SDK gathers in memory and a thread of its own exports every ``otel_interval_milliseconds``,
so sending costs the caller no I/O; what is left is exported when the process ends
(``emit`` closes the sink then), and the SDK starts its thread again in a forked child.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.install_hint import pip_install


class OtelSink:
    def __init__(self, settings: Settings) -> None:
        try:
            from opentelemetry import metrics
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import (
                ConsoleMetricExporter,
                MetricReader,
                PeriodicExportingMetricReader,
            )
            from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
            from opentelemetry.sdk.resources import SERVICE_NAME, Resource

            from conveyor.stats import otel_exporters

            exporter, self.where = otel_exporters.metric_exporter(settings)
        except ImportError as exc:
            raise ConfigError(
                f"otel_on needs the OpenTelemetry SDK and exporter ({exc.name} is missing): "
                f"{pip_install('otel')}"
            ) from exc
        self.where = f"OpenTelemetry {self.where}"
        self.exporter_module = type(exporter).__module__
        interval = otel_exporters.metrics_interval_millis(settings)
        readers: list[MetricReader] = [
            PeriodicExportingMetricReader(exporter, export_interval_millis=interval)
        ]
        if otel_exporters.metrics_to_console(settings):
            readers.append(
                PeriodicExportingMetricReader(
                    ConsoleMetricExporter(), export_interval_millis=interval
                )
            )
        service = otel_exporters.metrics_service(settings)
        self.provider = MeterProvider(
            metric_readers=readers,
            resource=Resource.create({SERVICE_NAME: service}),
            views=[
                View(
                    instrument_type=metrics.Histogram,
                    aggregation=ExponentialBucketHistogramAggregation(),
                )
            ],
            shutdown_on_exit=False,  # emit closes it, in multiprocessing children too
        )
        self.meter = self.provider.get_meter("conveyor")
        self.prefix = f"{settings.otel_prefix or 'airflow'}."
        self._instruments: dict[tuple[str, str], Any] = {}

    def send(self, kind: str, name: str, value: float, tags: Mapping[str, str]) -> None:
        instrument = self._instruments.get((kind, name))
        if instrument is None:
            instrument = self._instruments[kind, name] = self._make(kind, self.prefix + name)
        attributes = dict(tags) if tags else None
        if kind == "c":
            instrument.add(value, attributes=attributes)
        elif kind == "g":
            instrument.set(value, attributes=attributes)
        else:
            instrument.record(value, attributes=attributes)

    def _make(self, kind: str, name: str) -> Any:
        if kind == "c":
            return self.meter.create_counter(name)
        if kind == "g":
            return self.meter.create_gauge(name)
        return self.meter.create_histogram(name, unit="ms")

    def flush(self) -> None:
        """Export what was gathered now (tests, and a process about to end)."""
        self.provider.force_flush()

    def close(self) -> None:
        self.provider.shutdown()
