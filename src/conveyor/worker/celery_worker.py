"""A Celery worker's part of cluster mode: the task that runs a try, and the worker's beat.

The app, its broker settings and the publishing of tries are ``executors/celery_app.py``'s;
:func:`install` puts this module's task and heartbeat on the app it makes. The task runs
the same ``TryRunner`` as the local executor, whose ``queued -> running`` step makes a
duplicated or redelivered message harmless, and after the outcome is committed it sends the
messages for what the fast path queued, through the broker it was installed with. The
worker's main process, outside user code, heartbeats the tries its pool children are running
and records itself in the ``worker`` table; every ``stop_check_seconds`` it reads the stops
asked of those tries (``store/stops.py``: a person marked or cleared one, its run timed out)
and stops the pool process running one (SIGTERM to its process group, whose handler calls
the operator's ``on_kill``; SIGKILL after ``kill_grace_seconds``; the pool replaces the
process). When it stops, it hands back the tries still running past the grace period
(``engine.hand_back``).

A worker that cannot write its heartbeat fences itself (:class:`Fence`): once its last
heartbeat is ``worker_fence_fraction`` of ``zombie_after_seconds`` old, it stops the tries its
pool runs (the same SIGTERM, then SIGKILL) and stops consuming its queues, before any
scheduler can declare those tries lost and hand them on; it consumes again once a heartbeat
is written. A try's code therefore never runs on two workers at once.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from celery import Celery, bootsteps
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
    worker_shutting_down,
)

from conveyor import interrupts
from conveyor._processes import stop_group_when_gone
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.engine.hand_back import hand_back
from conveyor.engine.kept import MayKeep
from conveyor.engine.progress import QueuedTry
from conveyor.engine.tries import heartbeat, worker_actor
from conveyor.stats import emit, spans
from conveyor.store import stops, workers
from conveyor.store.engine import Store
from conveyor.worker.runner import TryRunner

log = logging.getLogger(__name__)

RUN_TRY = "conveyor.run_try"


class Broker(Protocol):
    """What a worker's pool process asks of the broker."""

    def publish(self, tries: list[QueuedTry]) -> None:
        """Send tries the store holds as queued; never raises."""

    def connect(self) -> None:
        """Connect this process's producer, ahead of its first try."""


@dataclass(frozen=True)
class _Installed:
    """The app this worker process runs, as :func:`install` was given it."""

    app: Celery
    settings: Settings
    broker: Broker


#: This worker process's app: read by the pool processes it forks and by its shutdown.
_installed: _Installed | None = None


def install(app: Celery, settings: Settings, broker: Broker) -> None:
    """Put the task that runs a try, and the worker's heartbeat, on ``app``."""
    global _installed
    _installed = _Installed(app, settings, broker)
    app.task(name=RUN_TRY, bind=True)(_run_try)
    app.steps["worker"].add(TryHeartbeat)


def _the_installed() -> _Installed:
    assert _installed is not None, "install() puts the task on the app first"
    return _installed


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
def _lead_own_group(**_: Any) -> None:
    """A pool process leads a process group of its own: stopping its try (SIGTERM, then
    SIGKILL to the group) reaches the commands the try started, and nothing of the worker."""
    try:
        os.setpgid(0, 0)
    except OSError as exc:
        log.warning("a pool process could not lead its own process group: %r", exc)
        return
    stop_group_when_gone(os.getppid())  # a SIGKILLed worker's group no longer reaches it


@worker_process_init.connect
def _forget_inherited_runner(**_: Any) -> None:
    global _runner
    _runner = None  # a pool child makes its own connections; never share the parent's
    if _installed is not None:
        _warming.acquire()
        threading.Thread(
            target=_warm_up, args=(_installed,), name="conveyor-warm-up", daemon=True
        ).start()


def _warm_up(installed: _Installed) -> None:
    """Ready a new pool process while it waits for its first message: the store's connection
    (with SQLAlchemy's first look at the server), the broker connection of its producer, and
    Celery's lookup of the result backend (a scan of every installed package's entry points).
    Together about 60 ms that otherwise fall inside the first try each process runs after
    the worker starts. In a thread, so that a store or broker slow to answer never holds up
    the pool's start; what fails here is done again by the first try."""
    try:
        runner = _runner_for(installed)
        runner.store.ping()
        installed.app.backend  # noqa: B018 (loaded once, on first use)
        if runner.publish is not None:
            installed.broker.connect()
    except Exception as exc:
        log.info("a pool process could not ready itself before its first try: %r", exc)
    finally:
        _warming.release()


def _runner_for(installed: _Installed) -> TryRunner:
    """This process's runner, made on first use."""
    global _runner
    if _runner is None:
        # No ping before each transaction: it would sit between one task's end and the next
        # one's start; the runner retries a transaction that meets a dropped connection.
        store = Store(installed.settings.db_url, pre_ping=False)
        _runner = TryRunner(
            installed.settings,
            store,
            in_process_timeouts=True,
            long_lived=True,
            # With row locks a receiver can wait for the commit, so the fast path's messages
            # go out before it; on SQLite they go out right after.
            publish=installed.broker.publish if store.supports_row_locks else None,
        )
    return _runner


