"""Cluster mode's Celery app and its broker: the app's settings, publishing, reconnecting.

A broker message says only "run try N of task instance X" (JSON, ids only; the app refuses
every other serializer). Both sides make the same app (:func:`make_app`): the scheduler's
executor (``celery_executor``) publishes tries with it, and a ``conveyor worker`` runs them
(``worker/celery_worker.py`` puts the task that runs a try, and the worker's heartbeat, on
the app) and publishes, through this module, what the fast path of each try queued. What a
broker or its client library does wrong is handled here: a producer kept per process, one
left detached replaced, a lost connection retried quickly and closed without raising.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from typing import Any

from celery import Celery
from celery.worker.consumer import Consumer

from conveyor.config import Settings, load_config
from conveyor.engine.progress import QueuedTry
from conveyor.worker import celery_worker
from conveyor.worker.celery_worker import RUN_TRY

log = logging.getLogger(__name__)


class ConveyorCelery(Celery):
    """Celery's app, with the settings it was made from and this process's producer."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("conveyor", broker=settings.broker_url, set_as_current=False)
        self.conveyor_settings = settings
        #: (pid, producer): the producer this process keeps for its life (see _producer).
        self.held_producer: tuple[int, Any] | None = None


def make_app(settings: Settings) -> ConveyorCelery:
    app = ConveyorCelery(settings)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],  # a worker refuses pickle and everything else
        result_serializer="json",
        task_ignore_result=True,  # outcomes live in the store, not in a result backend
        worker_prefetch_multiplier=1,  # a long try must not hold messages others could run
        task_acks_late=False,
        broker_connection_retry_on_startup=True,
        # A broker restart, however long, must not end the worker: retry for ever (Celery's
        # default gives up after 100 attempts), every couple of seconds at most.
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        worker_consumer=f"{__name__}:QuickReconnectConsumer",
        # Only cancels late-acknowledged tasks, and ours are acknowledged when they start;
        # set so that Celery does not warn on every reconnect.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # a try's output goes to its own log file, unwrapped
        task_default_queue="default",
        # Redis: a message not acknowledged within this time is delivered again; harmless
        # (queued -> running admits one), and tries are acknowledged when they start.
        broker_transport_options={"visibility_timeout": 3600},
    )
    celery_worker.install(app, settings, _Broker(app))
    return app


class _Broker:
    """The broker as a worker's pool process uses it (``celery_worker.Broker``)."""

    def __init__(self, app: ConveyorCelery) -> None:
        self.app = app

    def publish(self, tries: list[QueuedTry]) -> None:
        publish_tries(self.app, tries)

    def connect(self) -> None:
        _producer(self.app).connection.ensure_connection(max_retries=1)


def app_from_environment() -> Celery:
    """The app a `celery -A conveyor.executors.celery_app` process or Flower loads."""
    return make_app(load_config().settings)


def send_try(app: ConveyorCelery, work: QueuedTry) -> None:
    """Publish one try on its queue. Celery's hard limit backs up our own timeout."""
    options: dict[str, Any] = {"queue": work.queue}
    if work.timeout_seconds is not None:
        grace = app.conveyor_settings.kill_grace_seconds
        options["time_limit"] = work.timeout_seconds + 2 * grace + 5
    app.send_task(RUN_TRY, args=[work.ti_id, work.try_number], producer=_producer(app), **options)


def _producer(app: ConveyorCelery) -> Any:
    """This process's producer, kept for its life: taking one from the pool and giving it
    back costs a good part of a publish, which sits between one task and the next. Its
    publishes retry and reconnect by themselves; a forked child takes its own."""
    held = app.held_producer
    if held is None or held[0] != os.getpid():
        held = (os.getpid(), app.producer_pool.acquire(block=True))
        app.held_producer = held
    return held[1]


def release_producer(app: ConveyorCelery) -> None:
    """Give this process's producer back to the pool. Producer pools are shared by every app
    on the same broker in a process (kombu keys them by connection), so an app that is done
    with must return its producer: the eleventh executor made in a process would otherwise
    wait for ever for one."""
    held = app.held_producer
    if held is not None and held[0] == os.getpid():
        held[1].release()
    app.held_producer = None


def publish_tries(app: ConveyorCelery, tries: list[QueuedTry]) -> None:
    """Send tries the store holds as queued; one the broker refuses stays queued there, and
    the scheduler's requeue step sends it again. Never raises: this runs inside the
    transaction that records a try's outcome, which a broker must not undo."""
    for work in tries:
        try:
            _send_on_a_live_producer(app, work)
        except Exception as exc:  # a broker error, or whatever a broken transport raises
            _drop_producer(app)
            log.warning(
                "could not publish try %s of task instance %s: %r",
                work.try_number,
                work.ti_id,
                exc,
            )


def _send_on_a_live_producer(app: ConveyorCelery, work: QueuedTry) -> None:
    """``send_try``; once more on a new producer if this one's channel was left detached.

    When the broker is lost and kombu cannot reconnect within a publish's retries, kombu's
    Redis transport leaves the producer's channel without its connection, and every later
    publish on it raises AttributeError, even once the broker is back."""
    try:
        send_try(app, work)
    except AttributeError:
        _drop_producer(app)
        send_try(app, work)


def _drop_producer(app: ConveyorCelery) -> None:
    """Give this process's producer back to the pool, which revives it on a fresh channel
    when it is next taken."""
    with contextlib.suppress(Exception):
        release_producer(app)
    app.held_producer = None


#: How a worker retries the broker after losing it: the first attempt at once, then waits
#: growing by half a second up to 2 s (Celery waits 2 s, growing by 2 s up to 30 s), so a
#: worker is back within about 2 s of the broker's return.
RECONNECT_INTERVALS = {"interval_start": 0.0, "interval_step": 0.5, "interval_max": 2.0}


class QuickReconnectConsumer(Consumer):
    """Celery's consumer, reconnecting to the broker on a short interval, and surviving the
    loss of a Redis connection while it held prefetched messages."""

    def ensure_connected(self, conn: Any) -> Any:
        conn.ensure_connection = functools.partial(conn.ensure_connection, **RECONNECT_INTERVALS)
        return super().ensure_connected(conn)

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        if self.connection is not None:
            guard_close_after_collect(self.connection)
        super().on_connection_error_after_connected(exc)


def guard_close_after_collect(connection: Any) -> None:
    """Make ``connection.close()`` survive the AttributeError kombu's Redis transport raises
    when the connection was collected first, as Celery's consumer does on a connection error.

    ``collect()`` detaches the transport (its ``client`` becomes None) but can leave the task
    channel open: closing it stops at the first error, the BRPOP read on the dead socket. The
    ``close()`` that follows closes that channel again; if it held prefetched, unacknowledged
    messages, the channel tries to put them back through a new Redis pool, built from the
    detached transport's ``client``: ``'NoneType' object has no attribute 'hostname'``.
    Celery ignores only connection errors there, so the worker used to exit
    ("Unrecoverable error"). Those messages cannot be put back through a dead connection
    anyway: they stay unacknowledged in Redis (or went with it), and their tries stay queued in
    the store, where the scheduler sends them again.
    """
    close = connection.close

    def close_tolerating_a_detached_transport() -> None:
        try:
            close()
        except AttributeError as exc:
            log.info("the lost broker connection could not be closed cleanly: %r", exc)

    connection.close = connection.release = close_tolerating_a_detached_transport
