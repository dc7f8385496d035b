"""The local executor: tries run in runner processes forked from a warm fork server.

Starting a fresh interpreter and importing SQLAlchemy, Jinja and Conveyor costs more than all
the rest of a hop between two tasks. So processes are forked from a fork server that imported
them once (``multiprocessing``'s forkserver, with Conveyor preloaded), and a crash or
``os._exit`` in user code cannot take the scheduler down.

By default a runner process is long-lived, as a Celery pool process is: it runs tries one
after another and keeps its store connection, its compiled statements and the DAG versions
it imported, so a hop costs a message on a pipe rather than a fork, a connection and an
import. A runner that dies, is killed for a timeout, or has run ``local_runner_max_tries``
tries is replaced. ``local_reuse_processes = false`` gives every try a fresh process instead.

Supervision stays here, outside the user's code: the executor heartbeats the tries it runs,
backs up a try's own ``execution_timeout`` (the try raises its timeout inside, as on Airflow,
so its retry and failure callbacks run; one still running ``backstop_seconds`` later is
killed: SIGTERM to its process group, the operator's ``on_kill`` runs in it, then SIGKILL
after the grace period), stops a try a person ended (the
store's stop requests, read every ``stop_check_seconds``, ``store/stops.py``) the same way,
and records a process that died without reporting, with its exit code and the tail of its log.
Each try's process leads a process group of its own, so the commands it started are stopped
with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from conveyor import interrupts
from conveyor._processes import (
    adopt_environment,
    fork_context,
    stop_group_when_gone,
    warm_up,
)
from conveyor.config import Settings
from conveyor.engine.kept import KeptTry, MayKeep
from conveyor.engine.progress import QueuedTry, queued_tries
from conveyor.engine.tries import end_from_outside, worker_actor
from conveyor.executors.base import Executor
from conveyor.states import IN_FLIGHT, ExitKind
from conveyor.stats import spans
from conveyor.store import stops, transitions
from conveyor.store.engine import Store
from conveyor.worker.runner import TryRunner, queued_log_path

log = logging.getLogger(__name__)


def _child_main(
    settings: Settings,
    ti_id: int,
    try_number: int,
    environ: dict[str, str],
    report: Connection | None = None,
    executor_pid: int | None = None,
) -> None:
    """Entry point of a try's process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the terminal is for the parent
    _lead_own_group()
    if executor_pid is not None:
        stop_group_when_gone(executor_pid)
    adopt_environment(environ)
    # A pool made in this process (never inherited across the fork) lets the try's few
    # transactions share one connection instead of opening one each; closed before exit so
    # PostgreSQL sees a clean goodbye rather than a dropped connection. No test before each
    # use: every transaction of a try goes through ``retrying`` (see _runner_main).
    store = Store(settings.db_url, pre_ping=False)
    try:
        runner = TryRunner(settings, store, in_process_timeouts=True)
        if report is not None:  # with listeners: told before they run
            runner.recorded = lambda result: report.send(Report(result.queued, busy=True))
        result = runner.run(ti_id, try_number)
    finally:
        store.dispose()
    if report is not None:
        # The outcome is committed: tell the executor what it queued now, so the next tries
        # start while this process is still exiting (a few ms of every hop otherwise).
        report.send(Report([] if result.reported else result.queued))
        report.close()


