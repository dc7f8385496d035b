"""The scheduler: the safety net around the fast path.

Each loop it looks for changed DAG files, creates the runs schedules call for, starts queued
runs within ``max_active_runs`` (each planned and its first tries queued in the transaction
that starts it), plans whole the running runs that need it (those a crash left,
retries that came due, changes made outside a try's end, the periodic sweep: ``safety_net``),
hands scheduled tries to the executor, sends again tries that stayed queued too long, and fails
tries whose heartbeat stopped. Between loops it waits on the executor, which starts the
tasks that finishing tries queued through the fast path at once; while tries wait for an
executor slot, each slot freed goes to them as soon as the loop sees it (the executor's report
of an end, or with Celery a look at the store every ``FREED_SLOT_WATCH``), not at the next loop.

A loop makes runs for at most ``max_dagruns_to_create_per_loop`` DAGs and plans at most
``max_dagruns_per_loop_to_schedule`` runs whole, and starts as many; when it left some,
the next loop starts at once, so a burst of DAGs due together is worked through in slices
whose tries are handed over as each slice is made, and no loop holds the executor's refills
up for long.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from conveyor import interrupts
from conveyor._processes import pid_alive
from conveyor.airflow_compat import listeners

# select/update serve create_scheduled_runs and _due_runs alone, whose SQL moves separately.
from conveyor.callbacks import CallbackProcess
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.engine import awaiting_input, run_listeners, run_metrics
from conveyor.engine.progress import (
    plan_claimed_run,
    plan_started_run,
    queue_scheduled,
    queued_tries,
)
from conveyor.engine.runs import start_run
from conveyor.engine.tries import end_from_outside, worker_actor
from conveyor.exceptions import ConveyorError
from conveyor.executors.base import Executor
from conveyor.lifecycle import GAUGED, Actor
from conveyor.loading.processor import DagFileProcessor
from conveyor.model.partitioned_timetables import CronPartitionTimetable
from conveyor.model.schedules import DataInterval, RunInfo
from conveyor.scheduler import datasets, deadlines, memory_trace, safety_net, timeouts
from conveyor.scheduler.due import due_runs
from conveyor.scheduler.problems import Problems
from conveyor.serialized import SerializedDag
from conveyor.states import ExitKind
from conveyor.stats import airflow as stats
from conveyor.store import (
    backfills,
    due_times,
    figures,
    liveness,
    plan_requests,
    planner_statistics,
    pools,
    runs,
    scheduling,
    transitions,
)
from conveyor.store.engine import STORE_UNREACHABLE, Connection, Store, undone_on_error

log = logging.getLogger(__name__)

#: Runs a DAG with catchup may create per loop; the rest follow in the next loops.
MAX_NEW_RUNS_PER_LOOP = 16
#: Seconds between two looks at the store for freed executor slots while tries wait for one
#: and the executor does not see tries end (Celery): a freed slot waited for the next loop.
FREED_SLOT_WATCH = 0.05
#: DAGs whose runs one write transaction creates or starts. More would hold SQLite's write
#: lock longer than a try's end waits for it; one each costs a commit per DAG.
DAGS_PER_TRANSACTION = 50
#: How often the pool and executor gauges are read and sent, when metrics are on (Airflow's
#: [scheduler] pool_metrics_interval).
GAUGES_SECONDS = 5.0
#: How often the task instances are counted by state, DAG, task and queue for Airflow's
#: ``ti.<state>`` gauges (its [scheduler] ti_metrics_interval).
INSTANCE_GAUGES_SECONDS = 30.0
#: Airflow's executor class names, as its executor gauges are tagged.
_EXECUTOR_NAMES = {"local": "LocalExecutor", "celery": "CeleryExecutor"}


class SchedulerAlreadyRunning(ConveyorError):
    """A second scheduler on a SQLite store."""


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        executor: Executor,
        processor: DagFileProcessor | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self.processor = processor
        self.hostname, self.id, actor = liveness.identity("scheduler")
        self.actor = Actor(actor)
        self.callbacks = CallbackProcess(settings, store)  # DAG callbacks no try ran
        self.problems = Problems(store, self.id)
        self.safety_net = safety_net.SafetyNet(settings.run_sweep_seconds)
        self._stopping = False
        self._next_heartbeat = 0.0
        self._store_failures = 0
        #: The last dispatch ran out of executor slots: tries may wait for the next free one.
        self._tries_wait_for_slots = False
        #: The last loop left due DAGs or runs to plan for the next (its per-loop bounds):
        #: the next loop starts at once instead of after ``scheduler_loop_seconds``.
        self._work_left = False
        #: When (monotonic) the timeout checks (runs, deferrals, waits, deadlines) run next:
        #: every loop, but once a loop-second while a burst is worked through.
        self._next_checks = 0.0
        #: The earliest due time after the last loop's: the next loop starts by then.
        self._next_due: datetime | None = None
        self._next_gauges = 0.0
        self._next_instance_gauges = 0.0
        self._instance_gauges = stats.InstanceGauges()
        #: Tries this loop queued (Airflow's ``scheduler.tasks.executable``).
        self._queued_this_loop = 0
        #: The queued runs this loop may still start, each planned as it starts: as many as
        #: it may plan running runs whole (``max_dagruns_per_loop_to_schedule``), as Airflow
        #: bounds both with it.
        self._starts_left = settings.max_dagruns_per_loop_to_schedule

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.store.is_sqlite and not self.store.in_memory:
            self._refuse_second_sqlite_scheduler()
        if self.settings.scheduler_tracemalloc:
            memory_trace.start()
        self._heartbeat(force=True)
        # The plugins' listeners, as Airflow's scheduler loads them, and OpenLineage's; told
        # it starts.
        run_listeners.start(self.settings, self.store)
        run_metrics.start(self.settings)  # Airflow's metrics, when statsd_on or otel_on
        stats.job_started("SchedulerJob")
        listeners.notify("on_starting", component=self)
        self.executor.start()

    def _refuse_second_sqlite_scheduler(self) -> None:
        threshold = liveness.stale_after(self.settings.heartbeat_seconds)
        with self.store.read() as conn:
            rows = liveness.live_schedulers(conn, utcnow(), threshold)
        for row in rows:
            if row.hostname == self.hostname and not pid_alive(row.pid):
                continue  # it crashed; nothing to clean up by hand
            raise SchedulerAlreadyRunning(
                f"another scheduler (pid {row.pid} on {row.hostname}) is running against "
                f"{self.store.describe()}. SQLite allows one scheduler; stop it first, or use "
                "PostgreSQL (CONVEYOR_DATABASE_URL=postgresql://...) to run several."
            )

    def request_stop(self, *_: Any) -> None:
        self._stopping = True

    def install_signal_handlers(self) -> None:
        """SIGTERM and Ctrl-C stop the loop between two steps (see :mod:`conveyor.interrupts`)."""
        interrupts.install()

    def _should_stop(self) -> bool:
        return self._stopping or interrupts.requested()

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Loop until asked to stop (SIGTERM, SIGINT) or until ``until()`` is true."""
        self.start()
        next_step = 0.0
        try:
            while not self._should_stop():
                if time.monotonic() >= next_step:
                    pause = self._step_or_wait_for_the_store()
                    wait = 0.0 if self._work_left else self._seconds_to_next_loop()
                    next_step = time.monotonic() + max(wait, pause)
                    if until is not None and until():
                        break
                # Tries wait for a slot, and their end is not this executor's to see: the
                # store tells when one frees (a count), well before the next loop.
                watch = self._tries_wait_for_slots and not self.executor.sees_ends
                timeout = max(next_step - time.monotonic(), 0.0)
                ended = self._poll_executor(min(timeout, FREED_SLOT_WATCH) if watch else timeout)
                if self._tries_wait_for_slots and (ended or watch):
                    self._dispatch_into_freed_slots()
        finally:
            self.stop()

    def _seconds_to_next_loop(self) -> float:
        """A loop's length (``scheduler_loop_seconds``), or less when a DAG's next run comes
        due before it ends: the loop that makes the run starts at its due time, not up to a
        loop later (every run made at the top of a minute waited half a loop on average)."""
        wait = self.settings.scheduler_loop_seconds
        if self._next_due is not None:
            wait = min(wait, max((self._next_due - utcnow()).total_seconds(), 0.0))
        return wait

    def _poll_executor(self, timeout: float) -> int:
        """One executor poll; how many tries it saw end. An error while handling one try
        (its log, its record) is logged and the loop goes on: that try is failed by its own
        process, or by the zombie check once its heartbeat stops; the others run on."""
        try:
            return self.executor.poll(timeout)
        except Exception:
            log.exception("the executor failed while handling a try; carrying on")
            interrupts.sleep(min(timeout, 0.5))  # never spin on an error that repeats
            return 0

    def _dispatch_into_freed_slots(self) -> None:
        """A try ended while others waited for a slot (another run's, or one its own fast
        path had no room for): hand them the slot now, not at the next loop. Short runs
        would otherwise leave slots idle for most of a loop each time one of them ends.
        With Celery the loop cannot see a try end: this looks every ``FREED_SLOT_WATCH``
        while tries wait, and dispatches nothing (one count read) until a slot is free."""
        try:
            with self.problems.guard("dispatch"):
                self.dispatch()
        except STORE_UNREACHABLE:
            pass  # the next loop finds the store gone and waits for it

    def _step_or_wait_for_the_store(self) -> float:
        """One loop; if the store is unreachable (a restart, a failover), the seconds to wait
        before the next attempt. Everything a loop does is guarded by the store's state, so a
        loop cut off half-way is simply done again."""
        try:
            self.step()
        except STORE_UNREACHABLE as exc:
            self._store_failures += 1
            pause: float = min(0.5 * 2 ** (self._store_failures - 1), 5.0)
            log.warning(
                "the store is unreachable (%s); trying again in %.1fs",
                str(exc).splitlines()[0],
                pause,
            )
            return pause
        if self._store_failures:
            log.warning("the store is reachable again; carrying on")
            self._store_failures = 0
        return 0.0

    def stop(self) -> None:
        if self.processor is not None:
            self.processor.stop()  # a parse in flight must not outlive the scheduler
        self.executor.stop(grace=interrupts.stop_grace(self.settings.kill_grace_seconds))
        self.callbacks.stop()
        try:
            with self.store.write() as conn:
                scheduling.record_stop(conn, self.id, utcnow())
        except STORE_UNREACHABLE:
            log.warning("could not record this scheduler's stop; its heartbeat will go stale")
        listeners.notify("before_stopping", component=self)
        stats.job_ended("SchedulerJob")
        if self.settings.scheduler_tracemalloc:
            memory_trace.stop()

    # -- one loop --------------------------------------------------------------------------

    def step(self, now: datetime | None = None) -> None:
        """One scheduling loop. ``now`` may be moved ahead by tests to skip retry delays;
        otherwise every move reads the clock when it happens, so a run that finishes during
        this loop never ends after its successor starts.

        A unit of work that raises (see :mod:`conveyor.scheduler.problems`) is recorded and
        skipped; the phases below guard their DAGs, runs and tries one by one, and each step
        as a whole (the heartbeat and the problems' refresh too) is guarded, so nothing but a
        lost store ends a loop early."""
        started = time.monotonic()
        self._step(now)
        stats.scheduler_loop(time.monotonic() - started)
        if stats.on() and time.monotonic() >= self._next_gauges:
            self._next_gauges = time.monotonic() + GAUGES_SECONDS
            with self.problems.guard("metrics"):
                self.send_gauges()
        if stats.on() and time.monotonic() >= self._next_instance_gauges:
            self._next_instance_gauges = time.monotonic() + INSTANCE_GAUGES_SECONDS
            with self.problems.guard("metrics"):
                self.send_instance_gauges()

    def _step(self, now: datetime | None) -> None:
        # A loop that follows one which left work (a burst of DAGs due together, made in
        # slices of max_dagruns_to_create_per_loop) skips the timeout checks until a
        # loop-second went by: they were a tenth of each slice's time.
        in_burst = self._work_left and time.monotonic() < self._next_checks
        self._work_left = False
        self._queued_this_loop = 0
        self._starts_left = self.settings.max_dagruns_per_loop_to_schedule
        if self.processor is not None:
            with self.problems.guard("parse_dags"):
                self.processor.poll()
        with self.problems.guard("heartbeat"):
            self._heartbeat()
        with self.problems.guard("refresh_problems"):
            self.problems.refresh()
        if not self.safety_net.knows_left_running:
            with self.problems.guard("read_runs_left_running"):
                self._read_runs_left_running()
        with self.problems.guard("create_scheduled_runs"):
            self.create_scheduled_runs(now or utcnow())
        with self.problems.guard("create_dataset_runs"):
            datasets.create_dataset_runs(self.store, self.actor, now or utcnow(), self.problems)
        with self.problems.guard("start_queued_runs"):
            self.start_queued_runs()
        with self.problems.guard("advance_running_runs"):
            self.advance_running_runs(now)
        with self.problems.guard("complete_backfills"):
            self.complete_backfills(now or utcnow())
        with self.problems.guard("dispatch"):
            self.dispatch()
        stats.tasks_executable(self._queued_this_loop)
        # Every loop, a burst's slices too: a scheduler that takes over from a dead one
        # finds the tries it left this way.
        with self.problems.guard("requeue_stuck"):
            self.requeue_stuck(now or utcnow())
        with self.problems.guard("reap_zombies"):
            self.reap_zombies(now or utcnow())
        if not in_burst:
            self._next_checks = time.monotonic() + self.settings.scheduler_loop_seconds
            self._check_timeouts(now)
        with self.problems.guard("callbacks"):
            self.callbacks.poll()

    def _read_runs_left_running(self) -> None:
        """Before this scheduler starts a run: the runs running now, which the safety net
        plans whole as new (a crash may have left them half planned); a run started later
        was planned as it started."""
        with self.store.read() as conn:
            running = scheduling.running_runs(conn)
        self.safety_net.left_running(run.id for run in running)

    def _check_timeouts(self, now: datetime | None) -> None:
        """Runs past their timeout, deferrals and waits for a person past theirs, deadline
        alerts that came due: what depends on time passing alone."""
        with self.problems.guard("check_timeouts"):  # dagrun_timeout, SLA misses
            self.check_run_timeouts(now or utcnow())
        with self.problems.guard("check_deferral_timeouts"):
            timeouts.check_deferrals(
                self.store,
                self.actor,
                now or utcnow(),
                self.problems,
                parallelism=self.settings.parallelism,
            )
        with self.problems.guard("check_deadlines"):  # deadline alerts that came due
            deadlines.check(self.store, now or utcnow())
        with self.problems.guard("check_awaiting_input_timeouts"):
            awaiting_input.time_out_waits(self.store, self.actor, now=now)

    def _heartbeat(self, force: bool = False) -> None:
        if not force and time.monotonic() < self._next_heartbeat:
            return
        self._next_heartbeat = time.monotonic() + self.settings.heartbeat_seconds
        with stats.heartbeat_failures("SchedulerJob"), self.store.write() as conn:
            scheduling.record_heartbeat(conn, self.id, self.hostname, os.getpid(), utcnow())
        stats.scheduler_heartbeat()

    def send_instance_gauges(self) -> None:
        """Airflow's ``ti.<state>`` gauges, from the store (every scheduler sends the same)."""
        with self.store.read() as conn:
            counts = figures.instances_by_task(conn, GAUGED)
        self._instance_gauges.send(counts)

    def send_gauges(self) -> None:
        """Airflow's executor and pool gauges, from the store (cluster-wide: every queued
        or running try, whichever executor or worker holds it)."""
        with self.store.read() as conn:
            queued, running = figures.in_flight_by_state(conn)
            usage = pools.list_pools(conn)
        name = _EXECUTOR_NAMES.get(self.settings.executor, type(self.executor).__name__)
        free = self.executor.free_slots()
        with stats.together():
            stats.executor_slots(name, free, queued, running)
            starving = 0
            for pool in usage:
                # Scheduled tries beyond the pool's free slots cannot be queued now.
                waiting = 0 if pool.free is None else max(pool.scheduled - pool.free, 0)
                starving += waiting
                stats.pool_slots(
                    pool.name, pool.free, pool.queued, pool.running, pool.scheduled, waiting
                )
            stats.tasks_starving(starving)

    def check_run_timeouts(self, now: datetime) -> None:
        """Fail the runs past their ``dagrun_timeout`` and request SLA-miss alerts."""
        timeouts.check(self.store, self.actor, now, self.problems)

    def create_scheduled_runs(self, now: datetime) -> int:
        """Create the runs schedules call for, for the DAGs whose due time has come (an
        indexed read; an idle loop reads nothing else and takes no write lock). Each DAG
        looked at gets its next due time: its next run's, or now while more are due.

        No scheduled run is made while the DAG's queued and running runs (a backfill's
        apart, manual ones counted) fill its ``max_active_runs``: the DAG is held
        (``due_times.hold``) until one of them ends, and then goes on from the run that
        waited, so a catchup DAG fills its intervals in order and none is skipped."""
        self._next_due = None  # a loop whose read fails waits a whole loop, as before
        with self.store.read() as conn:
            due_now = {row.dag_id: row for row in due_times.due_dags(conn, now)}
            self._next_due = due_times.next_due(conn, now)
        held: dict[str, int] = {}  # the DAGs held in this loop, with their max_active_runs
        done: set[str] = set()  # the DAGs this loop made runs for (or held)

        def create(conn: Connection, dag_id: str) -> int:
            made = self._create_due_runs_of(conn, due_now[dag_id], now, held)
            if made is None:
                return 0
            done.add(dag_id)  # not reached by a DAG that raises: rolled back, not counted
            return made

        # At most max_dagruns_to_create_per_loop DAGs, the longest overdue first: those left
        # keep their due time, so the next loop (at once: ``_work_left``) takes them first.
        # A DAG another scheduler holds right now is not counted, nor one that raised (it
        # stays the longest overdue: counted, a few such would take every loop's places).
        budget = self.settings.max_dagruns_to_create_per_loop
        pending = list(due_now)
        made = 0
        while pending and len(done) < budget:
            batch, pending = pending[: budget - len(done)], pending[budget - len(done) :]
            made += self._each_dag_in_batches("create_scheduled_runs", batch, create)
        if pending:
            self._work_left = True
            log.debug("%d DAGs due are left for the next loop", len(pending))
        self._wake_if_room_came(held)
        return made

    def _wake_if_room_came(self, held: dict[str, int]) -> None:
        """A run that ended between the loop's count and the hold's commit found its DAG not
        held yet, so its end woke nothing: counted again now that the holds are committed,
        such a DAG is made due again. (A run whose end commits after this read finds the
        hold and wakes the DAG itself.)"""
        if not held:
            return
        with self.store.read() as conn:
            active = due_times.active_runs(conn, list(held))
        room = [dag_id for dag_id, cap in held.items() if active.get(dag_id, 0) < cap]
        if room:
            with self.store.write() as conn:
                due_times.wake(conn, room)

    def _create_due_runs_of(
        self,
        conn: Connection,
        row: due_times.DueDag,
        now: datetime,
        held: dict[str, int],
    ) -> int | None:
        """The runs made for the DAG; None when another scheduler is making them now."""
        if self.store.supports_row_locks and not runs.claim_dag(conn, row.dag_id):
            return None
        structure = runs.serialized_dag(conn, row.version_hash)
        room = max(structure.max_active_runs - row.active_runs, 0)
        due, next_after = self._due_runs(conn, row, structure, now, room)
        waiting = due[room:]  # due, but the DAG's active runs fill max_active_runs
        schedule = structure.schedule
        partitioned = schedule if isinstance(schedule, CronPartitionTimetable) else None
        for info in due[:room]:  # a tick another scheduler made already is skipped
            runs.create_run(
                conn,
                dag_id=row.dag_id,
                version_hash=row.version_hash,
                structure=structure,
                run_type="scheduled",
                logical_date=info.logical_date,
                interval=(info.data_interval.start, info.data_interval.end),
                created_by=self.actor.name,
                partition_key=partitioned.partition_key(info.run_after) if partitioned else None,
                partition_date=partitioned.partition_date(info.run_after) if partitioned else None,
            )
        if waiting:
            log.debug("%s is at max_active_runs; its next run waits for one to end", row.dag_id)
            if due_times.hold(
                conn,
                row.dag_id,
                version_hash=row.version_hash,
                waiting=waiting[0].run_after,
                recheck=now + timedelta(seconds=self.settings.run_sweep_seconds),
            ):
                held[row.dag_id] = structure.max_active_runs
            return len(due) - len(waiting)
        due_times.set_due_time(
            conn,
            row.dag_id,
            version_hash=row.version_hash,
            create_after=next_after,
            next_run_after=next_after,
        )
        return len(due)

    def _each_dag_in_batches(
        self, action: str, dag_ids: Sequence[str], work: Callable[[Connection, str], int]
    ) -> int:
        """``work`` for each DAG, up to ``DAGS_PER_TRANSACTION`` of them in one write
        transaction; the sum of what it returned. With 1,000 DAGs due at once, a transaction
        each made the first loop take 20 s.

        A batch in which a DAG raises is rolled back and done again with each DAG in a
        savepoint, so that the DAG's writes alone are undone. Its problem is recorded once
        the batch has committed: the guard cannot write while this transaction holds
        SQLite's lock."""
        done = 0
        for first in range(0, len(dag_ids), DAGS_PER_TRANSACTION):
            batch = dag_ids[first : first + DAGS_PER_TRANSACTION]
            try:
                with self.store.write() as conn:
                    done += sum(work(conn, dag_id) for dag_id in batch)
                failed: dict[str, Exception] = {}
            except STORE_UNREACHABLE:
                raise
            except Exception:
                done_by_dag, failed = self.store.write_each(batch, work)
                done += sum(done_by_dag.values())
            for dag_id in batch:
                with self.problems.guard(action, dag_id=dag_id):
                    if dag_id in failed:
                        raise failed[dag_id]
        return done

    def _due_runs(
        self,
        conn: Connection,
        row: due_times.DueDag,
        structure: SerializedDag,
        now: datetime,
        room: int,
    ) -> tuple[list[RunInfo], datetime | None]:
        """The scheduled runs due now (at most a loop's worth) and when the next one is
        due: ``now`` when more are due already, None when no further run will come. With
        ``room`` for fewer than a loop's worth under ``max_active_runs``, one more than the
        room is asked for: the run that has to wait, if one is due."""
        last = due_times.last_scheduled_interval(conn, row.dag_id)
        interval = DataInterval(*last) if last else None
        limit = min(MAX_NEW_RUNS_PER_LOOP, room + 1)
        return due_runs(structure, interval, now, limit, row.next_run_after)

    def start_queued_runs(self) -> None:
        """queued -> running within each DAG's ``max_active_runs``. Schedulers count and
        start a DAG's runs under a lock on its row, so two of them never both take the
        last free place. A run is planned and its first tries queued as it starts
        (:meth:`_plan_started`)."""
        with self.store.read() as conn:
            waiting = scheduling.dags_with_queued_runs(conn)

        def start_runs(conn: Connection, dag_id: str) -> int:
            if self.store.supports_row_locks and not runs.claim_dag(conn, dag_id):
                return 0
            return self._start_runs_of(conn, dag_id)

        started_tasks = self._each_dag_in_batches("start_runs", waiting, start_runs)
        # Runs that add much to the task instance table get its planner statistics refreshed
        # before they are planned whole (:mod:`.planner_statistics`).
        if started_tasks >= planner_statistics.MIN_ADDED_ROWS:
            with self.store.write() as conn:
                planner_statistics.refresh_if_outgrown(conn, started_tasks)

    def _start_runs_of(self, conn: Connection, dag_id: str) -> int:
        """Start the DAG's queued runs it has room for; how many tasks they hold. A run of
        a backfill waits for its backfill's room instead (``max_active_runs`` of the
        backfill, none while it is paused), as in Airflow 3."""
        queued = scheduling.queued_runs(conn, dag_id)
        active = scheduling.count_running_runs(conn, dag_id)
        paces = backfills.paces(conn, [r.backfill_id for r in queued if r.backfill_id])
        tasks = 0
        for run in queued:
            if self._starts_left <= 0:  # planned as they start: the rest start next loop
                self._work_left = True
                break
            structure = runs.serialized_dag(conn, run.version_hash)
            pace = paces.get(run.backfill_id or 0)
            if pace is not None and run.backfill_id is not None:
                if pace.is_paused or pace.running >= pace.max_active_runs:
                    continue
                if start_run(conn, run.id):
                    paces[run.backfill_id] = replace(pace, running=pace.running + 1)
                    self._plan_started(conn, run.id, structure)
                    tasks += len(structure.tasks)
                continue
            if active >= structure.max_active_runs:
                continue
            if start_run(conn, run.id):
                active += 1
                self._plan_started(conn, run.id, structure)
                tasks += len(structure.tasks)
        return tasks

    def _plan_started(self, conn: Connection, run_pk: int, structure: SerializedDag) -> None:
        """Plan a run in the transaction that starts it and queue its first tries into the
        room left under ``parallelism``, handed over before the commit as dispatch does (a
        receiver waits for the run's lock; the run was made in an earlier transaction, so
        its row is there to wait on): the first try need not wait for the loop's later
        phases, and no scheduler plans the run again as new. A run of ``MIN_ADDED_ROWS``
        tasks or more asks for its plan instead, made once the task instance table's
        statistics are refreshed."""
        self._starts_left -= 1
        if len(structure.tasks) >= planner_statistics.MIN_ADDED_ROWS:
            plan_requests.request_plan(conn, run_pk)
            return
        planning = time.monotonic()
        try:
            with undone_on_error(conn):
                advance = plan_started_run(
                    conn, run_pk, self.actor, parallelism=self.settings.parallelism
                )
        except STORE_UNREACHABLE:
            raise
        except Exception:
            # Started all the same: the loop's safety net plans it, and records the problem
            # against the run if its plan fails there too.
            log.debug("run %s could not be planned as it started", run_pk, exc_info=True)
            advance = None
        if advance is None:  # held elsewhere, or its plan failed: planned in a loop
            plan_requests.request_plan(conn, run_pk)
            return
        stats.dependency_check(structure.dag_id, time.monotonic() - planning)
        self.executor.submit(advance.queued)
        self._queued_this_loop += len(advance.queued)

    def complete_backfills(self, now: datetime) -> None:
        """A backfill none of whose runs is queued or running any more is completed."""
        with self.store.read() as conn:
            ended = backfills.ended_backfills(conn)
        for backfill_id in ended:
            with self.store.write() as conn:
                if backfills.complete(conn, backfill_id, now, if_ended=True):
                    log.info("backfill %s completed: its runs all ended", backfill_id)

    def advance_running_runs(self, now: datetime | None = None) -> None:
        """Plan whole the running runs the safety net picks (:mod:`.safety_net`): those
        something outside the fast path changed, or that came due; not every run each loop."""
        at = now or utcnow()
        with self.store.read() as conn:
            running = scheduling.running_runs(conn)
            requested = plan_requests.pending(conn)
            seen = safety_net.Seen(
                running,
                requested,
                scheduling.runs_with_due_retries(conn, at) if running else set(),
                scheduling.quiet_runs(conn) if running else set(),
            )
        if stats.on():
            stats.dagruns_running(len({run.dag_id for run in running}))
        chosen = self.safety_net.choose(seen, at)
        limit = self.settings.max_dagruns_per_loop_to_schedule
        if len(chosen) > limit:  # the rest first in the next loop, which starts at once
            log.debug("%d runs to plan are left for the next loop", len(chosen) - limit)
            self._work_left = True
        for run, why in chosen[:limit]:
            with self.problems.guard("advance_run", dag_id=run.dag_id, run_pk=run.id):
                log.debug("planning run %s of %s whole: %s", run.id, run.dag_id, why)
                planning = time.monotonic()
                with self.store.write() as conn:
                    # Claimed, not waited for: another scheduler or a finishing try is on
                    # it right now, and moves it on itself.
                    advance = plan_claimed_run(conn, run.id, self.actor, now=now)
                    if advance is not None:
                        plan_requests.met(conn, requested.pop(run.id, []))
                if advance is not None:
                    stats.dependency_check(run.dag_id, time.monotonic() - planning)
                    self.safety_net.planned(run, seen, at, idle=advance.idle)
        self._forget_requests_of_runs_not_running(requested, {run.id for run in running})

    def _forget_requests_of_runs_not_running(
        self, requested: dict[int, list[int]], running: set[int]
    ) -> None:
        """A queued run is planned whole once it starts, a finished one never: their
        requests are met already."""
        stale = [i for run_pk, ids in requested.items() if run_pk not in running for i in ids]
        if stale:
            with self.store.write() as conn:
                plan_requests.met(conn, stale)

    def dispatch(self) -> None:
        slots = self.executor.free_slots()
        if slots > 0:
            with self.store.read() as conn:
                waiting = scheduling.runs_with_scheduled_tries(conn)
            for run_pk, dag_id in waiting:
                if slots <= 0:
                    break
                with self.problems.guard("dispatch", dag_id=dag_id, run_pk=run_pk):
                    slots -= self._dispatch_run(run_pk, slots)
        self._tries_wait_for_slots = slots <= 0  # every slot taken: more may be waiting

    def _dispatch_run(self, run_pk: int, slots: int) -> int:
        """Queue up to ``slots`` scheduled tries of a run and hand them over; how many."""
        with self.store.write() as conn:
            tries = queue_scheduled(conn, run_pk, self.actor, limit=slots)
            # Handed over before the commit: a scheduler killed after it cannot leave a
            # try queued that no executor got (a receiver waits for the commit).
            self.executor.submit(tries)
        self._queued_this_loop += len(tries)
        return len(tries)

    def requeue_stuck(self, now: datetime) -> None:
        """Send again what stayed queued too long: a lost message, or an executor that died."""
        cutoff = now - timedelta(seconds=self.settings.requeue_after_seconds)
        lost_before = self.executor.resend_queued_before(now)  # a broker or worker loss seen
        if lost_before is not None:
            cutoff = max(cutoff, lost_before)
        with self.store.read() as conn:
            stuck = queued_tries(conn, queued_before=cutoff)
            since = scheduling.queued_at(conn, [t.ti_id for t in stuck])
        for work in stuck:
            if self.executor.holds(work.ti_id):
                continue
            waited = (now - since[work.ti_id]).total_seconds()
            with (
                self.problems.guard(
                    "requeue", dag_id=work.dag_id, run_pk=work.run_pk, key=work.ti_id
                ),
                self.store.write() as conn,
            ):
                if transitions.note_requeued(conn, work.ti_id, work.try_number, waited, self.actor):
                    self.executor.submit([work])

    def reap_zombies(self, now: datetime) -> None:
        limit = timedelta(seconds=self.settings.zombie_after_seconds)
        with self.store.read() as conn:
            running = scheduling.running_tries(conn)
        for row in running:
            if self.executor.holds(row.id):
                continue
            with self.problems.guard("reap", dag_id=row.dag_id, run_pk=row.run_pk, key=row.id):
                self._reap_if_lost(row, now, limit)

    def _reap_if_lost(self, row: scheduling.RunningTry, now: datetime, limit: timedelta) -> None:
        stale = not liveness.is_alive(row.heartbeat_at, now, limit)
        gone = (
            row.hostname == self.hostname
            and row.pid
            and not pid_alive(row.pid)
            and not self.executor.runs_process(row.pid)  # its executor records how it ended
        )
        if not (stale or gone):
            return
        why = (
            f"its process (pid {row.pid} on {row.hostname}) is gone"
            if gone
            else f"no heartbeat since {row.heartbeat_at:%H:%M:%S} "
            f"(limit {self.settings.zombie_after_seconds:g}s)"
        )
        result = end_from_outside(
            self.store,
            row.id,
            row.try_number,
            ExitKind.HEARTBEAT,
            f"the try was lost: {why}",
            worker_actor(),
            parallelism=self.settings.parallelism,
        )
        if result.state is not None and stale:
            stats.heartbeat_lost(row.dag_id, row.task_id)
        self.executor.submit(result.queued)
