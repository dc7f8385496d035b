"""Task and DAG callbacks: user code called when a try or a run ends, or an SLA is missed.

Task callbacks (``on_success_callback``, ``on_failure_callback``, ``on_retry_callback``, and
``on_skipped_callback`` for a try that raised ``Skip``; a task skipped without running has no
try to call it in, as in Airflow) run in the try's own process right after its outcome is
committed, so their output lands in the try's log. A callback that raises changes nothing,
but it is not only logged: its error is a ``callback_failed`` entry on the try's timeline,
which ``conveyor run``, ``conveyor tasks why`` and the task instance page show. A failure
callback's ``exception`` is the exception the try raised (``run_views.as_exception``: an
``AirflowException`` of the recorded text where there is no exception object, as for a DAG
callback).

DAG callbacks (``on_success_callback``, ``on_failure_callback``, ``sla_miss_callback``) must
run exactly once per run, whichever process ends the run (a try's fast path, the scheduler
loop, a run timeout). The process that wins the run's guarded move to success or failed
inserts a ``callback_request`` row in the same transaction (one per run and kind: a unique
key), and whoever claims it (``pending -> running``, a guarded update) runs it:

- the try that ended the run, right after its commit, in its own process (the usual case);
- otherwise a child process the scheduler starts (:class:`CallbackProcess`): the scheduler
  never imports user code itself.

A missed deadline (``deadline=``) is a request of kind ``deadline`` that the scheduler makes
when it decides the deadline (``store/deadlines.py``); it is claimed and run the same way,
by ``deadline_callbacks``.
"""

from __future__ import annotations

import copy
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Collection, Iterable
from typing import Any

from conveyor import deadline_callbacks, lifecycle
from conveyor.clock import context_moment
from conveyor.config import Settings
from conveyor.connections import masking, template_context, try_scope
from conveyor.model.dag import DAG
from conveyor.model.task import BaseOperator
from conveyor.run_views import DagRunView, as_exception
from conveyor.serialized import SerializedDag
from conveyor.states import RunState, TaskState
from conveyor.stats import airflow as airflow_stats
from conveyor.stats import emit
from conveyor.store import callback_requests, deadlines, runs, transitions
from conveyor.store.engine import Connection, Store
from conveyor.store.runs import RunRow
from conveyor.store.timeline import CALLBACK_FAILED

DagResolver = Callable[[Connection, str, str], DAG]

#: Where links to the web UI point when no setting says (``Settings.public_web_url``).
DEFAULT_WEB_URL = "http://localhost:8080"

TASK_HOOKS = {
    TaskState.SUCCESS: "on_success_callback",
    TaskState.FAILED: "on_failure_callback",
    TaskState.UP_FOR_RETRY: "on_retry_callback",
    TaskState.SKIPPED: "on_skipped_callback",
}
RUN_KINDS = {RunState.SUCCESS: "success", RunState.FAILED: "failure"}
DAG_HOOKS = {
    "success": "on_success_callback",
    "failure": "on_failure_callback",
    "sla_miss": "sla_miss_callback",
}


def _as_list(callbacks: Any) -> list[Callable[[dict[str, Any]], Any]]:
    if callbacks is None:
        return []
    return list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]


def _name(callback: Any) -> str:
    return str(getattr(callback, "__name__", None) or type(callback).__name__)


def call_all(callbacks: Any, context: dict[str, Any], what: str) -> list[str]:
    """Call each callback with the context; an exception is printed (to the try's log) and
    returned as "<callback> raised <Error>: <message>", never raised."""
    errors = []
    for callback in _as_list(callbacks):
        try:
            callback(context)
        except Exception:
            text = masking.redact(traceback.format_exc())  # stored on the callback request
            print(f"[conveyor] {what} {callback!r} raised:\n{text}", file=sys.stderr, flush=True)
            errors.append(f"{_name(callback)} raised {text.strip().splitlines()[-1]}")
    return errors


def run_task_callbacks(
    task: BaseOperator,
    context: dict[str, Any],
    state: TaskState | None,
    error: BaseException | str | None,
) -> list[str]:
    """After a try's outcome is committed: the callbacks for that outcome, if any; what
    they raised, each as "<hook> <callback> raised <Error>: <message>"."""
    hook = TASK_HOOKS.get(state) if state is not None else None
    callbacks = getattr(task, hook, None) if hook else None
    if not callbacks:
        return []
    # As masked as the try's log: the secrets the try read never reach a callback.
    error = masking.redact(error) if isinstance(error, str) else masked_exception(error)
    context = {**context, "state": state.value if state else None}
    if state is not TaskState.SKIPPED:  # Airflow gives a skipped try's callback no exception
        context["exception"] = as_exception(error)
    errors = call_all(callbacks, context, f"{hook} of task {task.task_id!r}")
    return [f"{hook} {text}" for text in errors]


