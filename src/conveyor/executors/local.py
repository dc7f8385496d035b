"""The local executor: each try in its own process, forked from a warm fork server.

Starting a fresh interpreter and importing SQLAlchemy, Jinja and Conveyor costs more than all
the rest of a hop between two tasks. So tries are forked from a fork server that imported
them once (``multiprocessing``'s forkserver, with Conveyor preloaded): each try still gets a
process of its own, and a crash or ``os._exit`` in user code cannot take the scheduler down.

Supervision stays here, outside the user's code: the executor heartbeats the tries it runs,
kills a try past its ``execution_timeout`` (SIGTERM, then SIGKILL after the grace period) and
records a process that died without reporting, with its exit code and the tail of its log.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from conveyor._processes import adopt_environment, fork_context, warm_up
from conveyor.config import Settings
from conveyor.engine.progress import QueuedTry, queued_tries
from conveyor.executors.base import Executor
from conveyor.states import ExitKind, TaskState
from conveyor.store import transitions
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance
from conveyor.worker.runner import TryRunner, fail_from_outside, log_path_for

log = logging.getLogger(__name__)


def _warm_engine_code() -> None:
    """Build (never connect) a store of each kind once, when this module is imported.

    The fork server preloads this module, so every try's process inherits warm engine code
    (URL parsing, dialect set-up) and makes its own Store in about 2 ms instead of 5. The
    PostgreSQL one only where its driver is loaded already (the fork server preloads it), so
    that importing this module elsewhere does not pay for importing psycopg.
    """
    Store("sqlite://").dispose()
    if "psycopg" in sys.modules:
        Store("postgresql://warm@localhost/warm").dispose()


_warm_engine_code()


def _child_main(
    settings: Settings,
    ti_id: int,
    try_number: int,
    environ: dict[str, str],
    report: Connection | None = None,
) -> None:
    """Entry point of a try's process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the terminal is for the parent
    adopt_environment(environ)
    # A pool made in this process (never inherited across the fork) lets the try's few
    # transactions share one connection instead of opening one each; closed before exit so
    # PostgreSQL sees a clean goodbye rather than a dropped connection.
    store = Store(settings.db_url)
    try:
        result = TryRunner(settings, store).run(ti_id, try_number)
    finally:
        store.dispose()
    if report is not None:
        # The outcome is committed: tell the executor what it queued now, so the next tries
        # start while this process is still exiting (a few ms of every hop otherwise).
        report.send(result.queued)
        report.close()


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
    killed_for_timeout: bool = False
    kill_at: float | None = None
    reported: bool = False


