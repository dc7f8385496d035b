"""Deferral: a try hands its wait to a trigger, and resumes with the event in a later dispatch.

The moves, each in one transaction under the run's lock (taken first, as every writer of a
run's moves does):

- **defer** (the try's own process): ``running -> deferred`` closes the dispatch (its worker
  slot and pool slot are free: neither counts ``deferred``) and stores the trigger
  (``store/triggers.py``);
- **fire** (a triggerer, on the trigger's first event): ``deferred -> scheduled``
  (``transitions.resume``), numbering the next dispatch, which continues the same try (as a
  poke does: ``store/try_numbers.py``), and giving it the method and arguments to resume at,
  the event among them; the trigger row goes. The scheduler's dispatch queues it like any
  scheduled try;
- **time out** (the scheduler, ``scheduler/timeouts.py``): past the deferral's timeout the
  try fails as Airflow's ``TaskDeferralTimeout`` does, retries applying.

A person's clear or mark moves the try out of ``deferred`` by hand; its trigger is then an
orphan, removed by the next triggerer's loop.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conveyor.clock import utcnow
from conveyor.engine.policy import follow
from conveyor.engine.policy_table import DEFERRAL, DEFERRAL_TIMEOUT
from conveyor.engine.report import Deferral, Deferred, Raised
from conveyor.engine.tries import TryResult, record_parked
from conveyor.engine.try_move import TimingOut, lock_and_read
from conveyor.exceptions import TaskDeferred
from conveyor.lifecycle import Actor
from conveyor.states import ExitKind, TaskState
from conveyor.store import runs, transitions, triggers
from conveyor.store.engine import Connection, Store
from conveyor.store.hop import run_lock
from conveyor.triggers import serialization


def deferral_of(exc: TaskDeferred, task: Any) -> Deferral:
    """What ``exc`` asks for, refused here (the try fails) if it cannot be stored or resumed."""
    classpath, kwargs = serialization.serialize(exc.trigger)
    if not isinstance(exc.method_name, str) or not callable(getattr(task, exc.method_name, None)):
        raise serialization.TriggerSerializationError(
            f"defer(method_name={exc.method_name!r}): task {task.task_id!r} has no such method"
        )
    method_kwargs = None
    if exc.kwargs is not None:
        method_kwargs = serialization.encode(dict(exc.kwargs), "defer(kwargs=...)")
    timeout_at = utcnow() + exc.timeout if exc.timeout is not None else None
    return Deferral(classpath, kwargs, exc.method_name, method_kwargs, timeout_at)


def record_deferral(
    store: Store,
    ti_id: int,
    try_number: int,
    run_pk: int,
    deferral: Deferral,
    actor: Actor,
    started_at: datetime | None = None,
) -> TryResult:
    """``running -> deferred`` with its trigger stored: the run locked, then
    :data:`DEFERRAL`, in order, in one transaction. The run is not advanced: a deferred try
    makes nothing ready, and its resumption is a trigger's (:func:`fire`)."""

    return record_parked(
        store,
        DEFERRAL,
        TaskState.DEFERRED,
        run_pk=run_pk,
        ti_id=ti_id,
        try_number=try_number,
        happened=Deferred(deferral),
        actor=actor,
        started_at=started_at,
        what="recording a try's deferral",
    )


@dataclass(frozen=True)
class Fired:
    """A trigger's first event, as a triggerer saw it."""

    trigger: triggers.TriggerRow
    payload: Any


def fire(conn: Connection, fired: Iterable[Fired], actor: Actor) -> list[int]:
    """Move each fired trigger's try ``deferred -> scheduled`` with its event, in ``conn``'s
    transaction (runs locked in order of their ids); the trigger ids whose try moved."""
    moved_ids = []
    locked: set[int] = set()
    gone: list[int] = []
    for item in sorted(fired, key=lambda f: (f.trigger.run_pk, f.trigger.id)):
        t = item.trigger
        if t.run_pk not in locked:  # once a run: many triggers of one run fire together
            run_lock.lock_run(conn, t.run_pk)
            locked.add(t.run_pk)
        kwargs = dict(t.method_kwargs or {})
        kwargs["event"] = serialization.encode(item.payload, f"{t.classpath} event payload")
        name = t.classpath.rsplit(".", 1)[-1]
        moved = transitions.resume(
            conn,
            t.ti_id,
            t.try_number,
            method=t.method_name,
            kwargs=kwargs,
            note=f"trigger {name} (#{t.id}) fired; resuming at {t.method_name}",
            actor=actor,
        )
        if moved:
            moved_ids.append(t.id)
        gone.append(t.id)
    triggers.remove(conn, *gone)
    return moved_ids


