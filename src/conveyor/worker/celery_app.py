"""The Celery side of cluster mode: the app, the one task, and the worker's heartbeat.

A broker message says only "run try N of task instance X" (JSON, ids only; the app refuses
every other serializer). The store stays the one truth: the task runs the same ``TryRunner``
as the local executor, whose ``queued -> running`` step makes a duplicated or redelivered
message harmless, and after the outcome is committed it sends the messages for what the
fast path queued. The worker's main process, outside user code, heartbeats the tries its
pool children are running and records itself in the ``worker`` table.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from celery import Celery, bootsteps
from celery.signals import worker_process_init, worker_shutdown, worker_shutting_down
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import select

from conveyor.clock import utcnow
from conveyor.config import Settings, load_config
from conveyor.engine.progress import QueuedTry
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from conveyor.store.sql import upsert
from conveyor.store.tables import task_instance, worker
from conveyor.worker.runner import TryRunner

log = logging.getLogger(__name__)

RUN_TRY = "conveyor.run_try"
#: Seconds a warm shutdown lets running tries finish (kill_grace_seconds of the worker's app).
_shutdown_grace = 5.0
_settings: Settings | None = None  # the settings of this worker process's app


def make_app(settings: Settings) -> Celery:
    app = Celery("conveyor", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],  # a worker refuses pickle and everything else
        result_serializer="json",
        task_ignore_result=True,  # outcomes live in the store, not in a result backend
        worker_prefetch_multiplier=1,  # a long try must not hold messages others could run
        task_acks_late=False,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # a try's output goes to its own log file, unwrapped
        task_default_queue="default",
        # Redis: a message not acknowledged within this time is delivered again; harmless
        # (queued -> running admits one), and tries are acknowledged when they start.
        broker_transport_options={"visibility_timeout": 3600},
    )
    app.conveyor_settings = settings  # type: ignore[attr-defined]
    global _shutdown_grace, _settings
    _shutdown_grace = settings.kill_grace_seconds
    _settings = settings
    app.task(name=RUN_TRY, bind=True)(_run_try)
    app.steps["worker"].add(TryHeartbeat)
    return app


def send_try(app: Celery, work: QueuedTry) -> None:
    """Publish one try on its queue. Celery's hard limit backs up our own timeout."""
    options: dict[str, Any] = {"queue": work.queue}
    if work.timeout_seconds is not None:
        grace = app.conveyor_settings.kill_grace_seconds  # type: ignore[attr-defined]
        options["time_limit"] = work.timeout_seconds + 2 * grace + 5
    app.send_task(RUN_TRY, args=[work.ti_id, work.try_number], producer=_producer(app), **options)


def _producer(app: Celery) -> Any:
    """This process's producer, kept for its life: taking one from the pool and giving it
    back costs a good part of a publish, which sits between one task and the next. Its
    publishes retry and reconnect by themselves; a forked child takes its own."""
    held = getattr(app, "_conveyor_producer", None)
    if held is None or held[0] != os.getpid():
        held = (os.getpid(), app.producer_pool.acquire(block=True))
        app._conveyor_producer = held  # type: ignore[attr-defined]
    return held[1]


_runner: TryRunner | None = None


@worker_process_init.connect
def _forget_inherited_runner(**_: Any) -> None:
    global _runner
    _runner = None  # a pool child makes its own connections; never share the parent's


def _run_try(task: Any, ti_id: int, try_number: int) -> None:
    global _runner
    if _runner is None:
        settings: Settings = task.app.conveyor_settings
        # No ping before each transaction: it would sit between one task's end and the next
        # one's start; the runner retries a transaction that meets a dropped connection.
        store = Store(settings.db_url, pre_ping=False)
        app = task.app
        _runner = TryRunner(
            settings,
            store,
            in_process_timeouts=True,
            # With row locks a receiver can wait for the commit, so the fast path's messages
            # go out before it; on SQLite they go out right after.
            publish=(lambda tries: publish_tries(app, tries)) if store.supports_row_locks else None,
        )
    result = _runner.run(ti_id, try_number)
    if _runner.publish is None:
        publish_tries(task.app, result.queued)


