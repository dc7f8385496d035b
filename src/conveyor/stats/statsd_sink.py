"""StatsD and DogStatsD over UDP: datagrams never waited for.

Plain UDP rather than a client library: the protocol is one line per metric (``name:1|c``,
``name:5|g``, ``name:12.5|ms``, and DogStatsD's ``|#tag:value,...`` after it), and what the
hop needs is exactly what a library would have to be checked for: the address resolved
once at start (no DNS per packet), a non-blocking socket whose send never waits, and no
error raised into the caller (a metric lost is better than a try held up). The metrics one
fact sends together (a try's end: seven) leave in one datagram, a line each, where they fit:
each ``sendto`` costs a system call, and on a busy machine about ten microseconds.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
from collections.abc import Mapping
from typing import Any

from conveyor.config import Settings
from conveyor.exceptions import ConfigError

log = logging.getLogger(__name__)

#: The largest datagram sent: what fits an Ethernet frame's payload (DogStatsD's advice for
#: UDP; StatsD daemons read several metrics of a datagram, one a line).
MAX_DATAGRAM = 1432


def _tag_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def number(value: float) -> str:
    """A value as StatsD reads it: whole numbers without a point, others to the microsecond."""
    if type(value) is int:  # counts: the common case, without a float's formatting
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _resolve(settings: Settings) -> tuple[socket.AddressFamily, int, int, Any]:
    """statsd_host's address, once: its IPv4 one when it has one (``statsd_ipv6``: IPv6)."""
    family = socket.AF_INET6 if settings.statsd_ipv6 else socket.AF_INET
    try:
        found = socket.getaddrinfo(
            settings.statsd_host, settings.statsd_port, type=socket.SOCK_DGRAM
        )
    except OSError as exc:
        raise ConfigError(f"statsd_host {settings.statsd_host!r}: cannot resolve: {exc}") from exc
    chosen = next((entry for entry in found if entry[0] == family), found[0])
    return chosen[0], chosen[1], chosen[2], chosen[4]


class StatsdSink:
    """Sends to ``statsd_host:statsd_port``; with ``statsd_datadog_enabled``, DogStatsD's
    tags: the metric's own (unless ``statsd_datadog_metrics_tags`` is off, less those named
    in ``statsd_disabled_tags``) and ``statsd_datadog_tags``."""

    def __init__(self, settings: Settings) -> None:
        family, kind, proto, address = _resolve(settings)
        self.address = address
        self.where = f"{'DogStatsD' if settings.statsd_datadog_enabled else 'StatsD'} {address}"
        self.sock = socket.socket(family, kind, proto)
        self.sock.setblocking(False)
        self.prefix = f"{settings.statsd_prefix}." if settings.statsd_prefix else ""
        self.datadog = settings.statsd_datadog_enabled
        self.metric_tags = settings.statsd_datadog_metrics_tags
        self.disabled = frozenset(_tag_list(settings.statsd_disabled_tags))
        self.constant = _tag_list(settings.statsd_datadog_tags)
        self._held = threading.local()  # per thread: what hold() keeps until release()

    def send(self, kind: str, name: str, value: float, tags: Mapping[str, str]) -> None:
        if not math.isfinite(value):
            return
        lines = [f"{self.prefix}{name}:{number(value)}|{kind}"]
        if kind == "g" and value < 0 and not self.datadog:
            # Plain StatsD reads a signed gauge as a change: set 0 first, then go below it.
            lines.insert(0, f"{self.prefix}{name}:0|g")
        if self.datadog:
            found = [f"{k}:{v}" for k, v in tags.items() if k not in self.disabled]
            found = [*(found if self.metric_tags else ()), *self.constant]
            if found:
                lines[-1] += "|#" + ",".join(found)
        held = self._held.lines if getattr(self._held, "depth", 0) else None
        if held is not None:
            held.extend(lines)
        else:
            self._send_lines(lines)

    def hold(self) -> None:
        """Keep what this thread sends until :meth:`release`: then as few datagrams as fit."""
        depth = getattr(self._held, "depth", 0)
        if depth == 0:
            self._held.lines = []
        self._held.depth = depth + 1

    def release(self) -> None:
        self._held.depth -= 1
        if self._held.depth == 0:
            lines, self._held.lines = self._held.lines, []
            self._send_lines(lines)

    def _send_lines(self, lines: list[str]) -> None:
        """One line per metric, as many to a datagram as fit in :data:`MAX_DATAGRAM`."""
        packet = b""
        for line in lines:
            data = line.encode()
            if packet and len(packet) + 1 + len(data) > MAX_DATAGRAM:
                self._send(packet)
                packet = data
            else:
                packet = packet + b"\n" + data if packet else data
        if packet:
            self._send(packet)

    def _send(self, packet: bytes) -> None:
        # A full buffer, nobody listening: the metric is lost, never the caller's work.
        with contextlib.suppress(OSError):
            self.sock.sendto(packet, self.address)

    def close(self) -> None:
        self.sock.close()
