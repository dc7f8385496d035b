"""A triggerer process: claim triggers, run them on one asyncio loop, resume their tries.

The main thread does everything that touches the store or imports user code: it heartbeats,
claims triggers no live triggerer holds (``store/triggers.py``; several triggerers share
them, and a dead one's go to whoever claims next), builds each trigger from its stored form
(a user's class imported from its DAG's folder through the code cache, as a try imports its
DAG), and records each first event (``engine/deferral.fire``: the try back to scheduled).
A second thread runs the asyncio loop where every trigger's ``run()`` waits; an event is
handed back through a queue, and a byte on a pipe wakes the main thread at once.

Asset watchers (``triggerer/watchers.py``) are claimed the same way, one triggerer each,
and run on the same loop for as long as they are held; each event they yield is recorded
as an asset event before its message is acknowledged.

Ctrl-C and SIGTERM ask for a stop (``interrupts``): the triggers are cancelled, the stop is
recorded, and the triggers are released for the other triggerers at once. A triggerer
killed outright holds its triggers until its heartbeat is stale; then another takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from conveyor import airflow_compat, interrupts
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.engine import deferral, try_spans
from conveyor.lifecycle import Actor
from conveyor.loading import code_cache, namespaces
from conveyor.stats import airflow as stats
from conveyor.stats import emit, spans
from conveyor.store import asset_watchers, liveness, triggers
from conveyor.store.engine import STORE_UNREACHABLE, Store
from conveyor.triggerer import watchers
from conveyor.triggers import serialization

log = logging.getLogger(__name__)

#: Seconds between two claims of new triggers when nothing wakes the loop earlier.
CLAIM_SECONDS = 1.0
#: Seconds between two reads of the triggers this triggerer holds (to stop those whose try
#: moved on without them) and two sweeps of orphaned triggers.
SYNC_SECONDS = 5.0


@dataclass
class _Report:
    trigger_id: int
    payload: Any = None
    error: str | None = None


class Triggerer:
    """One triggerer: ``run()`` until asked to stop."""

    def __init__(self, settings: Settings, store: Store, *, capacity: int = 1000) -> None:
        self.settings = settings
        self.store = store
        self.capacity = capacity
        self.hostname, self.id, actor = liveness.identity("triggerer")
        self.actor = Actor(actor)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="triggers", daemon=True)
        self._running: set[int] = set()  # ids of the triggers running (main thread's view)
        self._tasks: dict[int, asyncio.Task[None]] = {}  # the loop thread's own
        self._rows: dict[int, triggers.TriggerRow] = {}
        self._spans: dict[int, spans.TrySpan] = {}  # a deferred try's, for its trigger's span
        self._reports: queue.SimpleQueue[_Report] = queue.SimpleQueue()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        # Asset watchers held: id -> row (main thread); their tasks (the loop thread's own).
        self._watching: dict[int, asset_watchers.WatcherRow] = {}
        self._watch_tasks: dict[int, asyncio.Task[None]] = {}
        self._deliveries: queue.SimpleQueue[watchers.Delivery] = queue.SimpleQueue()
        self._stopping = False
        self._next_heartbeat = 0.0
        self._next_claim = 0.0
        self._next_sync = 0.0
        self.fired = 0  # events recorded by this process
        self.watched = 0  # asset events its watchers recorded

    # -- life cycle ------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")

    def _should_stop(self) -> bool:
        return self._stopping or interrupts.requested()

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Run triggers until a stop is asked (or ``until()`` is true)."""
        airflow_compat.activate()  # a user's trigger may import Airflow's names
        emit.configure(self.settings)  # Airflow's metrics, when statsd_on or otel_on
        spans.configure(self.settings)  # the triggers' spans, when traces_otel_on
        stats.job_started("TriggererJob")
        self._thread.start()
        try:
            while not self._should_stop():
                try:
                    self.step()
                except STORE_UNREACHABLE as exc:
                    log.warning("the store is unreachable (%s); trying again", exc)
                    interrupts.sleep(1.0)
                    continue
                if until is not None and until():
                    break
                self._wait(max(min(self._next_claim, self._next_heartbeat) - time.monotonic(), 0))
        finally:
            self.stop()

    def _wait(self, timeout: float) -> None:
        if not (self._reports.empty() and self._deliveries.empty()):
            return
        ready = interrupts.wait([self._wake_read], timeout)
        if ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_read, 4096):
                    pass

    def stop(self) -> None:
        self._running.clear()
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._cancel, None)
            self.loop.call_soon_threadsafe(self._unwatch, None)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=1)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()
        try:
            with self.store.write() as conn:
                triggers.record_stop(conn, self.id, utcnow())
                asset_watchers.release(conn, self.id)
        except STORE_UNREACHABLE:
            log.warning("could not record this triggerer's stop; its heartbeat will go stale")
        stats.job_ended("TriggererJob")

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    # -- one step ----------------------------------------------------------------------------

    def step(self) -> None:
        """Record the events that came, heartbeat, claim and start triggers when due."""
        self._record_reports()
        self._record_deliveries()
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.settings.heartbeat_seconds
            with stats.heartbeat_failures("TriggererJob"), self.store.write() as conn:
                triggers.record_heartbeat(
                    conn,
                    self.id,
                    self.hostname,
                    os.getpid(),
                    self.capacity,
                    len(self._running),
                    utcnow(),
                )
            running = len(self._running)
            stats.triggerer_heartbeat(self.hostname, running, self.capacity - running)
        if now >= self._next_claim:
            self._next_claim = now + CLAIM_SECONDS
            self._claim_and_sync(sync=now >= self._next_sync)

    def _claim_and_sync(self, *, sync: bool) -> None:
        threshold = liveness.stale_after(self.settings.heartbeat_seconds)
        with self.store.write() as conn:
            if sync:
                triggers.remove_orphans(conn)
            claimed = triggers.claim(
                conn, self.id, utcnow(), threshold, self.capacity - len(self._running)
            )
            watchers_claimed = asset_watchers.claim(conn, self.id, utcnow(), threshold)
        if watchers_claimed or sync:
            self._sync_watchers()
        if not (claimed or sync):
            return
        if sync:
            self._next_sync = time.monotonic() + SYNC_SECONDS
        # Ids first, rows only for the triggers not started yet: the check every few seconds
        # of 10,000 held triggers reads their ids, not their kwargs and joins.
        with self.store.read() as conn:
            held = triggers.held_ids(conn, self.id)
            new = [trigger_id for trigger_id in held if trigger_id not in self._running]
            rows = triggers.held_by(conn, self.id, new) if new else []
        still_held = set(held)
        gone = [trigger_id for trigger_id in self._running if trigger_id not in still_held]
        for trigger_id in gone:  # its try moved on, or another triggerer has it
            self._running.discard(trigger_id)
            self._rows.pop(trigger_id, None)
            self._spans.pop(trigger_id, None)
        if gone:
            self.loop.call_soon_threadsafe(self._cancel, gone)
        built = [found for row in rows if (found := self._start(row)) is not None]
        if built:
            # One hand-over to the loop for them all: one per trigger woke the loop's
            # thread each time, and the two threads passed the interpreter's lock back and
            # forth (about 5 ms a trigger on a busy machine).
            self.loop.call_soon_threadsafe(self._spawn, built)

    # -- asset watchers ------------------------------------------------------------------------

    def _sync_watchers(self) -> None:
        """Start the watchers held and not running; stop those no longer held, or changed."""
        with self.store.read() as conn:
            held = {row.id: row for row in asset_watchers.held_by(conn, self.id)}
        gone = [i for i, row in self._watching.items() if _what(held.get(i)) != _what(row)]
        for watcher_id in gone:
            self._watching.pop(watcher_id)
        if gone:
            self.loop.call_soon_threadsafe(self._unwatch, gone)
        started = []
        for watcher_id, row in held.items():
            if watcher_id in self._watching:
                continue
            try:
                trigger = self._build(row)
            except Exception as exc:
                log.warning(
                    "watcher %s of %s: trigger %s could not be built: %s: %s",
                    row.name,
                    row.uri,
                    row.classpath,
                    type(exc).__name__,
                    exc,
                )
                continue  # tried again at the next change of the DAG or of its holder
            self._watching[watcher_id] = row
            started.append((row, trigger))
        if started:
            self.loop.call_soon_threadsafe(self._spawn_watchers, started)

    def _spawn_watchers(self, started: list[tuple[asset_watchers.WatcherRow, Any]]) -> None:
        """In the loop's thread: a task for each watcher."""
        for row, trigger in started:
            self._watch_tasks[row.id] = self.loop.create_task(
                watchers.watch(row, trigger, self._hand_over)
            )

    def _unwatch(self, watcher_ids: list[int] | None) -> None:
        """In the loop's thread: stop these watchers (None: all)."""
        for watcher_id in list(self._watch_tasks) if watcher_ids is None else watcher_ids:
            task = self._watch_tasks.pop(watcher_id, None)
            if task is not None:
                task.cancel()

    def _hand_over(self, delivery: watchers.Delivery) -> None:
        """In the loop's thread: an event for the main thread to record."""
        self._deliveries.put(delivery)
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")

    def _record_deliveries(self) -> None:
        """Each watcher event as an asset event, its message id with it, then its answer:
        True once committed (the watcher acknowledges the message), False otherwise."""
        while not self._deliveries.empty():
            delivery = self._deliveries.get_nowait()
            watchers.pause_here("before_commit")
            try:
                with self.store.write() as conn:
                    recorded = asset_watchers.record_message(
                        conn,
                        delivery.watcher,
                        delivery.message_id,
                        {"from_trigger": True, "payload": _json_payload(delivery)},
                    )
            except Exception as exc:
                log.warning(
                    "watcher %s of %s: its event could not be recorded (%s: %s); the message "
                    "stays unacknowledged",
                    delivery.watcher.name,
                    delivery.watcher.uri,
                    type(exc).__name__,
                    exc,
                )
                delivery.done.set_result(False)
                continue
            if recorded is not None:
                self.watched += 1
            else:
                log.info(
                    "watcher %s of %s: message %s was recorded before (or its asset is gone): "
                    "acknowledged without a new event",
                    delivery.watcher.name,
                    delivery.watcher.uri,
                    delivery.message_id,
                )
            watchers.pause_here("before_ack")
            delivery.done.set_result(True)

    def _spawn(self, built: list[tuple[int, Any]]) -> None:
        """In the loop's thread: a task for each trigger."""
        for trigger_id, trigger in built:
            self._tasks[trigger_id] = self.loop.create_task(self._watch(trigger_id, trigger))

    def _cancel(self, trigger_ids: list[int] | None) -> None:
        """In the loop's thread: stop these triggers (None: all)."""
        for trigger_id in list(self._tasks) if trigger_ids is None else trigger_ids:
            task = self._tasks.pop(trigger_id, None)
            if task is not None:
                task.cancel()

    def _start(self, row: triggers.TriggerRow) -> tuple[int, Any] | None:
        try:
            trigger = self._build(row)
        except Exception as exc:
            error = f"trigger {row.classpath} could not be built: {type(exc).__name__}: {exc}"
            log.warning("%s (task %s of %s)", error, row.task_id, row.dag_id)
            self._rows[row.id] = row
            self._reports.put(_Report(row.id, error=error))
            return None
        trigger.trigger_id = row.id
        self._rows[row.id] = row
        self._running.add(row.id)
        span = try_spans.read(
            self.store, ti_id=row.ti_id, run_pk=row.run_pk, dag_id=row.dag_id, task_id=row.task_id
        )
        if span is not None:
            self._spans[row.id] = span
        return row.id, trigger

    def _build(self, row: triggers.TriggerRow | asset_watchers.WatcherRow) -> Any:
        """The trigger from its stored form. A class of Conveyor's (or Airflow's names for
        them) is imported at once; any other from its DAG's folder, in that DAG's namespace."""
        if row.classpath.startswith(("conveyor.", "airflow.")):
            return serialization.build(row.classpath, row.kwargs)
        try:
            with self.store.read() as conn:
                code_cache.load_pinned_dag(
                    conn,
                    row.version_hash,
                    row.dag_id,
                    self.settings.home / "code",
                    code_cache.local_folders(self.settings),
                )
            return serialization.build(row.classpath, row.kwargs, self._user_class(row))
        finally:
            namespaces.leave()

    @staticmethod
    def _user_class(row: triggers.TriggerRow | asset_watchers.WatcherRow) -> type:
        try:
            return serialization.resolve(row.classpath)
        except (ImportError, AttributeError):
            # A class of the DAG file itself: its module's name depends on where the file
            # was placed, so the try's process may have named it otherwise.
            module = code_cache.version_module(row.version_hash)
            if module is None or not row.classpath.startswith("conveyor_dags."):
                raise
            name = row.classpath.split(".", 2)[2]
            return serialization.resolve(f"{module}.{name}")

    async def _watch(self, trigger_id: int, trigger: Any) -> None:
        report = _Report(trigger_id, error="the trigger's run() ended without an event")
        try:
            with spans.trigger(self._spans.pop(trigger_id, None), trigger_id) as fired:
                async for event in trigger.run():
                    report = _Report(trigger_id, payload=getattr(event, "payload", event))
                    fired()
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            report = _Report(trigger_id, error="the trigger raised:\n" + traceback.format_exc())
        finally:
            self._tasks.pop(trigger_id, None)
            with contextlib.suppress(Exception):
                await trigger.cleanup()
        self._reports.put(report)
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")

    def _record_reports(self) -> None:
        """Every event (or failure) reported since the last step, in one transaction."""
        reports: list[_Report] = []
        while not self._reports.empty():
            reports.append(self._reports.get_nowait())
        if not reports:
            return
        fired, failed = [], []
        for report in reports:
            self._running.discard(report.trigger_id)
            row = self._rows.pop(report.trigger_id, None)
            if row is None:
                continue
            if report.error is None:
                fired.append(deferral.Fired(row, report.payload))
            else:
                failed.append((row, report.error))
        unfit = len(failed)
        with self.store.write() as conn:
            if fired:
                try:
                    with conn.begin_nested():
                        self.fired += len(deferral.fire(conn, fired, self.actor))
                except serialization.TriggerSerializationError:
                    for item in fired:  # one payload JSON cannot hold: find it, fail that try
                        try:
                            with conn.begin_nested():
                                self.fired += len(deferral.fire(conn, [item], self.actor))
                        except serialization.TriggerSerializationError as exc:
                            failed.append((item.trigger, str(exc)))
            for row, error in failed:
                deferral.fail_deferral(conn, row, error, self.actor)
        # A payload that JSON cannot hold failed its try: its trigger counts as failed.
        stats.triggers_ended(len(fired) - (len(failed) - unfit), len(failed))