def publish_tries(app: Celery, tries: list[QueuedTry]) -> None:
    """Send tries the store holds as queued; one the broker refuses stays queued there, and
    the scheduler's requeue step sends it again."""
    for work in tries:
        try:
            send_try(app, work)
        except BrokerError as exc:
            log.warning(
                "could not publish try %s of task instance %s: %s",
                work.try_number,
                work.ti_id,
                exc,
            )


class TryHeartbeat(bootsteps.StartStopStep):
    """In the worker's main process: heartbeat running tries and this worker's own row."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None
        self.store: Store | None = None

    def start(self, parent: Any) -> None:
        settings: Settings = parent.app.conveyor_settings
        self.store = Store(settings.db_url)
        self.started_at = utcnow()
        self.queues = (
            sorted(q.name for q in parent.app.amqp.queues.consume_from.values())
            if parent.app.amqp.queues.consume_from
            else ["default"]
        )
        self.beat(parent)
        self.tref = parent.timer.call_repeatedly(
            settings.heartbeat_seconds, self.beat, (parent,), priority=10
        )

    def beat(self, parent: Any) -> None:
        from celery.worker import state

        running = [
            int(req.args[0])
            for req in list(state.active_requests)
            if req.task_name == RUN_TRY and req.args
        ]
        assert self.store is not None
        try:
            with self.store.write() as conn:
                transitions.heartbeat(conn, running)
                upsert(
                    conn,
                    worker,
                    {
                        "hostname": parent.hostname,
                        "queues": self.queues,
                        "concurrency": parent.concurrency,
                        "pid": os.getpid(),
                        "started_at": self.started_at,
                        "heartbeat_at": utcnow(),
                        "running": running,
                        "stopped_at": None,
                    },
                    key=["hostname"],
                )
        except Exception:  # a store hiccup must not kill the worker; the next beat retries
            log.exception("worker heartbeat failed")

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
        if self.store is not None:
            with self.store.write() as conn:
                conn.execute(
                    worker.update()
                    .where(worker.c.hostname == parent.hostname)
                    .values(stopped_at=utcnow())
                )


def app_from_environment() -> Celery:
    """The app a `celery -A conveyor.worker.celery_app` process or Flower loads."""
    return make_app(load_config().settings)


@worker_shutting_down.connect
def _limit_the_wait(how: str = "", **_: Any) -> None:
    """SIGTERM: take no new tries, let running ones finish within the grace period, then stop.

    Celery's warm shutdown waits for running tasks however long they take. Past the grace
    period the worker hands the tries still running back (up for retry at once, without using
    one of the task's retries), then asks for Celery's cold shutdown, which ends the pool.
    """
    if how != "Warm":
        return
    log.info("warm shutdown: running tries get %.0fs to finish", _shutdown_grace)
    timer = threading.Timer(_shutdown_grace, _hand_back_and_stop)
    timer.daemon = True
    timer.start()


def _hand_back_and_stop() -> None:
    from celery.worker import state

    running = [
        (int(req.args[0]), int(req.args[1]))
        for req in list(state.active_requests)
        if req.task_name == RUN_TRY and len(req.args) >= 2
    ]
    if running and _settings is not None:
        store = Store(_settings.db_url, pool=False)
        actor = transitions.Actor(f"worker@{os.uname().nodename}:{os.getpid()}")
        try:
            for ti_id, try_number in running:
                with store.write() as conn:
                    runs.lock_run(conn, _run_of(conn, ti_id))
                    transitions.hand_back(
                        conn,
                        ti_id,
                        try_number,
                        f"the worker shut down before the try finished (grace "
                        f"{_shutdown_grace:g}s); handed back for another worker",
                        actor,
                    )
        except Exception:  # stopping must go on even if the store is unreachable
            log.exception("could not hand back the running tries")
        finally:
            store.dispose()
    os.kill(os.getpid(), signal.SIGQUIT)


def _run_of(conn: Any, ti_id: int) -> int:
    return int(
        conn.execute(select(task_instance.c.run_pk).where(task_instance.c.id == ti_id)).scalar_one()
    )


@worker_shutdown.connect
def _log_shutdown(**_: Any) -> None:
    log.info("conveyor worker stopped")