def masked_exception(exc: BaseException | None) -> BaseException | None:
    """The exception itself; or, when its text holds a secret the try read, a copy of the
    same class whose text is masked (an ``AirflowException`` of the masked text when no
    such copy can be made)."""
    if exc is None:
        return None
    text = str(exc)
    shown = masking.redact(text)
    if shown == text:
        return exc
    try:
        clone = copy.copy(exc)
        clone.args = (shown,)
        if masking.redact(str(clone)) == str(clone):
            return clone.with_traceback(exc.__traceback__)
    except Exception:  # an exception class that will not be copied: its text still goes
        pass
    return as_exception(shown)


def note_callback_errors(
    store: Store, ti_id: int, try_number: int, errors: list[str], actor: str
) -> None:
    """Each task callback error as a ``callback_failed`` entry on the try's timeline."""
    if not errors:
        return
    with store.write() as conn:
        for text in errors:
            transitions.record_event(
                conn, ti_id, try_number, CALLBACK_FAILED, text, lifecycle.Actor(actor)
            )


# -- requests: made once by whoever ends the run, run once by whoever claims them -------------


def wants(structure: SerializedDag, kind: str) -> bool:
    return DAG_HOOKS[kind] in structure.raw.get("callbacks", ())


def request_run_end(
    conn: Connection, run_pk: int, structure: SerializedDag, state: RunState, reason: str
) -> None:
    """Called by the process whose guarded move ended the run, in the same transaction."""
    kind = RUN_KINDS.get(state)
    if kind is not None and wants(structure, kind):
        callback_requests.request(conn, run_pk, kind, reason)


def run_dates(run: RunRow) -> dict[str, Any]:
    """A run's dates by the names a task's or a DAG callback's context gives them."""
    logical = run.logical_date
    return {
        "logical_date": context_moment(logical),
        "ds": logical.strftime("%Y-%m-%d"),
        "ds_nodash": logical.strftime("%Y%m%d"),
        "ts": logical.isoformat(),
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "data_interval_start": context_moment(run.data_interval_start),
        "data_interval_end": context_moment(run.data_interval_end),
    }


#: How the reason of a run that its ``dagrun_timeout`` failed begins (``engine.runs``).
TIMED_OUT = "run timed out"
#: How the reason of a run whose unfinished tasks can never run begins (``engine.planning``).
DEADLOCKED = "deadlock"


def airflow_reason(state: RunState, reason: str | None) -> str:
    """A DAG callback's ``context["reason"]``: Airflow's word for why the run ended
    (``success``, ``task_failure``, ``timed_out``, ``all_tasks_deadlocked``); Conveyor's
    own sentence is on the run (its note) and in the callback's log."""
    if state is not RunState.FAILED:
        return "success"
    text = reason or ""
    if text.startswith(TIMED_OUT):
        return "timed_out"
    if text.startswith(DEADLOCKED):
        return "all_tasks_deadlocked"
    return "task_failure"


def run_context(
    dag: DAG,
    run: RunRow,
    reason: str | None,
    *,
    store: Store | None = None,
    web_url: str = DEFAULT_WEB_URL,
) -> dict[str, Any]:
    """What a DAG callback is called with. ``exception`` of a failure: an AirflowException
    carrying the reason (the callback runs apart from any try that raised)."""
    failed = run.state is RunState.FAILED
    context = {
        "dag": dag,
        "dag_run": DagRunView.of(run, store, web_url),
        "run_id": run.run_id,
        "conf": run.conf,
        "params": {**dag.params, **(run.conf or {})},
        **run_dates(run),
        "state": run.state.value,
        "reason": airflow_reason(run.state, reason),
        "reason_text": reason,  # Conveyor's sentence, which its notifiers send
        "exception": as_exception(reason or "the run failed") if failed else None,
        **template_context(),
    }
    for name in dag.removed_context_names:  # an Airflow 3 file's DAG: as on Airflow 3
        context.pop(name, None)
    return context