class LocalExecutor(Executor):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.slots = settings.parallelism
        self.runner = TryRunner(settings)  # records crashes and timeouts
        self._context = fork_context()
        self._backlog: deque[QueuedTry] = deque()
        self._running: dict[int, _Running] = {}  # by sentinel
        self._reports: dict[Connection, int] = {}  # report pipe -> sentinel of its try
        self._held: set[int] = set()
        self._next_heartbeat = 0.0

    def start(self) -> None:
        warm_up()

    def submit(self, tries: list[QueuedTry]) -> None:
        for work in tries:
            if work.ti_id not in self._held:
                self._held.add(work.ti_id)
                self._backlog.append(work)

    def holds(self, ti_id: int) -> bool:
        return ti_id in self._held

    def free_slots(self) -> int:
        return max(self.slots - len(self._running) - len(self._backlog), 0)

    def idle(self) -> bool:
        return not self._running and not self._backlog

    def _launch(self) -> None:
        while self._backlog and len(self._running) < self.slots:
            work = self._backlog.popleft()
            report, report_end = self._context.Pipe(duplex=False)
            process = self._context.Process(
                target=_child_main,
                args=(self.settings, work.ti_id, work.try_number, dict(os.environ), report_end),
                name=f"conveyor-try-{work.dag_id}.{work.task_id}",
                daemon=False,
            )
            process.start()
            report_end.close()
            deadline = None
            if work.timeout_seconds is not None:
                deadline = time.monotonic() + work.timeout_seconds
            self._running[process.sentinel] = _Running(work, process, deadline, report)
            self._reports[report] = process.sentinel

    def poll(self, timeout: float) -> int:
        self._launch()
        self._heartbeat()
        if not self._running:
            time.sleep(min(timeout, 0.05)) if self._backlog else time.sleep(timeout)
            return 0
        wake = time.monotonic() + timeout
        for entry in self._running.values():
            for moment in (entry.deadline, entry.kill_at):
                if moment is not None:
                    wake = min(wake, moment)
        ready = wait([*self._running, *self._reports], timeout=max(wake - time.monotonic(), 0))
        self._enforce_timeouts()
        for report in [r for r in ready if isinstance(r, Connection)]:
            self._take_report(self._running[self._reports[report]])
        ended = [r for r in ready if not isinstance(r, Connection)]
        for sentinel in ended:
            self._reap_guarded(sentinel)  # type: ignore[arg-type]
        self._launch()
        return len(ended)

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
                self._held.discard(entry.work.ti_id)
                if entry.report is not None:
                    self._reports.pop(entry.report, None)
                    entry.report.close()

    def _take_report(self, entry: _Running) -> None:
        """Start what a finished try queued; only called once its pipe is readable."""
        report, entry.report = entry.report, None
        if report is None:
            return
        del self._reports[report]
        try:
            queued: list[QueuedTry] = report.recv()
        except (EOFError, OSError):
            return  # it ended without reporting: the reap looks at how
        finally:
            report.close()
        entry.reported = True
        self.submit(queued)

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for entry in self._running.values():
            if (
                entry.deadline is not None
                and now >= entry.deadline
                and not entry.killed_for_timeout
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
        entry.process.join()
        code = entry.process.exitcode
        work = entry.work
        self._held.discard(work.ti_id)
        if entry.killed_for_timeout:
            error = f"execution_timeout of {work.timeout_seconds:g}s exceeded; the try was killed"
            self._fail(work, ExitKind.TIMEOUT, error)
        elif code != 0:
            path = str(
                log_path_for(
                    self.settings,
                    work.dag_id,
                    work.run_id,
                    work.task_id,
                    work.try_number,
                    work.map_index,
                )
            )
            how = (
                f"killed by signal {signal.Signals(-code).name}"
                if code and code < 0
                else f"exited with status {code}"
            )
            tail = log_tail(path)
            error = f"the task's process {how} without reporting" + (
                f"; last lines of its log:\n{tail}" if tail else ""
            )
            self._fail(work, ExitKind.SIGNAL if code and code < 0 else ExitKind.CRASH, error)
        if not entry.reported:
            self._pick_up_fast_path(work.run_pk)

    def _fail(self, work: QueuedTry, exit_kind: ExitKind, error: str) -> None:
        result = fail_from_outside(
            self.runner,
            work.ti_id,
            work.try_number,
            exit_kind,
            error,
            expected=(TaskState.RUNNING, TaskState.QUEUED),
        )
        self.submit(result.queued)

    def _pick_up_fast_path(self, run_pk: int) -> None:
        """A try ended without reporting what it queued: ask the store instead."""
        with self.runner.store.read() as conn:
            self.submit(queued_tries(conn, task_instance.c.run_pk == run_pk))

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now < self._next_heartbeat or not self._running:
            return
        self._next_heartbeat = now + self.settings.heartbeat_seconds
        with self.runner.store.write() as conn:
            transitions.heartbeat(conn, [e.work.ti_id for e in self._running.values()])

    def stop(self, grace: float) -> None:
        """Let running tries finish within ``grace`` seconds, then kill and fail the rest."""
        self._backlog.clear()
        deadline = time.monotonic() + grace
        while self._running and time.monotonic() < deadline:
            for sentinel in wait(list(self._running), timeout=deadline - time.monotonic()):
                self._reap_guarded(sentinel)  # type: ignore[arg-type]
        for entry in list(self._running.values()):
            _signal(entry.process, signal.SIGKILL)
        for sentinel in list(self._running):
            self._running[sentinel].process.join()
            self._reap_guarded(sentinel)


def _signal(process: Any, sig: int) -> None:
    try:
        if process.pid:
            os.kill(process.pid, sig)
    except ProcessLookupError:
        pass
