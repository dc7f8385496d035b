"""The Celery side of cluster mode: the app, the one task, and the worker's heartbeat.

A broker message says only "run try N of task instance X" (JSON, ids only; the app refuses
every other serializer). The store stays the one truth: the task runs the same ``TryRunner``
as the local executor, whose ``queued -> running`` step makes a duplicated or redelivered
message harmless, and after the outcome is committed it sends the messages for what the
fast path queued. The worker's main process, outside user code, heartbeats the tries its
pool children are running and records itself in the ``worker`` table.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from celery import Celery, bootsteps
from celery.signals import worker_process_init, worker_shutdown, worker_shutting_down
from celery.worker.consumer import Consumer

from conveyor import interrupts
from conveyor.clock import utcnow
from conveyor.config import Settings, load_config
from conveyor.engine.kept import MayKeep
from conveyor.engine.progress import QueuedTry
from conveyor.store import runs, transitions, workers
from conveyor.store.engine import Store
from conveyor.worker.runner import TryRunner

log = logging.getLogger(__name__)

RUN_TRY = "conveyor.run_try"
#: Seconds a warm shutdown lets running tries finish (kill_grace_seconds of the worker's app).
_shutdown_grace = 5.0
_settings: Settings | None = None  # the settings of this worker process's app
_app: Celery | None = None  # this worker process's app


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
    app.conveyor_settings = settings  # type: ignore[attr-defined]
    global _shutdown_grace, _settings, _app
    _shutdown_grace = settings.kill_grace_seconds
    _settings = settings
    _app = app
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


def release_producer(app: Celery) -> None:
    """Give this process's producer back to the pool. Producer pools are shared by every app
    on the same broker in a process (kombu keys them by connection), so an app that is done
    with must return its producer: the eleventh executor made in a process would otherwise
    wait for ever for one."""
    held = getattr(app, "_conveyor_producer", None)
    if held is not None and held[0] == os.getpid():
        held[1].release()
    app._conveyor_producer = None  # type: ignore[attr-defined]


_runner: TryRunner | None = None
#: Held while a pool process readies itself (see _warm_up); its first try waits for it.
_warming = threading.Lock()


@worker_process_init.connect
def _freeze_inherited_objects(**_: Any) -> None:
    """The parent's imports, out of this pool process's full collections, as in the fork
    server (executors/fork_server_warmup.py). Frozen in the child, since the pool forks again
    whenever it replaces a process."""
    gc.freeze()


@worker_process_init.connect
def _forget_inherited_runner(**_: Any) -> None:
    global _runner
    _runner = None  # a pool child makes its own connections; never share the parent's
    if _app is not None:
        _warming.acquire()
        threading.Thread(
            target=_warm_up, args=(_app,), name="conveyor-warm-up", daemon=True
        ).start()


def _warm_up(app: Celery) -> None:
    """Ready a new pool process while it waits for its first message: the store's connection
    (with SQLAlchemy's first look at the server), the broker connection of its producer, and
    Celery's lookup of the result backend (a scan of every installed package's entry points).
    Together about 60 ms that otherwise fall inside the first try each process runs after
    the worker starts. In a thread, so that a store or broker slow to answer never holds up
    the pool's start; what fails here is done again by the first try."""
    try:
        runner = _runner_for(app)
        runner.store.ping()
        app.backend  # noqa: B018 (loaded once, on first use)
        if runner.publish is not None:
            _producer(app).connection.ensure_connection(max_retries=1)
    except Exception as exc:
        log.info("a pool process could not ready itself before its first try: %r", exc)
    finally:
        _warming.release()


def _runner_for(app: Celery) -> TryRunner:
    """This process's runner, made on first use."""
    global _runner
    if _runner is None:
        settings: Settings = app.conveyor_settings  # type: ignore[attr-defined]
        # No ping before each transaction: it would sit between one task's end and the next
        # one's start; the runner retries a transaction that meets a dropped connection.
        store = Store(settings.db_url, pre_ping=False)
        _runner = TryRunner(
            settings,
            store,
            in_process_timeouts=True,
            # With row locks a receiver can wait for the commit, so the fast path's messages
            # go out before it; on SQLite they go out right after.
            publish=(lambda tries: publish_tries(app, tries)) if store.supports_row_locks else None,
        )
    return _runner


def _run_try(task: Any, ti_id: int, try_number: int) -> None:
    with _warming:  # taken at once, but by the first try while the process readies itself
        runner = _runner_for(task.app)
    if runner.publish is None:  # SQLite: the tries a streak queued would wait for its end
        publish_tries(task.app, runner.run(ti_id, try_number).queued)
    else:
        runner.run_streak(ti_id, try_number, keep=_keeper(task))


def _keeper(task: Any) -> MayKeep | None:
    """Which tries this pool process may start itself, without the broker, right after the
    try that queued them: for up to ``worker_streak_seconds`` from the message's start, so
    that messages waiting in the broker (other runs', or a wide fan-out's) are taken at least
    that often; never a try with a time limit, which only a message of its own carries, nor
    after a try whose callbacks or log upload come after the commit that would start it."""
    settings: Settings = task.app.conveyor_settings
    if settings.worker_streak_seconds <= 0 or any(task.request.timelimit or ()):
        return None
    if settings.remote_logs_url:  # uploaded after the commit: the next try would wait for it
        return None
    return MayKeep(
        queues=_consumed_queues(task.app),
        until=time.monotonic() + settings.worker_streak_seconds,
        untimed_only=True,
    )


def _consumed_queues(app: Celery) -> frozenset[str]:
    selected = app.amqp.queues.consume_from
    return frozenset(selected) if selected else frozenset({app.conf.task_default_queue})


