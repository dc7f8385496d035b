"""Sending events without ever holding up a task: a bounded queue, drained by one daemon
thread per process that hands each event to the OpenLineage client.

``submit`` never blocks: when the queue is full the event is dropped, counted and logged.
The thread sends one event at a time; a transport error is counted and logged, and the
next event goes. At the process's end (``close``: interpreter exit, a multiprocessing
child's end) what is still queued gets ``execution_timeout`` seconds to go; what is left
then is dropped and counted. A task's own time never includes any of it, and the thread
sends nothing while a try of its process is being started or recorded
(:mod:`conveyor.hot_path`), where its share of the interpreter's lock would delay the next task.

``conveyor_lineage_events_emitted_total{event_type}`` and
``conveyor_lineage_events_dropped_total{reason}`` (``queue_full``, ``transport_error``,
``shutdown``) are this process's counters: served on ``metrics_port`` by the scheduler and
the workers, as their other process metrics.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from multiprocessing import util as mp_util
from typing import Any

from prometheus_client import Counter

from conveyor import hot_path
from conveyor.stats import airflow as airflow_stats

log = logging.getLogger(__name__)

EMITTED = Counter(
    "conveyor_lineage_events_emitted",
    "OpenLineage events this process handed to its transport",
    ["event_type"],
)
DROPPED = Counter(
    "conveyor_lineage_events_dropped",
    "OpenLineage events this process did not send: the queue was full, the transport "
    "failed, or the process ended before they went",
    ["reason"],
)

_STOP = object()
#: Seconds an event waits at most for this process to be quiet (``hot_path``): a busy
#: process's events go in a batch this often, a burst's after it.
_HOP_WAIT = 2.0
#: A warning per this many drops of one reason, not one per event.
_WARN_EVERY = 100


class Emitter:
    """One process's queue of events and the thread that sends them."""

    def __init__(self, make_client: Callable[[], Any], queue_size: int, close_timeout: float):
        self._make_client = make_client
        self._close_timeout = close_timeout
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False  # no more submits
        self._abandoned = False  # what is still queued was counted as dropped: not sent
        self._drops: dict[str, int] = {}

    def alive(self) -> bool:
        """Not closed, and in the process that made it."""
        return not self._closed and os.getpid() == self._pid

    def submit(self, event: Any) -> bool:
        """Queue ``event`` for sending, or a function of no arguments that makes it (called
        by the sending thread); False (and counted) when it was dropped."""
        if self._closed or os.getpid() != self._pid:
            self._dropped("shutdown")
            return False
        self._start()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._dropped("queue_full")
            return False
        return True

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(
                    target=self._drain, name="conveyor-openlineage", daemon=True
                )
                thread.start()
                self._thread = thread

    def _drain(self) -> None:
        client = None
        unwaited = 0  # events that go without waiting: queued while a wait ran out
        while True:
            event = self._queue.get()
            # Not while a try of this process is in its hop: the next task would wait. Once a
            # wait runs out, what is queued goes, so a process always in a hop still sends.
            if unwaited:
                unwaited -= 1
            elif not hot_path.wait_for_quiet(_HOP_WAIT):
                unwaited = self._queue.qsize()
            try:
                if event is _STOP:
                    return
                if self._abandoned:  # counted as dropped when the process closed it
                    continue
                if callable(event):
                    event = _built(event)
                    if event is None:
                        continue
                if client is None:
                    client = self._make_client()
                _sent(client, event)
                EMITTED.labels(_event_type(event)).inc()
            except Exception as exc:
                self._dropped("transport_error", exc)
            finally:
                self._queue.task_done()

    def _dropped(self, reason: str, exc: BaseException | None = None) -> None:
        DROPPED.labels(reason).inc()
        count = self._drops[reason] = self._drops.get(reason, 0) + 1
        if count % _WARN_EVERY == 1:
            log.warning(
                "OpenLineage event dropped (%s; %d so far in this process)%s",
                reason,
                count,
                f": {exc}" if exc is not None else "",
            )

    def close(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` (the emitter's own by default) for the queued events to
        go, then drop and count the rest. Only in the process that made the emitter (a
        forked child inherits it, and must not wait for its parent's queue)."""
        if self._closed or os.getpid() != self._pid:
            return
        self._closed = True
        if self._thread is None:
            return
        limit = time.monotonic() + (self._close_timeout if timeout is None else timeout)
        waiting = self._queue.all_tasks_done
        with waiting:
            while self._queue.unfinished_tasks:
                left = limit - time.monotonic()
                if left <= 0:
                    break
                waiting.wait(left)
            left_over = self._queue.unfinished_tasks
            self._abandoned = bool(left_over)
        for _ in range(left_over):
            self._dropped("shutdown")
        if not left_over:
            self._queue.put_nowait(_STOP)


def _built(make: Callable[[], Any]) -> Any:
    """The event ``make`` builds, or None (logged) when it raises: as a hook's own error."""
    try:
        return make()
    except Exception:
        log.warning("OpenLineage: an event could not be built", exc_info=True)
        return None


def _sent(client: Any, event: Any) -> None:
    """:func:`_emit`, once more when the transport's read of the environment (``requests``
    reads the proxies from ``os.environ`` for each request) met a variable another thread
    took out meanwhile: a try's end takes its ``AIRFLOW_CTX_*`` variables out, and Python's
    ``os.environ`` gives a reader that lost the race a ``KeyError``."""
    try:
        _emit(client, event)
    except KeyError as exc:
        name = exc.args[0] if exc.args else None
        if not isinstance(name, str) or name in os.environ:
            raise
        _emit(client, event)


def _emit(client: Any, event: Any) -> None:
    """Send ``event``, and Airflow's ``ol.emit.attempts`` and ``ol.emit.failed`` of it."""
    if not airflow_stats.on():
        client.emit(event)
        return
    transport = str(getattr(getattr(client, "transport", None), "kind", "") or "").lower()
    started = time.perf_counter()
    failed = True
    try:
        client.emit(event)
        failed = False
    finally:
        elapsed = time.perf_counter() - started
        airflow_stats.lineage_sent(_event_type(event), transport, elapsed, failed)


def _event_type(event: Any) -> str:
    kind = getattr(event, "eventType", None)
    return str(getattr(kind, "value", kind) or "").lower()


def at_exit(emitter: Emitter) -> None:
    """Close ``emitter`` when the process ends: at interpreter exit, and at the end of a
    multiprocessing child, which leaves without running ``atexit``'s functions."""
    atexit.register(emitter.close)
    mp_util.Finalize(None, emitter.close, exitpriority=10)
