"""What a try's own process saw of its end: facts, not decisions.

The worker runs the task's code and says what happened (it returned; it raised, with what
kind of end and what error; it skipped; it asked to be rescheduled; it deferred), as one of
the plain values below. What that means for the try (success, up for retry, failed, ...) is
the engine's decision, :func:`decide`, made where the end is recorded
(``engine.tries.try_ended``) with the task's retry rules from the DAG version the run pinned
and the try's own count of tries: the worker never decides retry-or-fail itself.

A supervisor that ends a try from outside (``engine.tries.end_from_outside``) and a deferral
that timed out (``engine.deferral.time_out``) decide through the same :func:`failure_outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conveyor.clock import utcnow
from conveyor.lifecycle import Outcome
from conveyor.states import ExitKind, TaskState


@dataclass(frozen=True)
class Deferral:
    """A ``TaskDeferred`` checked and made storable, in the try's process."""

    classpath: str
    kwargs: dict[str, Any]
    method_name: str
    method_kwargs: dict[str, Any] | None
    timeout_at: datetime | None

    @property
    def trigger_name(self) -> str:
        return self.classpath.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Returned:
    """``execute`` returned; its value travels beside (``TryEnd.returned``)."""


@dataclass(frozen=True)
class Raised:
    """The try ended in an error: the task raised (``EXCEPTION``), ran past its time limit
    (``TIMEOUT``), or could not be prepared (``BOOKKEEPING``); ``error`` says what, masked.
    ``fail_now``: the task raised ``Fail``, which no retry follows."""

    kind: ExitKind
    error: str
    fail_now: bool = False


@dataclass(frozen=True)
class Skipped:
    """The task raised ``Skip``; ``message``: what it said (masked), if anything."""

    message: str | None = None


@dataclass(frozen=True)
class Rescheduled:
    """A sensor in reschedule mode pokes again at ``at``, freeing its slots meanwhile."""

    at: datetime


@dataclass(frozen=True)
class Deferred:
    """The task handed its wait to a trigger (``engine/deferral.py``)."""

    deferral: Deferral


@dataclass(frozen=True)
class AwaitingInput:
    """The task asked a person (``engine/awaiting_input.py``): its question, the method the
    answer resumes, and the response deadline."""

    request: dict[str, Any]
    method_name: str
    timeout_at: datetime | None


#: What a try's process reports of its end.
Happened = Returned | Raised | Skipped | Rescheduled | Deferred | AwaitingInput


def error_of(happened: Happened) -> str | None:
    """What the end says for readers (the record, the timeline, callbacks): the error, or
    a skip's message."""
    if isinstance(happened, Raised):
        return happened.error
    if isinstance(happened, Skipped):
        return happened.message
    return None


def decide(happened: Happened, try_number: int, max_tries: int, retry_delay: timedelta) -> Outcome:
    """The outcome of try ``try_number`` of ``max_tries`` that ended as ``happened``;
    ``retry_delay``: the wait after this try if it is retried (``model.task.retry_delay_for``).
    A retry's time counts from now: call this where the end is recorded."""
    if isinstance(happened, Returned):
        return Outcome(TaskState.SUCCESS, ExitKind.RETURN)
    if isinstance(happened, Skipped):
        return Outcome(TaskState.SKIPPED, ExitKind.SKIP, happened.message)
    if isinstance(happened, Rescheduled):
        return Outcome(TaskState.UP_FOR_RESCHEDULE, ExitKind.RESCHEDULE, retry_at=happened.at)
    if isinstance(happened, Deferred):
        return Outcome(TaskState.DEFERRED, ExitKind.DEFERRED)
    if isinstance(happened, AwaitingInput):
        return Outcome(TaskState.AWAITING_INPUT, ExitKind.AWAITING_INPUT)
    return failure_outcome(
        try_number,
        max_tries,
        retry_delay,
        happened.kind,
        happened.error,
        fail_now=happened.fail_now,
    )


def failure_outcome(
    ti_try: int,
    max_tries: int,
    retry_delay: timedelta,
    exit_kind: ExitKind,
    error: str,
    *,
    fail_now: bool = False,
) -> Outcome:
    """up_for_retry while tries are left (and the task did not raise Fail), else failed."""
    if ti_try < max_tries and not fail_now:
        return Outcome(TaskState.UP_FOR_RETRY, exit_kind, error, retry_at=utcnow() + retry_delay)
    return Outcome(TaskState.FAILED, exit_kind, error)
