"""The process's sinks, and the three sends every metric is one of.

``configure`` opens what the settings ask for, once per process (again only when the
metrics settings change, as in a test); a forked child keeps its parent's sinks (a UDP
socket and the OpenTelemetry SDK both survive a fork). With no sink, a send returns at once.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

from conveyor._processes import preload_also
from conveyor.config import Settings
from conveyor.stats.legacy_names import legacy_of
from conveyor.stats.names import NameFilter

log = logging.getLogger(__name__)

COUNTER, GAUGE, TIMER = "c", "g", "ms"
_NO_TAGS: Mapping[str, str] = {}


class Sink(Protocol):
    where: str  # for the log: what it sends to

    def send(self, kind: str, name: str, value: float, tags: Mapping[str, str]) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Holding(Protocol):
    """A sink that can keep what is sent until the block that sends it ends."""

    def hold(self) -> None: ...

    def release(self) -> None: ...


_sinks: tuple[Sink, ...] = ()
_holding: tuple[Holding, ...] = ()  # those of the sinks that can
_filter = NameFilter()
_legacy_names = True  # [metrics] legacy_names_on
_configured: tuple[object, ...] | None = None
_configuring = threading.RLock()


def _key(settings: Settings) -> tuple[object, ...]:
    return tuple(
        getattr(settings, name)
        for name in type(settings).model_fields
        if name.startswith(("statsd_", "otel_", "metrics_allow", "metrics_block", "legacy_names"))
    )


def configure(settings: Settings) -> None:
    """Open the sinks ``statsd_on`` and ``otel_on`` ask for (none: sending costs nothing)."""
    key = _key(settings)
    with _configuring:  # the triggerer beside a scheduler configures from its own thread
        if key != _configured:
            _open(settings, key)


def _open(settings: Settings, key: tuple[object, ...]) -> None:
    global _sinks, _holding, _filter, _legacy_names, _configured
    close()
    sinks: list[Sink] = []
    if settings.statsd_on:
        from conveyor.stats.statsd_sink import StatsdSink

        sinks.append(StatsdSink(settings))
    if settings.otel_on:
        from conveyor.stats.otel_sink import OtelSink

        otel = OtelSink(settings)
        sinks.append(otel)
        # Each try's runner sends its metrics: its fork server imports the SDK and the
        # exporter once for all.
        preload_also("opentelemetry.sdk.metrics", otel.exporter_module)
    _filter = NameFilter(settings.metrics_allow_list, settings.metrics_block_list)
    _legacy_names = settings.legacy_names_on
    _sinks, _configured = tuple(sinks), key
    _holding = tuple(sink for sink in sinks if isinstance(sink, Holding))
    if sinks:
        _close_at_exit()
        log.info("sending Airflow's metrics to %s", " and ".join(s.where for s in sinks))


_exit_hooked: int | None = None  # the process whose end closes the sinks


def _close_at_exit() -> None:
    """Close the sinks when this process ends, so that what OpenTelemetry gathered since its
    last export goes out: at a normal exit, and at the end of a multiprocessing child (a
    local runner, a parse), which ends with ``os._exit`` and runs no ``atexit`` hook."""
    global _exit_hooked
    if _exit_hooked == os.getpid():
        return
    _exit_hooked = os.getpid()
    atexit.register(close)
    multiprocessing.util.Finalize(None, close, exitpriority=10)


def close() -> None:
    """Close the sinks (the OpenTelemetry SDK exports what it holds first)."""
    global _sinks, _holding, _configured
    with _configuring:
        sinks, _sinks, _holding, _configured = _sinks, (), (), None
    for sink in sinks:
        sink.close()


def flush() -> None:
    """Export now what a sink gathers between exports (OpenTelemetry's)."""
    for sink in _sinks:
        flushing = getattr(sink, "flush", None)
        if flushing is not None:
            flushing()


@contextmanager
def together() -> Iterator[None]:
    """The metrics sent in this block leave in as few datagrams as they fit (StatsD's); the
    other sinks send as they always do."""
    holding = _holding
    for sink in holding:
        sink.hold()
    try:
        yield
    finally:
        for sink in holding:
            sink.release()


def on() -> bool:
    """Whether anything is sent: callers skip gathering a figure that no one receives."""
    return bool(_sinks)


def send(kind: str, name: str, value: float, tags: Mapping[str, str] = _NO_TAGS) -> None:
    """``name`` with its tags, after its legacy name (``legacy_names.py``) when it has one."""
    if not _sinks:
        return
    if _legacy_names and (legacy := legacy_of(name, tags)) is not None:
        _send(kind, legacy[0], value, legacy[1])
    _send(kind, name, value, tags)


def _send(kind: str, name: str, value: float, tags: Mapping[str, str]) -> None:
    if not _filter.allows(name):
        return
    for sink in _sinks:
        try:
            sink.send(kind, name, value, tags)
        except Exception:  # a metric must never fail what it measures
            log.exception("metric %s could not be sent", name)


def incr(name: str, tags: Mapping[str, str] = _NO_TAGS, count: int = 1) -> None:
    send(COUNTER, name, count, tags)


def gauge(name: str, value: float, tags: Mapping[str, str] = _NO_TAGS) -> None:
    send(GAUGE, name, value, tags)


def timing(name: str, milliseconds: float, tags: Mapping[str, str] = _NO_TAGS) -> None:
    send(TIMER, name, milliseconds, tags)