def _runner_main(
    settings: Settings,
    environ: dict[str, str],
    inbox: Connection,
    outbox: Connection,
    executor_pid: int,
) -> None:
    """Entry point of a long-lived runner: tries one after another, until told to stop.

    Of the tries a try's outcome queues, the runner starts one itself in the transaction
    that records it, as a Celery pool process does (``TryRunner.run``'s ``keep``): one write
    transaction a try instead of two. Each report tells the executor what the try queued for
    others and which try the runner kept, so that the executor times and heartbeats it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the terminal is for the parent
    _lead_own_group()
    stop_group_when_gone(executor_pid)
    adopt_environment(environ)
    # A try writes to its own log (the fds are pointed there for the try); between tries the
    # runner has nothing to say on stdout, and must not keep the parent's stdout pipe open
    # for as long as it lives (a caller waiting for that pipe's end would wait for it too).
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.close(quiet)
    # As in a Celery pool process: every transaction of a try goes through ``retrying``,
    # which takes a connection the server dropped as "unreachable" and asks again on a new
    # one, so the round trip that would test each connection before use is saved (on
    # PostgreSQL, a sixth of a runner's time in a workload of small tasks).
    store = Store(settings.db_url, pre_ping=False)
    runner = TryRunner(settings, store, in_process_timeouts=True, long_lived=True)
    # Each try starts where a fresh process would: the same working folder and environment.
    folder, environment = os.getcwd(), dict(os.environ)
    streak = _Streak(settings, inbox)
    # With listeners, a try's report goes out once it is recorded, before they run: the
    # tries it queued start elsewhere meanwhile (it keeps none then).
    runner.recorded = lambda result: outbox.send(Report(result.queued, busy=True))

    def fresh_start() -> None:
        os.chdir(folder)
        if os.environ != environment:
            os.environ.clear()
            os.environ.update(environment)

    try:
        while not streak.stopping:
            try:
                message = inbox.recv()
            except (EOFError, OSError):
                break  # the executor is gone
            if message is None:
                break
            ti_id, try_number = message
            fresh_start()
            result = runner.run(ti_id, try_number, keep=streak.may_keep())
            if not result.started:
                outbox.send(Report([]))
            # Each try's report, once its outcome is committed and before the try its record
            # kept runs: the executor times and heartbeats that one from here.
            while result.started:
                streak.tries += 1
                if result.reported:  # its tries are handed out: now the try is over
                    outbox.send(Report([]))
                else:
                    outbox.send(Report(result.queued, streak.taken(result.kept)))
                if result.kept is None:
                    break
                fresh_start()
                result = runner.run_kept(result.kept, keep=streak.may_keep())
    finally:
        spans.close()  # the tries' spans still batched: a multiprocessing child skips atexit
        store.dispose()


def _lead_own_group() -> None:
    """This process leads a process group: stopping its try reaches what the try started."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)


@dataclass
class Report:
    """What a try's process tells the executor once the try's outcome is committed."""

    queued: list[QueuedTry]  # for the executor to hand out
    kept: QueuedTry | None = None  # started by this runner in that transaction: it runs now
    #: The try's listeners are still to run: hand ``queued`` out now; the try's end is the
    #: report that follows.
    busy: bool = False


class _Streak:
    """Which tries a runner starts itself: any, until it has run ``local_runner_max_tries``
    or the executor asks it to stop (the only message a busy runner is ever sent). Not when
    logs are uploaded after the commit that would start the next try."""

    def __init__(self, settings: Settings, inbox: Connection) -> None:
        self.limit = settings.local_runner_max_tries
        self.allowed = not settings.remote_logs_url
        self.inbox = inbox
        self.tries = 0
        self.stopping = False

    def may_keep(self) -> MayKeep | None:
        """Whether the try about to run may keep one of the tries its record queues (any
        of them): not once the runner has run its tries or the executor asked it to stop."""
        try:
            if self.inbox.poll():
                self.stopping = self.inbox.recv() is None or self.stopping
        except (EOFError, OSError):  # the executor is gone
            self.stopping = True
        if self.stopping or not self.allowed or self.tries + 1 >= self.limit:
            return None
        return MayKeep()

    @staticmethod
    def taken(kept: KeptTry | None) -> QueuedTry | None:
        """The try the transaction just committed started here, as the executor knows it."""
        return None if kept is None else kept.work


@dataclass
class _Runner:
    """A long-lived runner process and its two pipes."""

    process: Any
    inbox: Connection  # the executor sends (ti_id, try_number), or None to stop it
    outbox: Connection  # the runner sends what each try queued, once its outcome is recorded
    tries: int = 0
    idle_since: float = 0.0
    dag_ids: set[str] = field(default_factory=set)  # DAGs whose versions it has imported