def fail_deferral(
    conn: Connection, trigger: triggers.TriggerRow, error: str, actor: Actor
) -> list[int]:
    """A trigger that cannot be built or raised: its try resumes at a method that fails it
    with ``error`` (as Airflow's triggerer fails a try whose trigger failed)."""
    failed = Fired(dataclasses.replace(trigger, method_name=FAIL_METHOD), {"error": error})
    return fire(conn, [failed], actor)


#: The method a resumed try "calls" when its trigger failed or it timed out: it raises.
FAIL_METHOD = "__fail__"


def time_out(
    store: Store, overdue: triggers.Overdue, actor: Actor, *, parallelism: int | None
) -> TryResult:
    """A deferral past its timeout: the try fails (or retries), as if it had raised
    ``TaskDeferralTimeout``: the run locked and the try's tries allowed read under that lock,
    then :data:`DEFERRAL_TIMEOUT`, in order, in one transaction."""
    name = overdue.classpath.rsplit(".", 1)[-1]
    error = (
        f"TaskDeferralTimeout: trigger {name} (#{overdue.trigger_id}) did not fire by "
        f"{overdue.timeout_at.isoformat(timespec='seconds')}"
    )
    with store.read() as conn:
        owner = runs.try_owner(conn, overdue.ti_id)
        run = runs.get_run(conn, owner.run_pk)
        structure = runs.serialized_dag(conn, run.version_hash)
    with store.write() as conn:
        timing_out = TimingOut(
            conn=conn,
            actor=actor,
            run_pk=owner.run_pk,
            ti_id=overdue.ti_id,
            try_number=overdue.try_number,
            happened=Raised(ExitKind.TIMEOUT, error),
            dag=structure,
            task_id=owner.task_id,
            expected=(TaskState.DEFERRED,),
            trigger_id=overdue.trigger_id,
        )
        lock_and_read(timing_out)
        follow(DEFERRAL_TIMEOUT, timing_out)
    if not timing_out.moved:
        return TryResult(started=True, state=None)  # it fired, or a person moved it
    return TryResult(started=True, state=timing_out.decided.state, error=error)


def call_task(
    store: Store,
    task: Any,
    context: dict[str, Any],
    ti_id: int,
    try_number: int,
    execute: Callable[[], Any],
) -> Any:
    """Run the try's work: ``execute``, or the method a deferral resumes at. Only a try after
    a deferral resumes, and it is never a first try: a first try reads nothing more."""
    if try_number > 1:
        with store.read() as conn:
            found = triggers.next_call(conn, ti_id)
        if found is not None:
            method, kwargs = resume_call(task, found.method, found.kwargs)
            ti = context.get("ti")
            if ti is not None and found.try_started is not None:
                ti.start_date = found.try_started  # the try's, as Airflow's resumed task has
            print(f"[conveyor] resuming at {found.method} after a deferral", flush=True)
            return method(context, **kwargs)
    return execute()


def report_of(exc: TaskDeferred, task: Any) -> Deferred | Raised:
    """What a try that raised ``TaskDeferred`` reports: it deferred, or it raised if the
    deferral cannot be stored (a trigger whose arguments are not JSON, a missing method)."""
    try:
        found = deferral_of(exc, task)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        print(f"[conveyor] could not defer: {message}", file=sys.stderr, flush=True)
        return Raised(ExitKind.EXCEPTION, message)
    print(f"[conveyor] deferred to {found.trigger_name}; resumes at {found.method_name}")
    return Deferred(found)


def resume_call(
    task: Any, next_method: str, next_kwargs: dict[str, Any] | None
) -> tuple[Any, dict[str, Any]]:
    """The bound method a resumed try calls with its context, and its keyword arguments."""
    kwargs = serialization.decode(next_kwargs or {})
    if next_method == FAIL_METHOD:
        error = (kwargs.get("event") or {}).get("error", "the trigger failed")
        raise TriggerFailed(error)
    method = getattr(task, next_method, None)
    if method is None:
        raise TriggerFailed(f"task {task.task_id!r} has no method {next_method!r} to resume at")
    return method, kwargs


class TriggerFailed(Exception):
    """A deferred try's trigger could not be built, or raised."""
