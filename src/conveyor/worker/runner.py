"""Run one try of one task instance in this process, from queued to its recorded outcome.

The executor (local pool or Celery worker) decides which process this is; this module does
the same thing in every one of them:

1. win ``queued -> running`` (a duplicate message or a second worker loses here and stops),
2. import the DAG version the run pinned and build the task's context,
3. render templates and call ``execute``,
4. report what happened (it returned, raised, skipped, asked to be rescheduled or deferred:
   facts, ``engine.report``) with the return value to ``engine.tries.try_ended``, which
   decides the outcome (retry or fail included), records it, skips branches not taken, and
   advances the run (the fast path) in one transaction.

Every move of the try is the engine's, the start included (``engine.tries.start_try``); this
process keeps its direct line to the store, for a hop's latency, but makes no move itself.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

from conveyor import hot_path, xcom_serde
from conveyor.airflow_compat import extra_links, listeners
from conveyor.callbacks import (
    TASK_HOOKS,
    DagResolver,
    after_try,
    call_all,
    note_callback_errors,
)
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.connections import masking, try_scope
from conveyor.engine import awaiting_input, deferral, run_listeners, run_metrics, try_spans
from conveyor.engine.hand_back import hand_back
from conveyor.engine.kept import Keeper, KeptTry, MayKeep
from conveyor.engine.progress import QueuedTry
from conveyor.engine.report import (
    AwaitingInput,
    Deferred,
    Happened,
    Raised,
    Rescheduled,
    Returned,
    Skipped,
    error_of,
)
from conveyor.engine.tries import (
    ReturnValue,
    TryEnd,
    TryResult,
    end_from_outside,
    own_start,
    start_try,
    try_ended,
    worker_actor,
)
from conveyor.exceptions import (
    AirflowTaskTimeout,
    DownstreamTasksSkipped,
    Fail,
    Reschedule,
    Skip,
    TaskAwaitingInput,
    TaskDeferred,
    TaskError,
    TaskTimeout,
)
from conveyor.lifecycle import FAILED_TRY, NOT_A_RETRY, Actor, StartedTry
from conveyor.loading import namespaces
from conveyor.loading.code_cache import load_pinned_dag, loaded_dag, local_folders
from conveyor.logs import upload_try_log
from conveyor.logs.stamps import StampingPipe, StampingStream, stamp
from conveyor.logs.task_logs import try_log_path
from conveyor.model import context_vars
from conveyor.model.airflow_operators import airflow_operator_class
from conveyor.model.assets import Emitted
from conveyor.model.branch_value import branch_choice, kept_value, record_skips, take_followed
from conveyor.model.dag import DAG
from conveyor.model.mapping import unmap
from conveyor.model.runtime import current_context
from conveyor.model.templating import render_template_fields
from conveyor.private_files import PRIVATE_FILE, private_dir, private_open
from conveyor.run_ids import check_run_id
from conveyor.states import ExitKind, TaskState
from conveyor.stats import airflow as stats
from conveyor.stats import spans
from conveyor.store import runs
from conveyor.store.engine import STORE_UNREACHABLE, Connection, Store, retrying
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import RunRow
from conveyor.worker.context import (
    TaskInstanceHandle,
    build_context,
    push_each_key,
    xcom_json,
)
from conveyor.worker.rendered import render_map_index, rendered_fields
from conveyor.worker.stopping import call_on_kill, stopped_by_sigterm
from conveyor.worker.task_state import clear_on_success
from conveyor.worker.xcom_masking import shown_xcom

log = logging.getLogger(__name__)
T = TypeVar("T")


def _retrying_counted(work: Callable[[], T], *, what: str) -> tuple[T, int]:
    """``retrying(work)``, and how many times ``work`` was asked: more than once, an earlier
    attempt may have committed with its answer lost on the way back."""
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return work()

    return retrying(attempt, what=what), attempts


def log_path_for(
    settings: Settings, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
) -> Path:
    return try_log_path(settings.logs_path, dag_id, run_id, task_id, try_number, map_index)


def queued_log_path(settings: Settings, store: Store, work: QueuedTry) -> Path:
    """The log file of a queued try: the one its start recorded (a poke or a resumption
    writes to its try's log, which its dispatch's number does not name), else the one its
    number names (:func:`log_path_for`)."""
    try:
        with store.read() as conn:
            found = task_reads.get_dispatch(conn, work.ti_id, work.try_number)
    except STORE_UNREACHABLE:
        found = None
    if found is not None and found.log_path:
        return Path(found.log_path)
    return log_path_for(
        settings, work.dag_id, work.run_id, work.task_id, work.try_number, work.map_index
    )


_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent) + os.sep


def _describe_exception(exc: BaseException) -> str:
    """The traceback of the user's code: Conveyor's own frames only add noise to "why", and
    would show the server's install paths to every reader of the try. An operator's failure
    with no frame of the user's (a BashOperator's exit status) is its message alone."""
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if not f.filename.startswith(_PACKAGE_DIR)]
    text = "".join(traceback.format_list(user))
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
        long_lived: bool = False,
    ) -> None:
        self.settings = settings
        # A process that runs try after try (a local runner, a Celery pool process) leaves
        # its tries' spans to the SDK's batch, sent from its thread every few seconds and at
        # the process's end, rather than waiting for an export after each try: one request
        # for many tries, none on the hop. A process that ends with its try flushes after it.
        self.long_lived = long_lived
        # Sends what the fast path queues from inside the recording transaction, before its
        # commit, so no crash can fall between the two (see run_lock.wait_for_queuing for
        # how a receiver waits for the commit). Without it, the caller sends TryResult.queued.
        self.publish = publish
        self.store = store or Store(settings.db_url, pool=False)
        self.hostname = socket.gethostname()
        self.resolve_dag = resolve_dag or self._from_code_cache
        self.output = output  # "fd": redirect file descriptors; "python": sys.stdout only
        # Normally the supervising process enforces execution_timeout from outside; a try run
        # inline (conveyor.testing) has no such supervisor, so it uses a timer signal instead.
        self.in_process_timeouts = in_process_timeouts
        # For the try being run: which of the tries its hop queues this process may start
        # itself (see run).
        self._may_keep: MayKeep | None = None
        # The plugins' listeners, as Airflow's workers load them, and OpenLineage's.
        run_listeners.start(settings, store)
        run_metrics.start(settings)  # Airflow's metrics, to StatsD / OpenTelemetry when on
        #: Told of a try's result as soon as it is recorded, when listeners are to be called
        #: after it: the caller hands out what it queued before the listeners run, so a slow
        #: listener does not hold the next tries (``TryResult.reported``).
        self.recorded: Callable[[TryResult], None] | None = None

    def _from_code_cache(self, conn: Connection, version_hash: str, dag_id: str) -> DAG:
        return load_pinned_dag(
            conn, version_hash, dag_id, self.settings.home / "code", local_folders(self.settings)
        )

    @property
    def actor(self) -> Actor:
        return worker_actor(self.hostname)  # asked on every hop: the name is not asked again

    def run(self, ti_id: int, try_number: int, *, keep: MayKeep | None = None) -> TryResult:
        """Run the try. Of the tries its hop queues, one that ``keep`` allows may be started
        in the transaction that records this one (``engine.kept``): ``TryResult.kept``, for
        the caller to run next with :meth:`run_kept` (or :meth:`run_streak`), having
        handed out ``TryResult.queued``. Without a ``publish`` hook, only a caller that hands
        out each result's ``queued`` before running the kept try should pass ``keep``."""
        with hot_path.hop():
            return self._run(ti_id, try_number, keep)

    def _run(self, ti_id: int, try_number: int, keep: MayKeep | None) -> TryResult:
        won, attempts = _retrying_counted(
            lambda: self._start(ti_id, try_number), what="starting a try"
        )
        if won is None and attempts > 1:
            # An earlier attempt's commit may have gone through with its answer lost: then
            # the try runs as this process's, and no one else will run it.
            won = retrying(lambda: self._own_start(ti_id, try_number), what="starting a try")
            if won is not None:
                log.warning(
                    "try %s of task instance %s was started by an attempt whose answer was "
                    "lost; running it",
                    try_number,
                    ti_id,
                )
        if won is None:
            log.info(
                "try %s of task instance %s was started elsewhere (or does not exist); "
                "not running it",
                try_number,
                ti_id,
            )
            return TryResult(started=False)
        return self._run_keeping(*won, keep)

    def run_kept(self, kept: KeptTry, *, keep: MayKeep | None = None) -> TryResult:
        """Run a try the last one's record started here (``TryResult.kept``)."""
        with hot_path.hop():
            return self._run_keeping(kept.started, kept.run, keep)

    def run_streak(self, ti_id: int, try_number: int, *, keep: MayKeep | None = None) -> TryResult:
        """Run the try, then each try its record kept, while ``keep`` allows; the last
        result. Only with a ``publish`` hook: the tries queued for others go out as each
        record is made."""
        result = self.run(ti_id, try_number, keep=keep)
        while result.kept is not None:
            result = self.run_kept(result.kept, keep=keep)
        return result

    def _run_keeping(self, started: StartedTry, run: RunRow, keep: MayKeep | None) -> TryResult:
        self._may_keep = keep
        try:
            return self._run_started(started, run)
        finally:
            self._may_keep = None

    def _run_started(self, started: StartedTry, run: RunRow) -> TryResult:
        try_number = started.try_number
        # One log a try: a poke or a resumption that continues it appends to its log.
        log_file = log_path_for(
            self.settings,
            started.dag_id,
            started.run_id,
            started.task_id,
            started.shown_try,
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
            # The first line, written to the file itself before the task's code runs: a log
            # folder on a full disk ("No space left on device") fails the try here, saying
            # which file, instead of killing its process in the task's first print.
            first_line = (
                f"[conveyor] {started.dag_id}.{started.task_id} run {started.run_id} try "
                f"{started.shown_try} of {started.shown_max_tries} on {self.hostname} pid "
                f"{os.getpid()}"
            )
            output.enter_context(_output_to(log_file, mode=self.output, first_line=first_line))
        except Exception as exc:  # this try's bookkeeping failed: fail the try, say why
            output.close()
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
        stats.ti_started(started.dag_id, started.task_id)
        span = try_spans.of_started(self.store, started, run)
        # try_scope: connections and variables read this store; secrets read are masked.
        with output, _task_logging(), try_scope(self.store, self.settings):
            if span is not None and (refused := spans.finer_detail_refused(run.conf)):
                print(f"[conveyor] {refused}", file=sys.stderr, flush=True)
            try:
                with spans.worker(span):  # Airflow's worker span, the task's own under it
                    result = self._execute(started, run, log_file)
                if span is not None and result.state is not None and result.state not in _WAITS:
                    spans.try_ended(span, result.state.value)
            finally:
                if self.resolve_dag == self._from_code_cache:
                    # The helper modules its DAG imported go back to their namespace, and
                    # what its code rebound in airflow.* is put back: the next try may be
                    # another DAG's. (DAG objects handed in, as by conveyor.testing, were
                    # imported by the caller, who keeps what they import.)
                    namespaces.leave()
        if not self.long_lived:
            spans.flush()  # as Airflow's task runner at its exit: the try's spans, the run's
        upload_try_log(self.settings, log_file)  # to remote_logs_url, when set; never raises
        return result

    def _start(self, ti_id: int, try_number: int) -> tuple[StartedTry, RunRow] | None:
        """Win the try; the run comes in the same transaction, saving one of its own."""
        with self.store.write() as conn:
            return self._start_in(conn, ti_id, try_number)

    def _own_start(self, ti_id: int, try_number: int) -> tuple[StartedTry, RunRow] | None:
        with self.store.write() as conn:
            return own_start(conn, ti_id, try_number, hostname=self.hostname, pid=os.getpid())

    def _start_in(
        self, conn: Connection, ti_id: int, try_number: int
    ) -> tuple[StartedTry, RunRow] | None:
        return start_try(
            conn,
            ti_id,
            try_number,
            hostname=self.hostname,
            pid=os.getpid(),
            actor=self.actor,
            log_path=lambda t: str(
                log_path_for(self.settings, t.dag_id, t.run_id, t.task_id, t.shown_try, t.map_index)
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
        call = _Call()
        # As Airflow's task runner: each try's process starts and stops for the listeners.
        listeners.notify("on_starting", component=TaskRunnerMarker())
        happened = self._happened(started, run, log_file, call)
        task = call.task
        if isinstance(happened, (Returned, Raised, Skipped)):
            _keep_extra_links(call)
        if listeners.hold_the_hop() or (
            task is not None and any(getattr(task, hook, None) for hook in TASK_HOOKS.values())
        ):
            # Its callbacks and listeners run after the commit that would start the next try:
            # that try's recorded start and duration would include them. It goes through the
            # broker. (Listeners that only queue their work, as OpenLineage's, hold no hop.)
            self._may_keep = None
        # What the end says leaves the try (its record, the timeline, callbacks, notifiers):
        # the secrets the try read are masked in it as in its log.
        happened = _masked(happened)
        with run_listeners.after_the_try():
            result = self._record_ending(started, run, call, happened)
            _finish_metrics(started, task, result.state)
            if self.recorded is not None and listeners.hold_the_hop():
                self.recorded(result)
                result.reported = True
            if call.context is not None:
                call.context["ti"].ended(
                    result.state, call.final_map_index_label(), ended_at=result.ended_at
                )
                if result.state is TaskState.SUCCESS:
                    clear_on_success(call.context)
            after_try(  # task callbacks, and the DAG callbacks of a run this try ended
                self.store,
                self.resolve_dag,
                call.dag,
                task,
                call.context,
                result.state,
                call.exception if call.exception is not None else error_of(happened),
                started.run_pk,
                ti_id=started.ti_id,
                try_number=started.try_number,
                actor=self.actor.name,
                web_url=self.settings.public_web_url,
            )
            if call.context is not None:  # the try's listeners, once its outcome is committed
                ended_for_listeners(call.context["ti"], result.state, call.exception, happened)
        listeners.notify("before_stopping", component=TaskRunnerMarker())
        return result

    def _happened(self, started: StartedTry, run: RunRow, log_file: Path, call: _Call) -> Happened:
        """Call the task and say what happened: facts only; the engine decides what they
        mean for the try (a retry or a failure, among others)."""
        try:
            self._call_task(started, run, log_file, call)
            return Returned()
        except (TaskTimeout, AirflowTaskTimeout) as exc:
            call.exception = exc
            print(f"[conveyor] {exc}", file=sys.stderr, flush=True)
            if call.task is not None:  # as in Airflow: what execute started is cancelled
                call_on_kill(call.task)
            return Raised(ExitKind.TIMEOUT, str(exc))
        except Skip as exc:
            print(f"[conveyor] skipped: {exc}", flush=True)
            return Skipped(str(exc) or None)
        except Reschedule as exc:  # a sensor pokes later, without holding a slot meanwhile
            return Rescheduled(exc.at)
        except TaskDeferred as exc:  # the try waits for its trigger, without holding a slot
            return deferral.report_of(exc, call.task)
        except TaskAwaitingInput as exc:  # the try waits for a person, without holding a slot
            return awaiting_input.report_of(exc, call.task)
        except Exception as exc:
            call.exception = exc  # a failure callback's context["exception"]
            error = _describe_exception(exc)
            print(f"[conveyor] failed:\n{error}", file=sys.stderr, flush=True)
            return Raised(ExitKind.EXCEPTION, error, fail_now=isinstance(exc, Fail))

    def _record_ending(
        self, started: StartedTry, run: RunRow, call: _Call, happened: Happened
    ) -> TryResult:
        """A deferral is recorded by ``engine/deferral.py``, a wait for a person's input by
        ``engine/awaiting_input.py``; every other end by :meth:`record`."""
        if isinstance(happened, AwaitingInput):
            return awaiting_input.record_wait(
                self.store,
                started.ti_id,
                started.try_number,
                started.run_pk,
                happened,
                self.actor,
                started.start_date,
            )
        if not isinstance(happened, Deferred):
            return self.record(call.end(started, happened, run.version_hash))
        return deferral.record_deferral(
            self.store,
            started.ti_id,
            started.try_number,
            started.run_pk,
            happened.deferral,
            self.actor,
            started.start_date,
        )

    def _call_task(self, started: StartedTry, run: RunRow, log_file: Path, call: _Call) -> None:
        """Load the task, render its templates and call ``execute``, noting in ``call`` what
        it made as far as it got (the callbacks need it even when this raises)."""
        task_id, try_number = started.task_id, started.try_number
        dag = call.dag = retrying(lambda: self._pinned(run), what="loading a try's DAG")
        # A copy, so rendering templates never changes the definition a later try reuses.
        task = call.task = copy.copy(dag.get_task(task_id))
        ti = TaskInstanceHandle(
            self.store,
            run,
            task,
            started,
            self.hostname,
            str(log_file),
            home=self.settings.home,
            max_conf_bytes=self.settings.max_conf_bytes,
            web_url=self.settings.public_web_url,
            readable=xcom_serde.allowed_by(self.settings),
        )
        task = call.task = ti.task = unmap(
            task, started.map_index, ti.xcom_pull_one, ti.xcom_pull_at
        )
        context = call.context = build_context(dag, task, run, ti)
        started_at = time.monotonic()
        with (
            current_context(context),
            # SIGTERM from the executor stopping the try: the task's on_kill, then the end.
            stopped_by_sigterm(task, self.settings.kill_grace_seconds),
            _time_limit(
                task.execution_timeout if self.in_process_timeouts else None, dag.timeout_error
            ),
        ):
            render_template_fields(task, context)
            call.rendered = rendered_fields(task)
            listeners.notify(
                "on_task_instance_running", previous_state=TaskState.QUEUED, task_instance=ti
            )
            on_execute = getattr(task, "on_execute_callback", None)
            if on_execute:  # as in Airflow: its errors are logged, the try goes on
                errors = call_all(on_execute, context, "on_execute_callback")
                note_callback_errors(  # and shown where people look, not only in the log
                    self.store,
                    started.ti_id,
                    try_number,
                    [f"on_execute_callback {text}" for text in errors],
                    self.actor.name,
                )
            take_followed(task)  # what an earlier try of this task object left
            try:
                value = call.value = deferral.call_task(
                    self.store,
                    task,
                    context,
                    started.ti_id,
                    try_number,
                    lambda: _call_execute(task, context),
                )
            except DownstreamTasksSkipped as ended:  # Airflow 3's skip: success, no value
                record_skips(task, ended.tasks)
                value = call.value = None
        followed = take_followed(task)
        if followed is not None:  # an operator's own skip calls (Airflow's SkipMixin)
            call.chosen = followed
        elif task.is_branch:
            call.chosen = branch_choice(task, value)
        elif task.skip_downstream is not None:  # a short circuit that said stop
            call.chosen = []
            call.short_circuit = task.skip_downstream
        call.value = kept_value(dag, task, call.value, call.chosen, started.map_index)
        if not getattr(task, "do_xcom_push", True):
            call.value = None  # Airflow's do_xcom_push=False: the return value is not kept
        kept = xcom_json(call.value, f"the return value of task {task_id!r}")
        if getattr(task, "multiple_outputs", False):
            push_each_key(ti, call.value, task_id)
        call.value = kept  # as the store keeps it (xcom_serde)
        print(f"[conveyor] returned after {time.monotonic() - started_at:.3f}s", flush=True)
        call.emitted = context["outlet_events"].emitted(task.outlets)
        call.map_index_label = render_map_index(task, context)  # with what execute added

    def record(self, end: TryEnd) -> TryResult:
        """Record how the try ended and move the run on, in one transaction: the engine
        decides the outcome of ``end.happened``; a success's ``end.returned`` is kept as its
        XCom. ``end.version_hash``: the DAG version the run pinned (see
        ``TryEnd.version_hash``)."""
        may = self._may_keep
        keeper = None
        if may is not None:
            keeper = Keeper(may, self.hostname, os.getpid(), self.settings.logs_path)
        result, attempts = _retrying_counted(
            lambda: self._record(end, keeper), what="recording a try's outcome"
        )
        if attempts > 1 and keeper is not None and result.kept is None:
            self._hand_back_orphans()
        return result

    def _hand_back_orphans(self) -> None:
        """The record was asked again after its connection dropped, and found its work done
        (or kept nothing): an earlier attempt may have committed, answer lost, with a try it
        kept for this process, which would never run here. Hand back whatever this process
        still holds as running (``engine.hand_back``: up for retry at once, with one more
        try granted); its own try is ended already. If the store is lost again, such a try
        is declared lost after ``zombie_after_seconds``, as before."""
        try:
            handed = hand_back(
                self.store,
                [],
                self.hostname,
                [os.getpid()],
                reason="the try was started by a record whose answer was lost; handed back",
                actor=self.actor,
            )
        except STORE_UNREACHABLE as exc:
            log.warning("could not hand back the tries a lost record kept: %r", exc)
            return
        if handed:
            log.warning(
                "handed back task instances %s, kept by a record whose answer was lost", handed
            )

    def _record(self, end: TryEnd, keeper: Keeper | None) -> TryResult:
        with self.store.write() as conn:
            return try_ended(
                conn,
                end,
                self.actor,
                parallelism=self.settings.parallelism,
                keeper=keeper,
                # Sent before the statement that queues them: the broker's delivery overlaps
                # the rest of this transaction, and a receiver that comes before the commit
                # waits for the run's lock (run_lock.wait_for_queuing).
                publish=self.publish,
            )


#: A try that ends waiting (for a trigger, a poke, a person): its span goes on.
_WAITS = NOT_A_RETRY


def _finish_metrics(started: StartedTry, task: Any, state: TaskState | None) -> None:
    """Airflow's ``ti.finish``, ``task.duration`` and success and failure counts, once the
    try's end is committed (None: another process ended it, and counts it). A try that ends
    waiting (for a trigger, a poke, a person) is finished too, as Airflow 3.3's task runner
    counts its process's end: ``ti.finish`` with that state, then again when it ends."""
    if state is None or not stats.on():
        return
    operator = airflow_operator_class(
        getattr(task, "decorated_as", None), type(task).__name__ if task else "BaseOperator"
    )
    seconds = (utcnow() - started.start_date).total_seconds()
    stats.ti_finished(started.dag_id, started.task_id, state.value, operator, seconds)


def _keep_extra_links(call: _Call) -> None:
    """The task's extra links, asked for their URLs once it ran, kept as XComs (Airflow 3's
    task runner does it then too); a failure to keep them never fails the try."""
    if call.task is None or call.context is None:
        return
    ti = call.context["ti"]
    found = extra_links.compute(call.task, ti)
    if not found:
        return
    try:
        for key, url in found.values():
            ti.xcom_push(key, url)
        ti.xcom_push(extra_links.XCOM_KEY, {name: url for name, (_, url) in found.items()})
    except Exception:
        extra_links.link_log.exception("the task's extra links could not be kept")


class TaskRunnerMarker:
    """The ``component`` a try's process gives ``on_starting`` and ``before_stopping``, as
    Airflow's task runner does."""


def ended_for_listeners(
    ti: Any, state: TaskState | None, exception: BaseException | None, happened: Happened
) -> None:
    """Airflow's task instance hook for how the try ended: success, skipped, or failed (a
    retry included, with what it raised); a try that waits (deferred, rescheduled, awaiting
    input) calls none, as in Airflow."""
    if state is TaskState.SUCCESS:
        listeners.notify(
            "on_task_instance_success", previous_state=TaskState.RUNNING, task_instance=ti
        )
    elif state is TaskState.SKIPPED:
        listeners.notify(
            "on_task_instance_skipped", previous_state=TaskState.RUNNING, task_instance=ti
        )
    elif state in FAILED_TRY:
        error = exception if exception is not None else error_of(happened)
        listeners.notify(
            "on_task_instance_failed",
            previous_state=TaskState.RUNNING,
            task_instance=ti,
            error=error,
        )


@dataclasses.dataclass
class _Call:
    """What a try's call of its task made, as far as it got."""

    dag: DAG | None = None
    task: Any = None
    context: Any = None
    value: Any = None
    chosen: list[str] | None = None
    short_circuit: str | None = None
    #: A success's ``outlet_events``; the template fields as rendered (masked).
    emitted: Emitted | None = None
    rendered: dict[str, Any] | None = None
    #: The task's map_index_template as rendered at the end of execute (masked).
    map_index_label: str | None = None
    #: What the task raised, for its failure callback (the real object, in this process).
    exception: BaseException | None = None

    def end(self, started: StartedTry, happened: Happened, version_hash: str) -> TryEnd:
        """How the try ended, for its record. What readers see of the return value is taken
        here, while the secrets the try read are known."""
        returned = None
        # None is what a missing XCom reads as; each mapped instance keeps its own.
        if self.value is not None or started.map_index >= 0:
            returned = ReturnValue(self.value, shown_xcom(self.value))
        return TryEnd(
            started.ti_id,
            started.try_number,
            started.run_pk,
            started.task_id,
            happened,
            started.max_tries,
            started.start_date,
            started.map_index,
            self.chosen,
            self.short_circuit,
            version_hash=version_hash,
            returned=returned,
            emitted=self.emitted,
            rendered=self.rendered,
            rendered_map_index=self.final_map_index_label(),
            resumptions=started.resumptions,
        )

    def final_map_index_label(self) -> str | None:
        """The label kept with the try's end: rendered after a success; after a failure,
        rendered now, as far as the context got."""
        if self.map_index_label is not None or self.task is None or self.context is None:
            return self.map_index_label
        return render_map_index(self.task, self.context, quiet=True)


def _masked(happened: Happened) -> Happened:
    """``happened`` with the secrets the try read masked in what it says."""
    if isinstance(happened, Raised):
        return dataclasses.replace(happened, error=masking.redact(happened.error))
    if isinstance(happened, Skipped) and happened.message:
        return dataclasses.replace(happened, message=masking.redact(happened.message))
    return happened


def _call_execute(task: Any, context: dict[str, Any]) -> Any:
    """``execute``, between Airflow's ``pre_execute=`` and ``post_execute=`` when given."""
    refused = getattr(task, "refused_when_run", None)
    if refused:  # what the DAG file asks and Conveyor does not do: refused as it is used
        raise TaskError(refused)
    with hot_path.task_code(), context_vars.exported(context):
        pre = getattr(task, "airflow_pre_execute", None)
        if pre is not None:
            pre(context)
        value = task.execute(context)
        post = getattr(task, "airflow_post_execute", None)
        if post is not None:
            post(context, value)
        return value


@contextlib.contextmanager
def _time_limit(
    limit: timedelta | None, error: type[BaseException] = TaskTimeout
) -> Iterator[None]:
    """Raise ``error`` (the DAG's ``timeout_error``) inside the try once ``limit`` passes."""
    if limit is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise error(f"execution_timeout of {limit.total_seconds():g}s exceeded")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit.total_seconds())
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: As Airflow writes task log lines, so a log reads the same after a move; the time in front,
#: ``[2026-01-01 10:00:00,123] ``, is the moment the line was written (logs/stamps.py).
TASK_LOG_FORMAT = "{%(filename)s:%(lineno)d} %(levelname)s - %(message)s"


class _UserRecords(logging.Filter):
    """Records of the task's code and libraries; Conveyor's own stay in the process log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "conveyor" or record.name.startswith("conveyor."))


@contextlib.contextmanager
def _task_logging() -> Iterator[None]:
    """``logging.info(...)`` from task code (any logger) lands in the try's log.

    A handler on the root logger writes to the current stderr, which the try's output
    already points at the log file, stamping each line; the root level is INFO for the
    try's duration.
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
    """Send the try's output to its log file, each line stamped with the time it was written.

    Mode "fd" points file descriptors 1 and 2 at a pipe whose reader stamps each line into
    the file, so subprocesses writing straight to them are stamped too (a try's own process);
    Python's streams are line-buffered meanwhile, so a printed line is written (and stamped)
    when printed, not when a buffer fills. Mode "python" swaps only sys.stdout and
    sys.stderr for one stamping stream, for tries run inside a process that must keep its
    own descriptors (``conveyor.testing`` under pytest).

    ``first_line`` is written to the file itself before anything else: a file that cannot
    be written fails here, not in a thread copying the try's output.
    """

    def __init__(self, path: Path, *, mode: str, first_line: str) -> None:
        self.path = path
        self.mode = mode
        self.first_line = first_line
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        line = stamp(time.time()) + self.first_line + "\n"
        if self.mode == "fd":
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
            try:
                os.write(fd, line.encode())
            except BaseException:
                os.close(fd)
                raise
            pipe = StampingPipe(fd)  # the pipe's thread owns the file's descriptor now
            saved = (os.dup(1), os.dup(2))
            os.dup2(pipe.write_fd, 1)
            os.dup2(pipe.write_fd, 2)
            pipe.close()
            self._stack.callback(self._restore, saved, pipe)
            # Python's own writes go to the file at once, not through the pipe's thread: a
            # try that prints and then dies hard (os._exit, a kill) keeps its last lines.
            self._stack.enter_context(_line_buffered(sys.stdout))
            self._stack.enter_context(_line_buffered(sys.stderr))
            self._redirect_python_streams()
        else:
            handle = self._redirect_python_streams()
            handle.write(line)
            handle.flush()

    def _redirect_python_streams(self) -> TextIO:
        """sys.stdout and sys.stderr as one stamping stream over the log file, written line
        by line; the file's handle."""
        handle = self._stack.enter_context(private_open(self.path, "a", buffering=1))
        stamping = StampingStream(cast(TextIO, handle))
        self._stack.callback(stamping.finish)  # before the handle closes
        stream = cast(TextIO, stamping)
        self._stack.enter_context(contextlib.redirect_stdout(stream))
        self._stack.enter_context(contextlib.redirect_stderr(stream))
        return cast(TextIO, handle)

    @staticmethod
    def _restore(saved: tuple[int, int], pipe: StampingPipe) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        pipe.finish()  # the last lines are in the file before the try's end is told

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self._stack.close()


@contextlib.contextmanager
def _line_buffered(stream: TextIO) -> Iterator[None]:
    """``stream`` writes each line as it is ended (a file's stdout would fill a buffer)."""
    if not isinstance(stream, io.TextIOWrapper) or stream.line_buffering:
        yield
        return
    stream.reconfigure(line_buffering=True)
    try:
        yield
    finally:
        stream.reconfigure(line_buffering=False)