def log_tail(path: str, lines: int = 20) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode(errors="replace")
    except (OSError, ValueError):  # no log, or a path the file system cannot hold
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class _Running:
    work: QueuedTry
    process: Any
    deadline: float | None
    report: Connection | None  # what the try queued arrives here before the process ends
    runner: _Runner | None = None  # a long-lived runner: the try ends with its report
    killed_for_timeout: bool = False
    stopping: bool = False  # a person or the run's timeout ended the try: it is stopped
    kill_at: float | None = None
    reported: bool = False
    kept: QueuedTry | None = None  # the try its runner started in the recording transaction
    started: float = field(default_factory=time.monotonic)
    fenced: bool = False  # stopped because its heartbeat could not be written (_Fence)


class LocalExecutor(Executor):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.slots = settings.parallelism
        self.store = Store(settings.db_url, pool=False)  # records crashes and timeouts
        self._context = fork_context()
        self._backlog: deque[QueuedTry] = deque()
        self._running: dict[int, _Running] = {}  # by sentinel
        self._reports: dict[Connection, int] = {}  # report pipe -> sentinel of its try
        #: The try of each task instance this executor has, backlogged or running, by ti id.
        #: A try's hold ends with its report (its outcome is recorded): the retry or next poke
        #: of the same instance that the report hands out is the instance's new try.
        self._held: dict[int, QueuedTry] = {}
        self._idle: list[_Runner] = []  # long-lived runners waiting for a try
        self._next_heartbeat = 0.0
        self._next_stop_check = 0.0
        self._last_beat = time.monotonic()
        self._fence_stop = threading.Event()
        self._beats_stop = threading.Event()
        self._beats_apart = False  # the heartbeats come from a thread of their own (start)
        self._last_poll = time.monotonic()  # the loop's last visit: it supervises the tries
        self._beats = threading.Thread(
            target=self._beat_until_stopped, name="conveyor-heartbeat", daemon=True
        )

    def start(self) -> None:
        warm_up()
        # The fence keeps a try from running on after another scheduler declared it lost.
        # A SQLite store has one scheduler, this one, whose reaper skips the tries it holds:
        # a store it cannot write (a full disk) is waited out, and a try held at its record
        # meanwhile keeps its work; its loop writes the heartbeats (one writer at a time).
        if not self.store.is_sqlite:
            self._beats_apart = True
            self._beats.start()
            threading.Thread(target=self._fence, name="conveyor-fence", daemon=True).start()

    def _beat_until_stopped(self) -> None:
        """Heartbeat the running tries every ``heartbeat_seconds``, apart from the loop: a
        step that takes long (a busy machine, a lock waited on, a slow statement) must not
        age the heartbeats of healthy tries until the fence or another scheduler ends them.
        A write that fails is retried at the next beat; one that hangs (a silent link) ages
        the last beat, which the fence, in a thread of its own, watches. A loop that has not
        polled for ``zombie_after_seconds`` is stuck, not slow: nothing records how its tries
        end, so they are beaten no more, and are fenced and handed on as a lost executor's."""
        # A pooled store of its own: each beat reuses one connection instead of opening one.
        store = Store(self.settings.db_url)
        every = self.settings.heartbeat_seconds
        next_beat = time.monotonic() + every
        told = False  # that the loop is stuck, once
        while not self._beats_stop.wait(max(next_beat - time.monotonic(), 0)):
            next_beat = time.monotonic() + every  # a slow write does not delay the next
            stuck = time.monotonic() - self._last_poll
            if stuck >= self.settings.zombie_after_seconds:
                if not told and self._running:
                    told = True
                    log.error(
                        "the scheduler's loop has not polled its executor for %.1fs: no more "
                        "heartbeats for its running tries",
                        stuck,
                    )
                continue
            told = False
            try:
                self._write_heartbeat(store)
            except Exception as exc:  # the next beat tries again; the fence counts the gap
                log.warning("could not write the heartbeat of the running tries: %s", exc)
        store.dispose()

    def _fence(self) -> None:
        """Stop each try whose heartbeat this executor has failed to write for
        ``worker_fence_fraction`` of ``zombie_after_seconds`` (counted from its start if it
        started later), before another scheduler declares it lost and hands it on. From a
        thread of its own: the loop that heartbeats may hang on a silent link. The try ends
        as a stopped one (SIGTERM: on_kill; SIGKILL after ``kill_grace_seconds``) and is
        recorded by ``_reap`` once the store answers, unless it was declared lost first."""
        after = self.settings.worker_fence_fraction * self.settings.zombie_after_seconds
        grace = self.settings.kill_grace_seconds
        while not self._fence_stop.wait(min(0.5, self.settings.heartbeat_seconds)):
            try:
                entries = list(self._running.values())
            except RuntimeError:  # the loop changed the dict meanwhile: next time
                continue
            now = time.monotonic()
            for entry in entries:
                if entry.fenced or now - max(self._last_beat, entry.started) < after:
                    continue
                entry.fenced = True
                log.error(
                    "no heartbeat written for try %s of %s.%s for %.1fs (the store is "
                    "unreachable): stopping it before it is declared lost",
                    entry.work.try_number,
                    entry.work.dag_id,
                    entry.work.task_id,
                    now - max(self._last_beat, entry.started),
                )
                _signal(entry.process, signal.SIGTERM)
                timer = threading.Timer(grace, self._kill_if_running, (entry,))
                timer.daemon = True
                timer.start()

    def submit(self, tries: list[QueuedTry]) -> None:
        for work in tries:
            if work.ti_id not in self._held:
                self._held[work.ti_id] = work
                self._backlog.append(work)

    def _release(self, work: QueuedTry) -> None:
        """``work`` is over here; another try of its instance taken since stays held."""
        if self._held.get(work.ti_id) is work:
            del self._held[work.ti_id]

    def holds(self, ti_id: int) -> bool:
        return ti_id in self._held

    def runs_process(self, pid: int) -> bool:
        # A runner can report the try it kept and die in it between two polls: the try is
        # not held yet, but the runner's end is this executor's to record (a crash).
        return any(entry.process.pid == pid for entry in self._running.values())

    def free_slots(self) -> int:
        return max(self.slots - len(self._running) - len(self._backlog), 0)

    def idle(self) -> bool:
        return not self._running and not self._backlog

    def _kill_if_running(self, entry: _Running) -> None:
        """SIGKILL to a fenced try's group unless the loop has reaped its process (whose id
        could then be another's)."""
        try:
            running = any(other is entry for other in list(self._running.values()))
        except RuntimeError:
            running = True
        if running:
            _signal(entry.process, signal.SIGKILL)

    def _launch(self) -> None:
        while self._backlog and len(self._running) < self.slots:
            work = self._backlog.popleft()
            if self.settings.local_reuse_processes:
                self._hand_to_runner(work)
                continue
            report, report_end = self._context.Pipe(duplex=False)
            process = self._context.Process(
                target=_child_main,
                args=(
                    self.settings,
                    work.ti_id,
                    work.try_number,
                    dict(os.environ),
                    report_end,
                    os.getpid(),
                ),
                name=f"conveyor-try-{work.dag_id}.{work.task_id}",
                daemon=False,
            )
            process.start()
            report_end.close()
            deadline = self._deadline(work)
            self._running[process.sentinel] = _Running(work, process, deadline, report)
            self._reports[report] = process.sentinel

    def _deadline(self, work: QueuedTry) -> float | None:
        """When a try still running past its ``execution_timeout`` is killed from outside:
        its own timer raises the timeout first, and this leaves time for its callbacks."""
        if work.timeout_seconds is None:
            return None
        return time.monotonic() + work.timeout_seconds + backstop_seconds(self.settings)

    def _hand_to_runner(self, work: QueuedTry) -> None:
        """Send a try to an idle runner, or to a new one if none is idle (or one died)."""
        while True:
            runner = self._take_idle_runner(work.dag_id) or self._spawn_runner()
            try:
                runner.inbox.send((work.ti_id, work.try_number))
            except OSError:  # it died while idle: let it go, take another
                self._retire(runner)
                continue
            break
        self._run_on(runner, work)

    def _run_on(self, runner: _Runner, work: QueuedTry) -> None:
        """Time and heartbeat ``work`` as the try ``runner`` runs now."""
        self._held[work.ti_id] = work
        runner.dag_ids.add(work.dag_id)
        sentinel = runner.process.sentinel
        self._running[sentinel] = _Running(
            work, runner.process, self._deadline(work), runner.outbox, runner=runner
        )
        self._reports[runner.outbox] = sentinel

    def _take_idle_runner(self, dag_id: str) -> _Runner | None:
        """An idle runner that has imported ``dag_id`` already, else the one idle last.

        With many DAGs, a try sent to any runner would make every runner import every DAG
        file in the end: a file's import costs more than the try of a small task.
        """
        for index in range(len(self._idle) - 1, -1, -1):
            if dag_id in self._idle[index].dag_ids:
                return self._idle.pop(index)
        return self._idle.pop() if self._idle else None

    def _spawn_runner(self) -> _Runner:
        inbox_end, inbox = self._context.Pipe(duplex=False)
        outbox, outbox_end = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_runner_main,
            args=(self.settings, dict(os.environ), inbox_end, outbox_end, os.getpid()),
            name="conveyor-runner",
            daemon=False,
        )
        process.start()
        inbox_end.close()
        outbox_end.close()
        return _Runner(process, inbox, outbox)

    def _retire(self, runner: _Runner, *, kill: bool = False) -> None:
        """Stop a runner: ask it to exit (or kill it), and reap it."""
        self._retire_all([runner], kill=kill)

    def _retire_all(self, runners: list[_Runner], *, kill: bool = False) -> None:
        """Stop runners together: each is asked to exit (or killed) before any is waited
        for, so stopping many takes one grace period, not one each."""
        for runner in runners:
            try:
                if kill:
                    _signal(runner.process, signal.SIGKILL)
                else:
                    runner.inbox.send(None)
            except OSError:
                pass
            runner.inbox.close()
            runner.outbox.close()
        deadline = time.monotonic() + _RUNNER_EXIT_SECONDS
        for runner in runners:
            runner.process.join(timeout=None if kill else max(deadline - time.monotonic(), 0))
            if runner.process.exitcode is None:
                _signal(runner.process, signal.SIGKILL)
                runner.process.join()

    def _retire_idle(self) -> None:
        """Runners idle for a minute exit, so a quiet executor holds no memory for them."""
        now = time.monotonic()
        for runner in [r for r in self._idle if now - r.idle_since > _RUNNER_IDLE_SECONDS]:
            self._idle.remove(runner)
            self._retire(runner)

    def _runner_done(self, entry: _Running) -> None:
        """A runner reported its try: the try is over, and the runner goes on with the try
        it kept, or takes the next one."""
        runner = entry.runner
        assert runner is not None
        self._running.pop(runner.process.sentinel, None)
        self._release(entry.work)
        runner.tries += 1
        if entry.kept is not None:
            # Started and committed already: it is this runner's now, timed from here. A
            # runner killed for the try before it takes this one down with it (see _reap).
            self._run_on(runner, entry.kept)
            if entry.killed_for_timeout:
                self._fail(entry.work, ExitKind.TIMEOUT, _timeout_error(entry.work))
                _signal(runner.process, signal.SIGKILL)
            elif entry.stopping:
                _signal(runner.process, signal.SIGKILL)
            return
        if entry.stopping:
            self._retire(runner, kill=True)  # it reported as the stop came: it goes anyway
            self._stopped(entry)
        elif entry.killed_for_timeout:
            # It reported despite the SIGTERM; record the timeout as the per-try process
            # would be recorded (a lost race when the outcome is in), and replace it.
            self._retire(runner, kill=True)
            self._fail(entry.work, ExitKind.TIMEOUT, _timeout_error(entry.work))
        elif runner.tries >= self.settings.local_runner_max_tries:
            self._retire(runner)
        else:
            runner.idle_since = time.monotonic()
            self._idle.append(runner)

    def poll(self, timeout: float) -> int:
        self._last_poll = time.monotonic()
        self._retire_idle()
        self._launch()
        self._heartbeat()
        self._check_stops()
        if not self._running:
            interrupts.sleep(min(timeout, 0.05) if self._backlog else timeout)
            return 0
        wake = min(time.monotonic() + timeout, self._next_stop_check)
        for entry in self._running.values():
            for moment in (entry.deadline, entry.kill_at):
                if moment is not None:
                    wake = min(wake, moment)
        ready = interrupts.wait(
            [*self._running, *self._reports], timeout=max(wake - time.monotonic(), 0)
        )
        self._enforce_timeouts()
        finished = 0
        for report in [r for r in ready if isinstance(r, Connection)]:
            entry = self._running[self._reports[report]]
            self._take_report(entry)
            if entry.runner is not None and entry.reported:
                self._runner_done(entry)
                finished += 1
        ended = [r for r in ready if not isinstance(r, Connection) and r in self._running]
        for sentinel in ended:
            self._reap_guarded(sentinel)
        self._launch()
        return finished + len(ended)

    def _reap_guarded(self, sentinel: int) -> None:
        """Reap one try; an error in its bookkeeping is that try's problem, never the loop's.

        Its record stays as it is (running, or failed if that got written), and the
        scheduler's zombie check fails it once its heartbeat is stale.
        """
        entry = self._running.get(sentinel)
        try:
            self._reap(sentinel)
        except Exception:
            what = f"{entry.work.dag_id}.{entry.work.task_id}" if entry else f"process {sentinel}"
            log.exception("could not record how the try of %s ended; carrying on", what)
            self._running.pop(sentinel, None)
            if entry is not None:
                self._release(entry.work)
                if entry.report is not None:
                    self._reports.pop(entry.report, None)
                    entry.report.close()
                if entry.runner is not None:
                    self._retire(entry.runner, kill=True)

    def _take_report(self, entry: _Running) -> None:
        """Start what a finished try queued; only called once its pipe is readable."""
        report, entry.report = entry.report, None
        if report is None:
            return
        del self._reports[report]
        while True:
            try:
                told: Report = report.recv()
            except (EOFError, OSError):
                if entry.runner is None:
                    report.close()
                return  # it ended without reporting: the reap looks at how
            self._release(entry.work)  # recorded: what it queued may be its instance's next
            if not told.busy:
                break
            # Recorded, its listeners still to run: hand out what it queued; the try's end
            # is the report that follows (read now if it came already, or at its turn).
            self.submit(told.queued)
            if not report.poll():
                entry.report = report
                self._reports[report] = entry.process.sentinel
                return
        if entry.runner is None:
            report.close()  # a runner's pipe stays open for its next try
        entry.reported = True
        entry.kept = told.kept
        self.submit(told.queued)

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for entry in self._running.values():
            if (
                entry.deadline is not None
                and now >= entry.deadline
                and not entry.killed_for_timeout
                and not entry.stopping
            ):
                entry.killed_for_timeout = True
                entry.kill_at = now + self.settings.kill_grace_seconds
                log.info(
                    "try %s of %s.%s passed its timeout; terminating",
                    entry.work.try_number,
                    entry.work.dag_id,
                    entry.work.task_id,
                )
                _signal(entry.process, signal.SIGTERM)
            elif entry.kill_at is not None and now >= entry.kill_at:
                entry.kill_at = None
                _signal(entry.process, signal.SIGKILL)

    def _reap(self, sentinel: int) -> None:
        entry = self._running.pop(sentinel)
        self._take_report(entry)  # the process is gone: its pipe holds the report or EOF
        if entry.stopping or entry.killed_for_timeout or entry.fenced:
            # What the try started and left behind in its group goes with it; its id is
            # still this (unreaped) process's, so no other group can have taken it.
            _signal(entry.process, signal.SIGKILL)
        entry.process.join()
        if entry.runner is not None:  # the runner died with it: its pipes go too
            entry.runner.inbox.close()
            entry.runner.outbox.close()
        code = entry.process.exitcode
        work = entry.work
        self._release(work)
        if entry.stopping:
            self._stopped(entry)  # ended in the store already, as the person chose
        elif entry.killed_for_timeout:
            self._fail(work, ExitKind.TIMEOUT, _timeout_error(work))
        elif entry.fenced:
            after = self.settings.worker_fence_fraction * self.settings.zombie_after_seconds
            error = (
                f"stopped by its executor, which could not write its heartbeat for {after:g}s "
                "(the store was unreachable)"
            )
            self._fail(work, ExitKind.HEARTBEAT, error)
        elif code != 0:
            path = str(queued_log_path(self.settings, self.store, work))
            tail = log_tail(path)
            error = f"the task's process {_how_it_ended(code)} without reporting" + (
                f"; last lines of its log:\n{tail}" if tail else ""
            )
            self._fail(work, _exit_kind(code), error)
        if entry.kept is not None:  # started in the runner's last commit, never run
            how = _how_it_ended(code)
            error = f"the runner process that started this try {how} before running it"
            self._fail(entry.kept, _exit_kind(code), error)
        if not entry.reported:
            self._pick_up_fast_path(work.run_pk)

    def _fail(self, work: QueuedTry, exit_kind: ExitKind, error: str) -> None:
        result = end_from_outside(
            self.store,
            work.ti_id,
            work.try_number,
            exit_kind,
            error,
            worker_actor(),
            parallelism=self.settings.parallelism,
            expected=sorted(IN_FLIGHT),
        )
        self.submit(result.queued)

    def _pick_up_fast_path(self, run_pk: int) -> None:
        """A try ended without reporting what it queued: ask the store instead."""
        with self.store.read() as conn:
            self.submit(queued_tries(conn, run_pk=run_pk))

    def _check_stops(self) -> None:
        """Stop the tries the store asks to stop: SIGTERM to the try's process group now
        (its operator's on_kill runs), SIGKILL at the grace's end (``_enforce_timeouts``)."""
        now = time.monotonic()
        if now < self._next_stop_check:
            return
        self._next_stop_check = now + self.settings.stop_check_seconds
        if not self._running:
            return
        by_try = {(e.work.ti_id, e.work.try_number): e for e in self._running.values()}
        with self.store.read() as conn:
            asked = stops.asked(conn, [ti_id for ti_id, _ in by_try])
        grace = self.settings.kill_grace_seconds
        for stop in asked:
            entry = by_try.get((stop.ti_id, stop.try_number))
            if entry is None or entry.stopping:
                continue
            entry.stopping = True
            entry.kill_at = time.monotonic() + grace
            log.info(
                "try %s of %s.%s was ended from outside; stopping its process",
                entry.work.try_number,
                entry.work.dag_id,
                entry.work.task_id,
            )
            _signal(entry.process, signal.SIGTERM)
            with self.store.write() as conn:
                stops.sent(conn, stop, worker_actor(), pid=entry.process.pid, grace=grace)

    def _stopped(self, entry: _Running) -> None:
        """A stopped try's process is gone: a cleared try may run again now."""
        with self.store.write() as conn:
            stops.process_gone(conn, entry.work.ti_id, entry.work.try_number)

    def _heartbeat(self) -> None:
        """The loop's heartbeat, on a SQLite store only (see ``start``)."""
        now = time.monotonic()
        if self._beats_apart or now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self.settings.heartbeat_seconds
        self._write_heartbeat(self.store)

    def _write_heartbeat(self, store: Store) -> None:
        """Refresh the heartbeat of every try this executor runs, from the loop or from the
        heartbeat thread (which reads the loop's table of running tries as it stands)."""
        try:
            ti_ids = [entry.work.ti_id for entry in list(self._running.values())]
        except RuntimeError:  # the loop changed the dict meanwhile: at the next beat
            return
        if not ti_ids:
            return
        with store.write() as conn:
            transitions.heartbeat(conn, ti_ids)
        self._last_beat = time.monotonic()

    def stop(self, grace: float) -> None:
        """Let running tries finish within ``grace`` seconds, then kill and fail the rest."""
        self._fence_stop.set()
        self._backlog.clear()
        for entry in self._running.values():  # keep no more tries: finish this one, and exit
            if entry.runner is not None:
                with contextlib.suppress(OSError):
                    entry.runner.inbox.send(None)
        deadline = time.monotonic() + grace
        while self._running and time.monotonic() < deadline:
            self._last_poll = time.monotonic()  # draining is supervising
            ready = wait([*self._running, *self._reports], timeout=deadline - time.monotonic())
            for report in [r for r in ready if isinstance(r, Connection)]:
                entry = self._running[self._reports[report]]
                self._take_report(entry)
                if entry.runner is not None and entry.reported:
                    self._runner_done(entry)
            for sentinel in [r for r in ready if not isinstance(r, Connection)]:
                if sentinel in self._running:
                    self._reap_guarded(sentinel)
        self._terminate_running()
        for sentinel in list(self._running):
            self._running[sentinel].process.join()
            self._reap_guarded(sentinel)
        self._beats_stop.set()  # beaten while they finished, as the grace lets them
        if self._beats.is_alive():
            self._beats.join(timeout=self.settings.heartbeat_seconds + 1)  # a beat in flight
        idle, self._idle = self._idle, []
        self._retire_all(idle)

    def _terminate_running(self) -> None:
        """What still runs is stopped as a stopped try is: SIGTERM (its on_kill ends what it
        started), then SIGKILL to its group shortly after."""
        for entry in list(self._running.values()):
            _signal(entry.process, signal.SIGTERM)
        ending = [entry.process.sentinel for entry in self._running.values()]
        until = time.monotonic() + _TERM_SECONDS
        while ending and time.monotonic() < until:
            for done in wait(ending, timeout=max(until - time.monotonic(), 0)):
                ending.remove(done)
        for entry in list(self._running.values()):
            _signal(entry.process, signal.SIGKILL)


_RUNNER_IDLE_SECONDS = 60.0
#: How long runners asked to exit get before they are killed.
_RUNNER_EXIT_SECONDS = 3.0
#: How long tries still running when the executor stops get between SIGTERM and SIGKILL.
_TERM_SECONDS = 1.0


def backstop_seconds(settings: Settings) -> float:
    """How long after its ``execution_timeout`` a try that did not end is killed from outside
    (as Celery's hard ``time_limit`` backs up the same timer)."""
    return 2 * settings.kill_grace_seconds + 5


def _timeout_error(work: QueuedTry) -> str:
    return f"execution_timeout of {work.timeout_seconds:g}s exceeded; the try was killed"


def _how_it_ended(code: int | None) -> str:
    """How a process ended, to follow "the ... process" in a try's error."""
    if code is not None and code < 0:
        return f"was killed by signal {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _exit_kind(code: int | None) -> ExitKind:
    return ExitKind.SIGNAL if code is not None and code < 0 else ExitKind.CRASH


def _signal(process: Any, sig: int) -> None:
    """``sig`` to the process's group when it leads one (a try's process does), else to it."""
    pid = process.pid
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
