"""The engine decides what a try's reported end means, and each entry point's policy is
followed as declared: in order, each rule only when it applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from conveyor.clock import utcnow
from conveyor.engine.policy import Rule, always, follow
from conveyor.engine.report import (
    Deferral,
    Deferred,
    Raised,
    Rescheduled,
    Returned,
    Skipped,
    decide,
)
from conveyor.states import ExitKind, TaskState

DELAY = timedelta(minutes=3)


def test_a_return_succeeds_a_skip_skips_and_waits_free_their_slots() -> None:
    at = utcnow() + timedelta(minutes=1)
    deferral = Deferral("a.Trigger", {}, "resume", None, None)
    assert decide(Returned(), 1, 1, DELAY).state is TaskState.SUCCESS
    skipped = decide(Skipped("nothing to do"), 1, 1, DELAY)
    assert (skipped.state, skipped.exit_kind, skipped.error) == (
        TaskState.SKIPPED,
        ExitKind.SKIP,
        "nothing to do",
    )
    poked = decide(Rescheduled(at), 1, 1, DELAY)
    assert (poked.state, poked.retry_at) == (TaskState.UP_FOR_RESCHEDULE, at)
    assert decide(Deferred(deferral), 1, 1, DELAY).state is TaskState.DEFERRED


def test_an_error_retries_while_tries_are_left_from_now() -> None:
    before = utcnow()
    retried = decide(Raised(ExitKind.TIMEOUT, "too slow"), 1, 2, DELAY)
    assert (retried.state, retried.exit_kind, retried.error) == (
        TaskState.UP_FOR_RETRY,
        ExitKind.TIMEOUT,
        "too slow",
    )
    assert retried.retry_at is not None
    assert before + DELAY <= retried.retry_at <= utcnow() + DELAY


def test_an_error_on_the_last_try_or_a_fail_fails() -> None:
    last = decide(Raised(ExitKind.EXCEPTION, "boom"), 2, 2, DELAY)
    assert (last.state, last.retry_at) == (TaskState.FAILED, None)
    now = decide(Raised(ExitKind.EXCEPTION, "Fail", fail_now=True), 1, 5, DELAY)
    assert now.state is TaskState.FAILED


@dataclass
class _Seen:
    flag: bool
    done: list[str] = field(default_factory=list)


def test_a_policy_applies_its_rules_in_order_each_when_it_holds() -> None:
    def does(name: str) -> Rule[_Seen]:
        return Rule(name, always, lambda seen: seen.done.append(name))

    only_flagged = Rule("flagged", lambda seen: seen.flag, lambda seen: seen.done.append("f"))
    policy = (does("first"), only_flagged, does("last"))
    assert follow(policy, _Seen(flag=False)).done == ["first", "last"]
    assert follow(policy, _Seen(flag=True)).done == ["first", "f", "last"]