def publish_tries(app: Celery, tries: list[QueuedTry]) -> None:
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


def _send_on_a_live_producer(app: Celery, work: QueuedTry) -> None:
    """``send_try``; once more on a new producer if this one's channel was left detached.

    When the broker is lost and kombu cannot reconnect within a publish's retries, kombu's
    Redis transport leaves the producer's channel without its connection, and every later
    publish on it raises AttributeError, even once the broker is back."""
    try:
        send_try(app, work)
    except AttributeError:
        _drop_producer(app)
        send_try(app, work)


def _drop_producer(app: Celery) -> None:
    """Give this process's producer back to the pool, which revives it on a fresh channel
    when it is next taken."""
    with contextlib.suppress(Exception):
        release_producer(app)
    app._conveyor_producer = None  # type: ignore[attr-defined]


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


class TryHeartbeat(bootsteps.StartStopStep):
    """In the worker's main process: heartbeat running tries and this worker's own row.

    The beats come from a thread of their own, not from Celery's timer: that timer runs in the
    consumer's event loop, which stands still while the consumer reconnects to a broker that
    went away, and a worker waiting for its broker is alive, and so are its running tries.
    """

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.store: Store | None = None

    def start(self, parent: Any) -> None:
        settings: Settings = parent.app.conveyor_settings
        self.store = Store(settings.db_url)
        self.started_at = utcnow()
        self.queues = sorted(_consumed_queues(parent.app))
        self.beat(parent)
        self.thread = threading.Thread(
            target=self._beat_until_stopped,
            args=(parent, settings.heartbeat_seconds),
            name="conveyor-heartbeat",
            daemon=True,
        )
        self.thread.start()

    def _beat_until_stopped(self, parent: Any, every: float) -> None:
        while not self.stopping.wait(every):
            self.beat(parent)

    def beat(self, parent: Any) -> None:
        assert self.store is not None
        try:
            with self.store.write() as conn:
                running = transitions.heartbeat(conn, *_held_by_pool())
                workers.record_heartbeat(
                    conn,
                    parent.hostname,
                    queues=self.queues,
                    concurrency=parent.concurrency,
                    pid=os.getpid(),
                    started_at=self.started_at,
                    running=running,
                )
        except Exception:  # a store hiccup must not kill the worker; the next beat retries
            log.exception("worker heartbeat failed")

    def stop(self, parent: Any) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        if self.store is not None:
            with self.store.write() as conn:
                workers.record_stopped(conn, parent.hostname)


def _held_by_pool() -> tuple[list[int], str, list[int]]:
    """What the pool is running: the task instances its messages name, and this host's name
    and the pids of the pool processes busy with a message, whose running tries (those they
    started themselves after the message's, see ``_keeper``) are theirs too. A process whose
    message ended holds nothing, whatever it left running. The set of requests changes under
    this thread's feet: copying it can fail half-way, and is simply done again."""
    from celery.worker import state

    for _ in range(10):
        try:
            requests = [req for req in list(state.active_requests) if req.task_name == RUN_TRY]
        except RuntimeError:  # "Set changed size during iteration"
            continue
        ti_ids = [int(req.args[0]) for req in requests if req.args]
        pids = [req.worker_pid for req in requests if req.worker_pid]
        return ti_ids, socket.gethostname(), pids
    return [], socket.gethostname(), []


def app_from_environment() -> Celery:
    """The app a `celery -A conveyor.worker.celery_app` process or Flower loads."""
    return make_app(load_config().settings)


@worker_shutting_down.connect
def _limit_the_wait(how: str = "", sig: str = "", **_: Any) -> None:
    """SIGTERM or Ctrl-C: take no new tries, let running ones finish within the grace
    period, then stop.

    Celery's warm shutdown waits for running tasks however long they take. Past the grace
    period the worker hands the tries still running back (up for retry at once, without using
    one of the task's retries), then asks for Celery's cold shutdown, which ends the pool.
    After Ctrl-C the grace is shorter (``interrupts.INTERRUPT_GRACE_SECONDS``): someone waits
    at the terminal. A second Ctrl-C is Celery's cold shutdown at once.
    """
    if how != "Warm":
        return
    grace = _shutdown_grace
    if sig == "SIGINT":
        grace = min(grace, interrupts.INTERRUPT_GRACE_SECONDS)
    log.info("warm shutdown: running tries get %.0fs to finish", grace)
    timer = threading.Timer(grace, _hand_back_and_stop, kwargs={"grace": grace})
    timer.daemon = True
    timer.start()


def _hand_back_and_stop(grace: float) -> None:
    from celery.worker import state

    if state.active_requests and _settings is not None:
        store = Store(_settings.db_url, pool=False)
        actor = transitions.Actor(f"worker@{os.uname().nodename}:{os.getpid()}")
        try:
            with store.read() as conn:
                running = transitions.tries_held(conn, *_held_by_pool())
            for ti_id, try_number in running:
                with store.write() as conn:
                    locked = runs.lock_run(conn, workers.run_of_task_instance(conn, ti_id))
                    transitions.hand_back(
                        conn,
                        locked,
                        ti_id,
                        try_number,
                        f"the worker shut down before the try finished (grace "
                        f"{grace:g}s); handed back for another worker",
                        actor,
                    )
        except Exception:  # stopping must go on even if the store is unreachable
            log.exception("could not hand back the running tries")
        finally:
            store.dispose()
    os.kill(os.getpid(), signal.SIGQUIT)


@worker_shutdown.connect
def _log_shutdown(**_: Any) -> None:
    log.info("conveyor worker stopped")