def run_pending(
    store: Store,
    resolve_dag: DagResolver,
    *,
    run_pk: int | None = None,
    ids: Iterable[int] | None = None,
    web_url: str = DEFAULT_WEB_URL,
    kinds: Collection[str] | None = None,
) -> int:
    """Claim and run pending DAG callbacks (of one run, or all; of these kinds, or all);
    returns how many ran."""
    by = f"{socket.gethostname()}:{os.getpid()}"
    if ids is None:
        with store.read() as conn:
            ids = callback_requests.pending_ids(conn, run_pk, kinds)
    done = 0
    for request_id in ids:
        with store.write() as conn:
            row = callback_requests.claim(conn, request_id, by)
            if row is None:
                continue  # another process took it
            run = runs.get_run(conn, row.run_pk)
        errors: list[str] = []
        try:
            with store.read() as conn:
                dag = resolve_dag(conn, run.version_hash, run.dag_id)
            if row.kind == deadlines.KIND:  # a missed deadline: its alert's own callback
                errors = deadline_callbacks.run_missed(store, dag, row.run_pk, int(row.task_id))
            else:
                errors = _call_dag_hook(dag, run, row, store, web_url)
        except Exception as exc:  # the DAG could not be loaded: say so on the request
            errors = [masking.redact(f"{type(exc).__name__}: {exc}")]
        with store.write() as conn:
            callback_requests.finish(conn, request_id, errors)
        done += 1
    return done


def _call_dag_hook(
    dag: DAG, run: RunRow, row: callback_requests.CallbackRequest, store: Store, web_url: str
) -> list[str]:
    context = run_context(dag, run, row.reason, store=store, web_url=web_url)
    if row.task_id:  # an SLA miss: its reason says which and by how much
        context["reason"] = row.reason
        context["task_id"] = row.task_id
        context["sla"] = dag.get_task(row.task_id).sla
    hook = DAG_HOOKS[row.kind]
    errors = call_all(getattr(dag, hook, None), context, f"{hook} of DAG {dag.dag_id!r}")
    for _ in errors:
        airflow_stats.dag_callback_failed(dag.dag_id)
    return errors


def after_try(
    store: Store,
    resolve_dag: DagResolver,
    dag: DAG | None,
    task: BaseOperator | None,
    context: dict[str, Any] | None,
    state: TaskState | None,
    error: BaseException | str | None,
    run_pk: int,
    *,
    ti_id: int,
    try_number: int,
    actor: str,
    web_url: str = DEFAULT_WEB_URL,
) -> None:
    """The runner's one hook, after a try's outcome is committed: task callbacks (what they
    raise noted on the try's timeline), then the DAG callbacks of a run this try ended."""
    if task is not None and context is not None:
        errors = run_task_callbacks(task, context, state, error)
        note_callback_errors(store, ti_id, try_number, errors, actor)
    if dag is not None and any(getattr(dag, hook, None) for hook in DAG_HOOKS.values()):
        with store.read() as conn:
            if runs.get_run(conn, run_pk).state is RunState.RUNNING:
                return
        # The DAG's own callbacks; a missed deadline's stay for the scheduler's process.
        run_pending(store, resolve_dag, run_pk=run_pk, web_url=web_url, kinds=DAG_HOOKS)


# -- the scheduler's side: leftovers run in a child process -----------------------------------


def _child_main(settings: Settings, environ: dict[str, str]) -> None:
    """A child of the scheduler: run every pending DAG callback, then exit."""
    from conveyor._processes import adopt_environment
    from conveyor.loading.code_cache import load_pinned_dag, local_folders

    adopt_environment(environ)
    emit.configure(settings)  # a failed DAG callback is counted (dag.callback_exceptions)
    store = Store(settings.db_url, pool=False)

    def resolve(conn: Connection, version_hash: str, dag_id: str) -> DAG:
        return load_pinned_dag(
            conn, version_hash, dag_id, settings.home / "code", local_folders(settings)
        )

    try:
        with try_scope(store, settings):
            run_pending(store, resolve, web_url=settings.public_web_url)
    finally:
        store.dispose()


class CallbackProcess:
    """Starts a child to run pending DAG callbacks when there are some; one at a time.

    The scheduler calls :meth:`poll` every loop. A child that runs longer than ``limit``
    seconds is killed; its claimed requests stay ``running`` with who claimed them.
    """

    def __init__(self, settings: Settings, store: Store, *, limit: float = 300.0) -> None:
        self.settings = settings
        self.store = store
        self.limit = limit
        self._child: Any = None
        self._started = 0.0

    def poll(self) -> None:
        if self._child is not None:
            if self._child.is_alive():
                if time.monotonic() - self._started > self.limit:
                    self._child.kill()
                return
            self._child.join()
            self._child = None
        with self.store.read() as conn:
            if not callback_requests.pending_ids(conn):
                return
        from conveyor._processes import fork_context

        self._child = fork_context().Process(
            target=_child_main,
            args=(self.settings, dict(os.environ)),
            name="conveyor-callbacks",
            daemon=True,
        )
        self._child.start()
        self._started = time.monotonic()

    def stop(self) -> None:
        if self._child is not None:
            self._child.join(timeout=5)
            if self._child.is_alive():
                self._child.kill()
            self._child = None