def _run_try(task: Any, ti_id: int, try_number: int) -> None:
    installed = _the_installed()
    with _warming:  # taken at once, but by the first try while the process readies itself
        runner = _runner_for(installed)
    if runner.publish is None:  # SQLite: the tries a streak queued would wait for its end
        installed.broker.publish(runner.run(ti_id, try_number).queued)
    else:
        runner.run_streak(ti_id, try_number, keep=_keeper(task, installed.settings))


def _keeper(task: Any, settings: Settings) -> MayKeep | None:
    """Which tries this pool process may start itself, without the broker, right after the
    try that queued them: for up to ``worker_streak_seconds`` from the message's start, so
    that messages waiting in the broker (other runs', or a wide fan-out's) are taken at least
    that often; never a try with a time limit, which only a message of its own carries, nor
    after a try whose callbacks or log upload come after the commit that would start it."""
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


class TryHeartbeat(bootsteps.StartStopStep):
    """In the worker's main process: heartbeat running tries and this worker's own row.

    The beats come from a thread of their own, not from Celery's timer: that timer runs in the
    consumer's event loop, which stands still while the consumer reconnects to a broker that
    went away, and a worker waiting for its broker is alive, and so are its running tries.
    """

    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.store: Store | None = None
        self.fence: Fence | None = None

    def start(self, parent: Any) -> None:
        settings = _the_installed().settings
        self.store = Store(settings.db_url)
        self.started_at = utcnow()
        self.queues = sorted(_consumed_queues(parent.app))
        self.fence = Fence(parent.app, parent.hostname, self.queues, settings)
        self.beat(parent)
        self.thread = threading.Thread(
            target=self._beat_until_stopped,
            args=(parent, settings),
            name="conveyor-heartbeat",
            daemon=True,
        )
        self.thread.start()
        self.fence.start(self.stopping)

    def _beat_until_stopped(self, parent: Any, settings: Settings) -> None:
        next_beat = time.monotonic() + settings.heartbeat_seconds
        every = min(settings.stop_check_seconds, settings.heartbeat_seconds)
        while not self.stopping.wait(every):
            self.stop_asked(settings.kill_grace_seconds)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + settings.heartbeat_seconds
                self.beat(parent)

    def stop_asked(self, grace: float) -> None:
        """Stop the pool processes whose tries the store asks to stop."""
        assert self.store is not None
        try:
            ti_ids, hostname, pids = _held_by_pool()
            if not ti_ids and not pids:
                return
            with self.store.read() as conn:
                asked = stops.asked(conn, ti_ids, hostname, pids)
            for stop in asked:
                # Only a busy pool process of this worker is ever signalled.
                pid = stop.pid if stop.hostname == hostname and stop.pid in pids else None
                if pid is not None:
                    log.info(
                        "try %s of task instance %s was ended from outside; stopping "
                        "pool process %s",
                        stop.try_number,
                        stop.ti_id,
                        pid,
                    )
                    _signal_group(pid, signal.SIGTERM)
                    timer = threading.Timer(grace, self._kill, (pid, stop))
                    timer.daemon = True
                    timer.start()
                with self.store.write() as conn:
                    stops.sent(conn, stop, worker_actor(hostname), pid=pid, grace=grace)
        except Exception:  # a store hiccup must not kill the worker; the next check retries
            log.exception("worker stop check failed")

    def beat(self, parent: Any) -> None:
        assert self.store is not None
        try:
            with self.store.write() as conn:
                running = heartbeat(conn, *_held_by_pool())
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
            return
        if self.fence is not None:
            self.fence.beaten()

    def _kill(self, pid: int, stop: stops.StopAsked) -> None:
        """The grace is over: SIGKILL to what is left of the group, and a cleared try may
        run again now that its process is gone."""
        _signal_group(pid, signal.SIGKILL)
        if self.store is None:
            return
        try:
            with self.store.write() as conn:
                stops.process_gone(conn, stop.ti_id, stop.try_number)
        except Exception:  # the try then runs again at transitions.RESTART_AFTER
            log.exception("could not let a stopped try run again")

    def stop(self, parent: Any) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        if self.store is not None:
            with self.store.write() as conn:
                workers.record_stopped(conn, parent.hostname)


