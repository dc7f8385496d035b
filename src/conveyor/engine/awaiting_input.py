"""Human in the loop: a try waits for a person's answer, and resumes with it in a later
dispatch.

The moves, each in one transaction under the run's lock (taken first, as every writer of a
run's moves does):

- **ask** (the try's own process): ``running -> awaiting_input`` closes the dispatch (its
  worker and pool slots are free, and no triggerer holds anything) and stores the question
  (``store/hitl.py``);
- **answer** (a person, through the API or the UI): the answer is checked against the
  question (an option not offered, or several where one is allowed, is refused), recorded
  once (a second answer is refused), and ``awaiting_input -> scheduled``
  (``transitions.resume``) numbers the next dispatch, which continues the same try (as
  Airflow keeps its number: ``store/try_numbers.py``) and resumes at the operator's method
  with the answer as its event; the scheduler's dispatch queues it like any scheduled try;
- **time out** (the scheduler's loop, :func:`time_out_waits`): past the response deadline a
  recorded answer is used, else the defaults are recorded as the answer (by nobody), else
  the try resumes with a timeout error, which fails the task (retries applying).

A person's clear or mark moves the try out of ``awaiting_input`` by hand; its question stays,
answered or not, readable per try.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conveyor.clock import utcnow
from conveyor.engine.policy_table import AWAITING_INPUT
from conveyor.engine.report import AwaitingInput, Raised
from conveyor.engine.tries import TryResult, record_parked
from conveyor.exceptions import TaskAwaitingInput
from conveyor.lifecycle import Actor
from conveyor.states import ExitKind, TaskState
from conveyor.store import hitl, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock
from conveyor.strict_json import NotStrictJson, check
from conveyor.triggers import serialization

_AWAITING = TaskState.AWAITING_INPUT


def report_of(exc: TaskAwaitingInput, task: Any) -> AwaitingInput | Raised:
    """What a try that asked a person reports: it waits, or it raised if the question cannot
    be stored (not JSON) or has no method to resume at."""
    try:
        if not callable(getattr(task, exc.method_name, None)):
            raise ValueError(f"task {task.task_id!r} has no method {exc.method_name!r}")
        check(exc.request, f"the question of task {task.task_id!r}")
        json.dumps(exc.request)  # its params' values among them
    except (ValueError, TypeError, NotStrictJson) as error:
        message = f"{type(error).__name__}: {error}"
        print(f"[conveyor] could not wait for input: {message}", file=sys.stderr, flush=True)
        return Raised(ExitKind.EXCEPTION, message)
    timeout_at = utcnow() + exc.timeout if exc.timeout is not None else None
    return AwaitingInput(dict(exc.request), exc.method_name, timeout_at)


def record_wait(
    store: Store,
    ti_id: int,
    try_number: int,
    run_pk: int,
    waiting: AwaitingInput,
    actor: Actor,
    started_at: datetime | None = None,
) -> TryResult:
    """``running -> awaiting_input`` with the question stored: the run locked, then
    :data:`AWAITING_INPUT`, in order, in one transaction."""

    return record_parked(
        store,
        AWAITING_INPUT,
        _AWAITING,
        run_pk=run_pk,
        ti_id=ti_id,
        try_number=try_number,
        happened=waiting,
        actor=actor,
        started_at=started_at,
        what="recording a try awaiting input",
    )


class AnswerRefused(Exception):
    """An answer that cannot be taken: ``status`` is the HTTP status that says why (400: not
    a valid answer; 409: answered already, or no longer waiting)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def already_answered(ti_id: int) -> str:
    """Airflow's words for a second answer (409)."""
    return (
        f"Human-in-the-loop detail has already been updated for Task Instance with id {ti_id} "
        "and is not allowed to write again."
    )


def check_answer(question: hitl.Question, chosen_options: list[str]) -> None:
    """Refuse (400) options not offered, none at all, or several where one is allowed."""
    if not chosen_options:
        raise AnswerRefused(400, "chosen_options must name at least one option.")
    invalid = set(chosen_options) - set(question.options)
    if invalid:
        raise AnswerRefused(
            400,
            f"Invalid options {sorted(invalid)}; allowed options are "
            f"{sorted(set(question.options))}.",
        )
    if not question.multiple and len(chosen_options) > 1:
        raise AnswerRefused(
            400,
            "Multiple options chosen but this Human-in-the-loop task accepts only a single option.",
        )


