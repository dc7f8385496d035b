"""Run one try of one task instance in this process, from queued to its recorded outcome.

The executor (local pool or Celery worker) decides which process this is; this module does
the same thing in every one of them:

1. win ``queued -> running`` (a duplicate message or a second worker loses here and stops),
2. import the DAG version the run pinned and build the task's context,
3. render templates and call ``execute``,
4. hand the outcome and the return value to ``engine.tries.try_ended``, which records them,
   skips branches not taken, and advances the run (the fast path) in one transaction.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from conveyor.callbacks import TASK_HOOKS, DagResolver, after_try, call_all
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.connections import masking, try_scope
from conveyor.engine import deferral
from conveyor.engine.progress import KeptTry, QueuedTry
from conveyor.engine.tries import (
    TryEnd,
    TryResult,
    end_from_outside,
    failure_outcome,
    try_ended,
    worker_actor,
)
from conveyor.exceptions import Fail, Reschedule, Skip, TaskDeferred, TaskTimeout
from conveyor.loading import namespaces
from conveyor.loading.code_cache import load_pinned_dag, loaded_dag
from conveyor.logs import upload_try_log
from conveyor.model.assets import Emitted
from conveyor.model.dag import DAG
from conveyor.model.mapping import unmap
from conveyor.model.runtime import current_context
from conveyor.model.task import retry_delay_for
from conveyor.model.templating import render_template_fields
from conveyor.model.xcom_arg import RETURN_VALUE
from conveyor.private_files import PRIVATE_FILE, private_dir, private_open
from conveyor.run_ids import check_run_id, folder_name
from conveyor.states import ExitKind, TaskState
from conveyor.store import hop, runs
from conveyor.store.engine import Connection, Store, retrying
from conveyor.store.rendered import keep_rendered
from conveyor.store.runs import RunRow
from conveyor.store.transitions import Actor, Outcome, StartedTry
from conveyor.store.xcom import upsert_xcom
from conveyor.worker.context import (
    TaskInstanceHandle,
    build_context,
    check_json,
    push_each_key,
)
from conveyor.worker.rendered import rendered_fields
from conveyor.worker.xcom_masking import shown_xcom

log = logging.getLogger(__name__)


def _waiting(
    exc: Reschedule | TaskDeferred,
    task: Any,
    try_number: int,
    max_tries: int,
    retry_delay: timedelta,
) -> tuple[Outcome, deferral.Deferral | None]:
    """A sensor in reschedule mode pokes later; a deferred task waits for its trigger
    (``engine/deferral.py``). Either frees its slots."""
    if isinstance(exc, Reschedule):
        return Outcome(TaskState.UP_FOR_RESCHEDULE, ExitKind.RESCHEDULE, retry_at=exc.at), None
    return deferral.outcome_of(exc, task, try_number, max_tries, retry_delay)


def log_path_for(
    settings: Settings, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
) -> Path:
    # folder_name is injective and never leaves the DAG's folder, whatever the run id.
    folder = settings.logs_path / dag_id / folder_name(run_id) / task_id
    if map_index >= 0:  # each instance of a mapped task has its own logs
        folder = folder / f"map_index={map_index}"
    return folder / f"try-{try_number}.log"


def queued_log_path(settings: Settings, work: QueuedTry) -> Path:
    """The log file of a queued try (:func:`log_path_for`)."""
    return log_path_for(
        settings, work.dag_id, work.run_id, work.task_id, work.try_number, work.map_index
    )


_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent) + os.sep


def _describe_exception(exc: BaseException) -> str:
    """The traceback of the user's code: Conveyor's own frames only add noise to "why"."""
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if not f.filename.startswith(_PACKAGE_DIR)]
    text = "".join(traceback.format_list(user or frames))
    return text + "".join(traceback.format_exception_only(type(exc), exc)).strip()


class TryRunner:
    """Runs tries against one store; a Celery worker keeps one for its life.

    ``resolve_dag(conn, version_hash, dag_id)`` finds the DAG object of a pinned version: by
    default from the code cache; ``conveyor.testing`` hands in the DAG objects it was given.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        resolve_dag: DagResolver | None = None,
        output: str = "fd",
        in_process_timeouts: bool = False,
        publish: Callable[[list[QueuedTry]], None] | None = None,
    ) -> None:
        self.settings = settings
        # Sends what the fast path queues from inside the recording transaction, before its
        # commit, so no crash can fall between the two (see transitions.wait_for_queuing for
        # how a receiver waits for the commit). Without it, the caller sends TryResult.queued.
        self.publish = publish
        self.store = store or Store(settings.db_url, pool=False)
        self.hostname = socket.gethostname()
        self.resolve_dag = resolve_dag or self._from_code_cache
        self.output = output  # "fd": redirect file descriptors; "python": sys.stdout only
        # Normally the supervising process enforces execution_timeout from outside; a try run
        # inline (conveyor.testing) has no such supervisor, so it uses a timer signal instead.
        self.in_process_timeouts = in_process_timeouts
        # For the try being run: which of the tries its fast path queues this process may
        # start itself (see run); and the one it did start, with its run.
        self.keep: Callable[[QueuedTry], bool] | None = None
        self._kept: tuple[StartedTry, RunRow] | None = None
        self._kept_start: StartedTry | None = None  # set while the recording transaction runs

    def _from_code_cache(self, conn: Connection, version_hash: str, dag_id: str) -> DAG:
        return load_pinned_dag(conn, version_hash, dag_id, self.settings.home / "code")

    @property
    def actor(self) -> Actor:
        return worker_actor(self.hostname)  # asked on every hop: the name is not asked again

    def run(
        self,
        ti_id: int,
        try_number: int,
        *,
        keep: Callable[[QueuedTry], bool] | None = None,
        recorded: Callable[[TryResult, StartedTry | None], None] | None = None,
    ) -> TryResult:
        """Run the try; then, while ``keep`` says yes to a try that the fast path queued,
        that try too, started in the transaction that queued it (see :meth:`record`). The
        result is the last try's.

        ``recorded(result, kept)`` is told of each try once its outcome is committed, with
        the try that transaction started (None at the end of the streak), before that try
        runs: a supervisor that times each try learns of it there. Without a ``publish``
        hook, nothing is kept unless ``recorded`` is given, since the tries a streak's
        earlier tries queued would otherwise wait for its end."""
        won = retrying(lambda: self._start(ti_id, try_number), what="starting a try")
        if won is None:
            log.info(
                "try %s of task instance %s was started elsewhere (or does not exist); "
                "not running it",
                try_number,
                ti_id,
            )
            return TryResult(started=False)
        self.keep = keep if self.publish is not None or recorded is not None else None
        try:
            result = self._run_started(*won)
            while True:
                kept, self._kept = self._kept, None
                if recorded is not None:
                    recorded(result, kept[0] if kept is not None else None)
                if kept is None:
                    break
                result = self._run_started(*kept)
        finally:
            self.keep, self._kept = None, None
        return result

    def _run_started(self, started: StartedTry, run: RunRow) -> TryResult:
        try_number = started.try_number
        log_file = log_path_for(
            self.settings,
            started.dag_id,
            started.run_id,
            started.task_id,
            try_number,
            started.map_index,
        )
        output = contextlib.ExitStack()
        try:
            # A run stored around the rule (straight into the store) is refused here.
            check_run_id(started.run_id)
            # Made here, once the start is committed, and never in a thread beside the
            # transaction: such a thread took the interpreter's lock from the transaction
            # between its statements, and the store's lock was held that much longer (a
            # fan-out ran 15 to 25 % faster without it, see bench/README.md). The folder
            # costs one mkdir; the file is created 0600 as the output opens it.
            private_dir(log_file.parent)
            output.enter_context(_output_to(log_file, mode=self.output))
        except Exception as exc:  # this try's bookkeeping failed: fail the try, say why
            reason = f"the try could not start its log {str(log_file)!r}: {exc}"
            log.error("%s.%s: %s", started.dag_id, started.task_id, reason)
            return end_from_outside(
                self.store,
                started.ti_id,
                try_number,
                ExitKind.BOOKKEEPING,
                reason,
                self.actor,
                parallelism=self.settings.parallelism,
            )
        # try_scope: connections and variables read this store; secrets read are masked.
        with output, _task_logging(), try_scope(self.store, self.settings):
            print(
                f"[conveyor] {started.dag_id}.{started.task_id} run {started.run_id} try "
                f"{try_number} of {started.max_tries} on {self.hostname} pid {os.getpid()}",
                flush=True,
            )
            try:
                result = self._execute(started, run, log_file)
            finally:
                if self.resolve_dag == self._from_code_cache:
                    # The helper modules its DAG imported go back to their namespace, and
                    # what its code rebound in airflow.* is put back: the next try may be
                    # another DAG's. (DAG objects handed in, as by conveyor.testing, were
                    # imported by the caller, who keeps what they import.)
                    namespaces.leave()
        upload_try_log(self.settings, log_file)  # to remote_logs_url, when set; never raises
        return result

    def _start(self, ti_id: int, try_number: int) -> tuple[StartedTry, RunRow] | None:
        """Win the try; the run comes in the same transaction, saving one of its own."""
        with self.store.write() as conn:
            return self._start_in(conn, ti_id, try_number)

    def _start_in(
        self, conn: Connection, ti_id: int, try_number: int
    ) -> tuple[StartedTry, RunRow] | None:
        return hop.start_and_read(
            conn,
            ti_id,
            try_number,
            hostname=self.hostname,
            pid=os.getpid(),
            actor=self.actor,
            log_path=lambda t: str(
                log_path_for(self.settings, t.dag_id, t.run_id, t.task_id, try_number, t.map_index)
            ),
        )

    def _pinned(self, run: RunRow) -> DAG:
        """The DAG version the run pinned: imported once per process, then kept. Its
        structure is parsed here too, in a read transaction: the try's record plans with it
        while it holds the store's write lock, where parsing a DAG of thousands of tasks
        (a quarter of a second) held every other process up."""
        found = None
        if self.resolve_dag == self._from_code_cache:
            found = loaded_dag(run.version_hash, run.dag_id)
        if found is not None and runs.is_parsed(run.version_hash):
            return found
        with self.store.read() as conn:
            if found is None:
                found = self.resolve_dag(conn, run.version_hash, run.dag_id)
            runs.serialized_dag(conn, run.version_hash)
            return found

    def _execute(self, started: StartedTry, run: RunRow, log_file: Path) -> TryResult:
        ti_id, try_number, run_pk = started.ti_id, started.try_number, started.run_pk
        task_id, max_tries = started.task_id, started.max_tries
        value: Any = None
        chosen: list[str] | None = None
        deferred: deferral.Deferral | None = None
        # A short circuit's skips: "direct" or "all" downstream tasks, teardowns left to run.
        short_circuit: str | None = None
        retry_delay = timedelta(0)
        dag = task = context = None  # for the callbacks, once they exist
        emitted: Emitted | None = None  # a success's outlet_events
        rendered: dict[str, Any] | None = None
        try:
            dag = retrying(lambda: self._pinned(run), what="loading a try's DAG")
            # A copy, so rendering templates never changes the definition a later try reuses.
            task = copy.copy(dag.get_task(task_id))
            retry_delay = retry_delay_for(
                task.retry_delay or timedelta(0),
                task.retry_exponential_backoff,
                task.max_retry_delay,
                try_number,
            )
            ti = TaskInstanceHandle(
                self.store,
                run,
                task,
                try_number,
                max_tries,
                self.hostname,
                str(log_file),
                started.map_index,
                home=self.settings.home,
                max_conf_bytes=self.settings.max_conf_bytes,
            )
            task = ti.task = unmap(task, started.map_index, ti.xcom_pull_one)  # a mapped task
            context = build_context(dag, task, run, ti)
            started_at = time.monotonic()
            with (
                current_context(context),
                _time_limit(task.execution_timeout if self.in_process_timeouts else None),
            ):
                render_template_fields(task, context)
                rendered = rendered_fields(task)
                on_execute = getattr(task, "on_execute_callback", None)
                if on_execute:  # as in Airflow: its errors are logged, the try goes on
                    call_all(on_execute, context, "on_execute_callback")
                value = deferral.call_task(
                    self.store,
                    task,
                    context,
                    ti_id,
                    try_number,
                    lambda: _call_execute(task, context),
                )
            if task.is_branch:
                chosen = list(value or [])
            elif task.skip_downstream is not None:  # a short circuit that said stop
                chosen = []
                short_circuit = task.skip_downstream
            if not getattr(task, "do_xcom_push", True):
                value = None  # Airflow's do_xcom_push=False: the return value is not kept
            check_json(value, f"the return value of task {task_id!r}")
            if getattr(task, "multiple_outputs", False):
                push_each_key(ti, value, task_id)
            print(f"[conveyor] returned after {time.monotonic() - started_at:.3f}s", flush=True)
            emitted = context["outlet_events"].emitted(task.outlets)
            outcome = Outcome(TaskState.SUCCESS, ExitKind.RETURN)
        except TaskTimeout as exc:
            print(f"[conveyor] {exc}", file=sys.stderr, flush=True)
            outcome = failure_outcome(
                try_number, max_tries, retry_delay, ExitKind.TIMEOUT, str(exc)
            )
        except Skip as exc:
            print(f"[conveyor] skipped: {exc}", flush=True)
            outcome = Outcome(TaskState.SKIPPED, ExitKind.SKIP, str(exc) or None)
        except (Reschedule, TaskDeferred) as exc:  # the try waits without holding a slot
            outcome, deferred = _waiting(exc, task, try_number, max_tries, retry_delay)
        except Exception as exc:
            error = _describe_exception(exc)
            print(f"[conveyor] failed:\n{error}", file=sys.stderr, flush=True)
            outcome = failure_outcome(
                try_number,
                max_tries,
                retry_delay,
                ExitKind.EXCEPTION,
                error,
                fail_now=isinstance(exc, Fail),
            )
        if task is not None and any(getattr(task, hook, None) for hook in TASK_HOOKS.values()):
            # Its callbacks run after the commit that would start the next try: that try's
            # recorded start and duration would include them. It goes through the broker.
            self.keep = None
        if outcome.error:
            # The error leaves the try (its record, the timeline, callbacks, notifiers):
            # the secrets the try read are masked in it as in its log.
            outcome = dataclasses.replace(outcome, error=masking.redact(outcome.error))
        result = (
            deferral.record_deferral(
                self.store, ti_id, try_number, run_pk, deferred, self.actor, started.start_date
            )
            if deferred is not None
            else self.record(
                ti_id,
                try_number,
                run_pk,
                task_id,
                outcome,
                value,
                chosen,
                started.start_date,
                map_index=started.map_index,
                short_circuit=short_circuit,
                decided_at=utcnow(),
                version_hash=run.version_hash,
                emitted=emitted,
                rendered=rendered,
            )
        )
        after_try(  # task callbacks, and the DAG callbacks of a run this try ended
            self.store, self.resolve_dag, dag, task, context, result.state, outcome.error, run_pk
        )
        return result

    def record(
        self,
        ti_id: int,
        try_number: int,
        run_pk: int,
        task_id: str,
        outcome: Outcome,
        value: Any = None,
        chosen: list[str] | None = None,
        started_at: datetime | None = None,
        map_index: int = -1,
        short_circuit: str | None = None,
        decided_at: datetime | None = None,
        version_hash: str | None = None,
        emitted: Emitted | None = None,
        rendered: dict[str, Any] | None = None,
    ) -> TryResult:
        """Record how the try ended and move the run on, in one transaction. ``decided_at``:
        when the outcome was decided; a retry's delay then counts from the recorded end.
        ``version_hash``: the DAG version the run pinned (see ``TryEnd.version_hash``).
        ``rendered``: the try's template fields as it rendered them (masked), kept with it."""
        return retrying(
            lambda: self._record(
                ti_id,
                try_number,
                run_pk,
                task_id,
                outcome,
                value,
                chosen,
                started_at,
                map_index,
                short_circuit,
                decided_at,
                version_hash,
                emitted,
                rendered,
            ),
            what="recording a try's outcome",
        )

    def _record(
        self,
        ti_id: int,
        try_number: int,
        run_pk: int,
        task_id: str,
        outcome: Outcome,
        value: Any,
        chosen: list[str] | None,
        started_at: datetime | None,
        map_index: int = -1,
        short_circuit: str | None = None,
        decided_at: datetime | None = None,
        version_hash: str | None = None,
        emitted: Emitted | None = None,
        rendered: dict[str, Any] | None = None,
    ) -> TryResult:
        shown = shown_xcom(value)  # here, while the secrets the try read are known

        def keep_return_value(conn: Connection) -> None:
            upsert_xcom(conn, run_pk, task_id, RETURN_VALUE, value, map_index, shown=shown)

        # None is what a missing XCom reads as; each mapped instance keeps its own.
        kept = value is not None or map_index >= 0
        end = TryEnd(
            ti_id,
            try_number,
            run_pk,
            task_id,
            outcome,
            started_at,
            map_index,
            chosen,
            short_circuit,
            decided_at,
            version_hash,
            emitted,
        )
        self._kept, self._kept_start = None, None

        def announce(tries: list[QueuedTry]) -> KeptTry | None:
            # One try the fast path queues may be kept: this process queues and starts it
            # in this transaction (see _queue_and_start) instead of sending it through the
            # broker; the others are sent now, before the statements that queue them.
            keeping = None
            if self.keep is not None:
                keeping = next((work for work in tries if self.keep(work)), None)
            rest = [work for work in tries if work is not keeping]
            if rest and self.publish is not None:
                self.publish(rest)
            if keeping is None:
                return None
            return KeptTry(keeping.ti_id, functools.partial(self._queue_and_start, keeping))

        with self.store.write() as conn:
            result = try_ended(
                conn,
                end,
                self.actor,
                parallelism=self.settings.parallelism,
                keep_return_value=keep_return_value if kept else None,
                # Sent before the statement that queues them: the broker's delivery overlaps
                # the rest of this transaction, and a receiver that comes before the commit
                # waits for the run's lock (transitions.wait_for_queuing).
                announce=announce,
            )
            if rendered is not None:
                # Kept with the try's end, in the transaction that records it (after the run's
                # lock, as every write of the hop): no extra write per try; a try killed
                # before it ends keeps none.
                keep_rendered(conn, ti_id, try_number, rendered)
            if self._kept_start is not None:
                started, self._kept_start = self._kept_start, None
                result.queued = [w for w in result.queued if w.ti_id != started.ti_id]
                assert result.run is not None  # the run this transaction read under its lock
                self._kept = (started, result.run)
            return result

    def _queue_and_start(
        self, work: QueuedTry, conn: Connection, ready: hop.Ready, from_state: TaskState
    ) -> bool:
        """Queue and start a try this process's hop made ready, under the run's lock the
        recording transaction holds: the move cannot lose. A crash after the commit leaves
        it running with this process's pid, which the worker's heartbeat then no longer
        covers: the zombie step retries it."""
        log_path = queued_log_path(self.settings, work)
        started = hop.queue_and_start(
            conn,
            ready,
            from_state,
            hostname=self.hostname,
            pid=os.getpid(),
            actor=self.actor,
            log_path=str(log_path),
        )
        if started is None:
            return False
        try_ = StartedTry(
            work.ti_id,
            started.try_number,
            work.dag_id,
            work.run_id,
            work.task_id,
            work.run_pk,
            started.max_tries,
            started.start_date,
            work.map_index,
        )
        self._kept_start = try_
        return True