class Fence:
    """A worker cut off from the store stops its tries before a scheduler hands them on.

    A scheduler declares a try lost when its heartbeat is ``zombie_after_seconds`` old, and
    retries it elsewhere; the worker that cannot write the heartbeat may still be running it.
    So a thread of its own (the heartbeat thread may hang on a silent link) watches the age of
    the last heartbeat written: past ``worker_fence_fraction`` of ``zombie_after_seconds`` it
    stops every busy pool process (SIGTERM to its group: ``on_kill``; SIGKILL after
    ``kill_grace_seconds``) and cancels the worker's consumers, so no message is taken; any
    pool process busy meanwhile (a message taken before the cancel) is stopped too. The first
    heartbeat written again lifts the fence and the queues are consumed again. The stopped
    tries are never recorded by this worker: the scheduler declares them lost, as it would a
    dead worker's, and their tasks' retries follow.
    """

    def __init__(self, app: Celery, hostname: str, queues: list[str], settings: Settings) -> None:
        self.app = app
        self.hostname = hostname
        self.queues = queues
        self.after = settings.worker_fence_fraction * settings.zombie_after_seconds
        self.grace = settings.kill_grace_seconds
        self.every = min(0.5, settings.heartbeat_seconds)
        self.last_beat = time.monotonic()
        self.fenced = False
        self.stopped: set[int] = set()
        if self.after + self.grace >= settings.zombie_after_seconds:
            log.warning(
                "worker_fence_fraction x zombie_after_seconds (%.1fs) plus kill_grace_seconds "
                "(%.1fs) reaches zombie_after_seconds: a try stopped for want of heartbeats may "
                "still run when a scheduler hands it on",
                self.after,
                self.grace,
            )

    def start(self, stopping: threading.Event) -> None:
        threading.Thread(
            target=self._watch, args=(stopping,), name="conveyor-fence", daemon=True
        ).start()

    def beaten(self) -> None:
        """A heartbeat was written: the store hears this worker."""
        self.last_beat = time.monotonic()
        if self.fenced:
            self.fenced = False
            self.stopped.clear()
            log.warning("the store is reachable again: heartbeats written, taking tries again")
            self._consume(True)

    def _watch(self, stopping: threading.Event) -> None:
        while not stopping.wait(self.every):
            try:
                self.check()
            except Exception:  # the fence must outlive whatever one check meets
                log.exception("worker fence check failed")

    def check(self) -> None:
        silent = time.monotonic() - self.last_beat
        if silent < self.after:
            return
        if not self.fenced:
            self.fenced = True
            log.error(
                "no heartbeat written for %.1fs (the store is unreachable): stopping the tries "
                "this worker runs and taking no new ones, before a scheduler declares them "
                "lost after zombie_after_seconds",
                silent,
            )
            self._consume(False)
        _, _, pids = _held_by_pool()
        for pid in set(pids) - self.stopped:
            self.stopped.add(pid)
            log.warning("fenced: stopping pool process %s and its try", pid)
            _signal_group(pid, signal.SIGTERM)
            timer = threading.Timer(self.grace, _signal_group, (pid, signal.SIGKILL))
            timer.daemon = True
            timer.start()

    def _consume(self, on: bool) -> None:
        """Ask this worker, through the broker's control channel (handled in the consumer's
        own loop), to stop or start consuming its queues."""
        control = self.app.control
        for queue in self.queues:
            try:
                if on:
                    control.add_consumer(queue, destination=[self.hostname], reply=False)
                else:
                    control.cancel_consumer(queue, destination=[self.hostname], reply=False)
            except Exception as exc:  # no broker either: no message comes in meanwhile
                log.warning("could not %s queue %s: %r", "resume" if on else "pause", queue, exc)


def _signal_group(pid: int, sig: int) -> None:
    """``sig`` to the process group ``pid`` leads (a pool process's), else to the process."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


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
    grace = 5.0 if _installed is None else _installed.settings.kill_grace_seconds
    if sig == "SIGINT":
        grace = min(grace, interrupts.INTERRUPT_GRACE_SECONDS)
    log.info("warm shutdown: running tries get %.0fs to finish", grace)
    timer = threading.Timer(grace, _hand_back_and_stop, kwargs={"grace": grace})
    timer.daemon = True
    timer.start()


def _hand_back_and_stop(grace: float) -> None:
    from celery.worker import state

    if state.active_requests and _installed is not None:
        store = Store(_installed.settings.db_url, pool=False)
        reason = (
            f"the worker shut down before the try finished (grace {grace:g}s); handed back "
            "for another worker"
        )
        try:
            ti_ids, hostname, pids = _held_by_pool()
            actor = worker_actor(os.uname().nodename)
            hand_back(store, ti_ids, hostname, pids, reason=reason, actor=actor)
        except Exception:  # stopping must go on even if the store is unreachable
            log.exception("could not hand back the running tries")
        finally:
            store.dispose()
    os.kill(os.getpid(), signal.SIGQUIT)


@worker_shutdown.connect
def _log_shutdown(**_: Any) -> None:
    log.info("conveyor worker stopped")


@worker_process_shutdown.connect
def _close_metric_sinks(**_: Any) -> None:
    """A pool process ends: what it gathered for OpenTelemetry since the last export goes out,
    its metrics and its tries' spans (billiard ends its processes with ``os._exit``, past
    ``atexit``)."""
    emit.close()
    spans.close()