def _what(row: asset_watchers.WatcherRow | None) -> tuple[str, Any] | None:
    """What a watcher runs: a change of it (not of its DAG's other parts) restarts it."""
    return None if row is None else (row.classpath, row.kwargs)


def _json_payload(delivery: watchers.Delivery) -> Any:
    """The event's payload as JSON; one JSON cannot hold is kept as its text."""
    try:
        return serialization.encode(delivery.payload, "the watcher's event payload")
    except serialization.TriggerSerializationError:
        return repr(delivery.payload)


@contextlib.contextmanager
def beside(settings: Settings) -> Iterator[Triggerer]:
    """A triggerer in a thread of this process for the block (``standalone``, ``conveyor
    run``), on a connection pool of its own; stopped, and its stop recorded, on the way out."""
    store = Store(settings.db_url)
    triggerer = Triggerer(settings, store)
    thread = threading.Thread(target=triggerer.run, name="triggerer", daemon=True)
    thread.start()
    try:
        yield triggerer
    finally:
        triggerer.request_stop()
        # After a Ctrl-C the command's whole stop has 5 s: the triggerer's is not waited for
        # long (a trigger left claimed is taken over once the heartbeat is stale).
        thread.join(timeout=0.5 if interrupts.requested() else 5)
        if not thread.is_alive():
            store.dispose()