def _call_execute(task: Any, context: dict[str, Any]) -> Any:
    """``execute``, between Airflow's ``pre_execute=`` and ``post_execute=`` when given."""
    pre = getattr(task, "airflow_pre_execute", None)
    if pre is not None:
        pre(context)
    value = task.execute(context)
    post = getattr(task, "airflow_post_execute", None)
    if post is not None:
        post(context, value)
    return value


@contextlib.contextmanager
def _time_limit(limit: timedelta | None) -> Iterator[None]:
    if limit is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise TaskTimeout(f"execution_timeout of {limit.total_seconds():g}s exceeded")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit.total_seconds())
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: As Airflow writes task log lines, so a log reads the same after a move.
TASK_LOG_FORMAT = "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"


class _UserRecords(logging.Filter):
    """Records of the task's code and libraries; Conveyor's own stay in the process log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "conveyor" or record.name.startswith("conveyor."))


@contextlib.contextmanager
def _task_logging() -> Iterator[None]:
    """``logging.info(...)`` from task code (any logger) lands in the try's log.

    A handler on the root logger writes to the current stderr, which the try's output
    already points at the log file; the root level is INFO for the try's duration.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(TASK_LOG_FORMAT))
    handler.addFilter(_UserRecords())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    # Setting a level clears every logger's cache: only when it changes, not twice a try.
    if level > logging.INFO or level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        if root.level != level:  # raised above, or changed by the task's code
            root.setLevel(level)
        handler.flush()


class _output_to:
    """Send the try's output to its log file.

    Mode "fd" points file descriptors 1 and 2 at the file, so subprocesses write there too
    (a try's own process). Mode "python" swaps only sys.stdout and sys.stderr, for tries run
    inside a process that must keep its own descriptors (``conveyor.testing`` under pytest).
    """

    def __init__(self, path: Path, *, mode: str) -> None:
        self.path = path
        self.mode = mode
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        if self.mode == "fd":
            saved = (os.dup(1), os.dup(2))
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            self._stack.callback(self._restore, saved)
        else:
            handle = self._stack.enter_context(private_open(self.path, "a", buffering=1))
            self._stack.enter_context(contextlib.redirect_stdout(handle))
            self._stack.enter_context(contextlib.redirect_stderr(handle))

    @staticmethod
    def _restore(saved: tuple[int, int]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self._stack.close()
