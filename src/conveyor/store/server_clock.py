"""Keep this process's clock in step with the PostgreSQL server's (see ``conveyor.clock``).

Each pooled connection, when it is checked out and the last measure is older than
``REMEASURE_SECONDS``, asks the server for its clock and sets the offset to the server's
time minus the middle of the round trip (off by at most half a round trip). The first
checkout of a process measures at once, so no heartbeat is written on the host's own clock.
A SQLite store lives on this host: its clock is the host's.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import Engine, event

from conveyor import clock

log = logging.getLogger(__name__)

#: How often a process measures again: hosts drift by milliseconds per minute, not seconds.
REMEASURE_SECONDS = 30.0
#: An offset beyond this is worth a warning: the host's time service is not doing its job.
WARN_SECONDS = 2.0


class _Measures:
    """When this process last measured, and whether it already warned about its host."""

    def __init__(self) -> None:
        self.last = float("-inf")
        self.warned = False
        self.lock = threading.Lock()


_measures = _Measures()


def measure(dbapi_connection: Any) -> float:
    """Seconds the server's clock is ahead of this host's, measured on a raw connection."""
    cursor = dbapi_connection.cursor()
    try:
        sent = clock.host_time()
        cursor.execute("SELECT extract(epoch FROM clock_timestamp())")
        server = float(cursor.fetchone()[0])
        received = clock.host_time()
    finally:
        cursor.close()
        dbapi_connection.rollback()  # the SELECT opened a transaction; leave none behind
    return server - (sent + received) / 2


def forget_measure() -> None:
    """The next checkout measures again (a process that changes stores, and tests)."""
    _measures.last = float("-inf")


def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    now = time.monotonic()
    if now - _measures.last < REMEASURE_SECONDS or not _measures.lock.acquire(blocking=False):
        return
    try:
        try:
            offset = measure(dbapi_connection)
        except Exception:  # a broken connection: the caller's own query will say so
            log.debug("could not measure the store server's clock", exc_info=True)
            return
        _measures.last = now
        clock.set_offset(offset)
        if abs(offset) >= WARN_SECONDS and not _measures.warned:
            _measures.warned = True
            log.warning(
                "this host's clock is %.1f s %s the store's database server; Conveyor uses "
                "the server's time for heartbeats and timeouts, but fix the host's time "
                "service (NTP): logs and task code still read the host's clock",
                abs(offset),
                "behind" if offset > 0 else "ahead of",
            )
    finally:
        _measures.lock.release()


def follow_server_clock(engine: Engine) -> None:
    """Measure the offset on ``engine``'s connections (a PostgreSQL engine's)."""
    event.listen(engine, "checkout", _on_checkout)