@dataclass(frozen=True)
class Answered:
    """An answer recorded: who, when, what; ``resumed``: the task instance was waiting and
    goes on (False: it had left ``awaiting_input``, by a person's clear or mark)."""

    responded_at: datetime
    responded_by: dict[str, str] | None
    chosen_options: list[str]
    params_input: dict[str, Any]
    resumed: bool


def answer(
    store: Store,
    ti_id: int,
    chosen_options: list[str],
    params_input: dict[str, Any],
    user: dict[str, str],
    actor: Actor,
) -> Answered:
    """Record a person's answer to the task instance's newest question and resume its try."""
    check(params_input, "params_input")
    with store.write() as conn:
        found = hitl.latest(conn, ti_id)
        if found is None:
            raise AnswerRefused(404, f"Human-in-the-loop detail does not exist for {ti_id}")
        run_lock.lock_run(conn, found.run_pk)
        question = hitl.latest(conn, ti_id)  # again, under the run's lock
        assert question is not None
        if question.answered:  # before the answer's own checks, as Airflow
            raise AnswerRefused(409, already_answered(ti_id))
        check_answer(question, chosen_options)
        now = utcnow()
        if not hitl.respond(
            conn, ti_id, question.try_number, chosen_options, params_input, user, now
        ):
            raise AnswerRefused(409, already_answered(ti_id))
        who = user.get("name") or user.get("id")
        resumed = _resume(
            conn,
            question,
            _event(chosen_options, params_input, now, user, timedout=False),
            f"{who} answered {chosen_options}; resuming at {question.method_name}",
            actor,
        )
    return Answered(now, user, chosen_options, params_input, resumed)


def _event(
    chosen: list[str],
    params_input: dict[str, Any],
    at: datetime,
    by: dict[str, str] | None,
    *,
    timedout: bool,
) -> dict[str, Any]:
    """The event the resumed try's method gets: Airflow's success payload."""
    return {
        "chosen_options": chosen,
        "params_input": params_input,
        "responded_at": at,
        "responded_by_user": by,
        "timedout": timedout,
    }


def _resume(
    conn: Any, question: hitl.Question, event: dict[str, Any], note: str, actor: Actor
) -> bool:
    """``awaiting_input -> scheduled`` with ``event``; False when the try no longer waits."""
    if question.state != _AWAITING.value:
        return False
    kwargs = {"event": serialization.encode(event, "the answer")}
    return bool(
        transitions.resume(
            conn,
            question.ti_id,
            question.try_number,
            method=question.method_name,
            kwargs=kwargs,
            note=note,
            actor=actor,
            waiting=_AWAITING,
        )
    )


def time_out_waits(store: Store, actor: Actor, *, now: datetime | None = None) -> int:
    """Every try awaiting input past its deadline resumes: with an answer recorded just
    before, else with the defaults recorded as the answer, else with a timeout error that
    fails the task. How many resumed."""
    now = now or utcnow()
    with store.read() as conn:
        due = hitl.overdue(conn, now)
    resumed = 0
    for item in due:
        with store.write() as conn:
            run_lock.lock_run(conn, item.run_pk)
            question = hitl.of_try(conn, item.ti_id, item.try_number)
            if question is None or question.try_number != item.try_number:
                continue
            resumed += _time_out(conn, question, actor, now)
    return resumed


def _time_out(conn: Any, question: hitl.Question, actor: Actor, now: datetime) -> int:
    if question.answered:
        event = _event(
            list(question.chosen_options or []),
            dict(question.params_input or {}),
            question.responded_at or now,
            question.responded_by,
            timedout=False,
        )
        note = "answered just before the response timeout"
    elif question.defaults is not None:
        params_input = {
            key: spec.get("value") if isinstance(spec, dict) else spec
            for key, spec in question.params.items()
        }
        hitl.respond(
            conn, question.ti_id, question.try_number, question.defaults, params_input, None, now
        )
        event = _event(question.defaults, params_input, now, None, timedout=True)
        note = f"nobody answered by the response timeout: taking the defaults {question.defaults}"
    else:
        event = {
            "error": "The Human-in-the-loop response timeout has passed without a response.",
            "error_type": "timeout",
        }
        note = "nobody answered by the response timeout, and there are no defaults"
    return int(_resume(conn, question, event, note, actor))
