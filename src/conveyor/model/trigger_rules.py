"""Trigger rules: when a task may run, given the states of its direct upstream tasks.

Pure code. The scheduler calls :func:`evaluate` for every task that has not started yet; the
answer is to wait, to run, or to finish the task without running it (skipped or
upstream_failed). The names and meanings are the ones data engineers already use.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from conveyor.states import TaskState


class TriggerRule(StrEnum):
    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    #: Run as soon as one upstream task succeeded or failed (upstream_failed and skipped do
    #: not count); skip when all finished without one.
    ONE_DONE = "one_done"
    #: Run when every upstream task was skipped; skip as soon as one finished otherwise.
    ALL_SKIPPED = "all_skipped"
    ALWAYS = "always"
    #: A teardown's rule: run once every upstream task is done, unless its setups all
    #: skipped (skip) or none succeeded (upstream_failed).
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"
    #: Airflow 2's older name of NONE_FAILED_MIN_ONE_SUCCESS (an alias: the same member).
    NONE_FAILED_OR_SKIPPED = "none_failed_min_one_success"


class Verdict(StrEnum):
    WAIT = "wait"
    RUN = "run"
    SKIP = "skip"
    UPSTREAM_FAILED = "upstream_failed"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class UpstreamSummary:
    total: int
    success: int
    failed: int  # failed or upstream_failed
    skipped: int
    #: Of ``failed``, those upstream_failed (one_done counts only the ones that ran).
    upstream_failed: int = 0
    # The upstream tasks that are setups (counted again here); only teardowns look at them.
    setup_total: int = 0
    setup_success: int = 0
    setup_skipped: int = 0

    @property
    def done(self) -> int:
        return self.success + self.failed + self.skipped

    @classmethod
    def of(
        cls, states: Iterable[TaskState], setup_states: Iterable[TaskState] = ()
    ) -> UpstreamSummary:
        """Count upstream states; ``setup_states`` are those of the upstream setups."""
        counts = Counter(states)
        summary = cls(
            total=sum(counts.values()),
            success=counts[TaskState.SUCCESS],
            failed=counts[TaskState.FAILED] + counts[TaskState.UPSTREAM_FAILED],
            skipped=counts[TaskState.SKIPPED],
            upstream_failed=counts[TaskState.UPSTREAM_FAILED],
        )
        if not setup_states:
            return summary  # the common case: planning calls this for every waiting task
        setups = Counter(setup_states)
        return dataclasses.replace(
            summary,
            setup_total=sum(setups.values()),
            setup_success=setups[TaskState.SUCCESS],
            setup_skipped=setups[TaskState.SKIPPED],
        )


def evaluate(rule: TriggerRule, up: UpstreamSummary) -> Decision:
    """Decide what a not-yet-started task with this trigger rule should do now."""
    if rule is TriggerRule.ALWAYS:
        return Decision(Verdict.RUN, "trigger rule always")
    if up.total == 0:
        return Decision(Verdict.RUN, "no upstream to wait for")
    return _RULES[rule](up)


def _waiting(up: UpstreamSummary) -> str:
    return f"{up.total - up.done} of {up.total} upstream tasks not finished"


def _all_success(up: UpstreamSummary) -> Decision:
    if up.failed:
        return Decision(Verdict.UPSTREAM_FAILED, f"{up.failed} upstream failed")
    if up.skipped:
        return Decision(Verdict.SKIP, f"{up.skipped} upstream skipped")
    return _when(up.done == up.total, "all upstream succeeded", _waiting(up))


def _all_failed(up: UpstreamSummary) -> Decision:
    if up.success or up.skipped:
        return Decision(Verdict.SKIP, "an upstream task did not fail")
    return _when(up.done == up.total, "all upstream failed", _waiting(up))


def _all_done(up: UpstreamSummary) -> Decision:
    return _when(up.done == up.total, "all upstream finished", _waiting(up))


def _one_success(up: UpstreamSummary) -> Decision:
    if up.success:
        return Decision(Verdict.RUN, "an upstream task succeeded")
    if up.done < up.total:
        return Decision(Verdict.WAIT, "no upstream task has succeeded yet")
    if up.skipped == up.total:
        return Decision(Verdict.SKIP, "all upstream skipped")
    return Decision(Verdict.UPSTREAM_FAILED, "no upstream task succeeded")


def _one_failed(up: UpstreamSummary) -> Decision:
    if up.failed:
        return Decision(Verdict.RUN, "an upstream task failed")
    if up.done < up.total:
        return Decision(Verdict.WAIT, "no upstream task has failed yet")
    return Decision(Verdict.SKIP, "no upstream task failed")


def _none_failed(up: UpstreamSummary) -> Decision:
    if up.failed:
        return Decision(Verdict.UPSTREAM_FAILED, f"{up.failed} upstream failed")
    return _when(up.done == up.total, "no upstream failed", _waiting(up))


def _none_failed_min_one_success(up: UpstreamSummary) -> Decision:
    if up.failed:
        return Decision(Verdict.UPSTREAM_FAILED, f"{up.failed} upstream failed")
    if up.done < up.total:
        return Decision(Verdict.WAIT, _waiting(up))
    if up.success:
        return Decision(Verdict.RUN, "no upstream failed and at least one succeeded")
    return Decision(Verdict.SKIP, "all upstream skipped")


def _none_skipped(up: UpstreamSummary) -> Decision:
    if up.skipped:
        return Decision(Verdict.SKIP, f"{up.skipped} upstream skipped")
    return _when(up.done == up.total, "no upstream skipped", _waiting(up))


def _one_done(up: UpstreamSummary) -> Decision:
    ran = up.success + up.failed - up.upstream_failed
    if ran:
        return Decision(Verdict.RUN, "an upstream task succeeded or failed")
    if up.done < up.total:
        return Decision(Verdict.WAIT, "no upstream task has succeeded or failed yet")
    return Decision(Verdict.SKIP, "no upstream task succeeded or failed")


def _all_skipped(up: UpstreamSummary) -> Decision:
    if up.done > up.skipped:
        return Decision(Verdict.SKIP, "an upstream task was not skipped")
    return _when(up.skipped == up.total, "all upstream skipped", _waiting(up))


def _all_done_setup_success(up: UpstreamSummary) -> Decision:
    if up.done < up.total:
        return Decision(Verdict.WAIT, _waiting(up))
    if up.setup_total and up.setup_skipped == up.setup_total:
        return Decision(Verdict.SKIP, "every setup upstream was skipped")
    if up.setup_total and not up.setup_success:
        return Decision(Verdict.UPSTREAM_FAILED, "no setup upstream succeeded")
    return Decision(Verdict.RUN, "all upstream finished and a setup succeeded")


def _when(ready: bool, run_reason: str, wait_reason: str) -> Decision:
    return Decision(Verdict.RUN, run_reason) if ready else Decision(Verdict.WAIT, wait_reason)


_RULES: dict[TriggerRule, Callable[[UpstreamSummary], Decision]] = {
    TriggerRule.ALL_SUCCESS: _all_success,
    TriggerRule.ALL_FAILED: _all_failed,
    TriggerRule.ALL_DONE: _all_done,
    TriggerRule.ONE_SUCCESS: _one_success,
    TriggerRule.ONE_FAILED: _one_failed,
    TriggerRule.NONE_FAILED: _none_failed,
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: _none_failed_min_one_success,
    TriggerRule.NONE_SKIPPED: _none_skipped,
    TriggerRule.ONE_DONE: _one_done,
    TriggerRule.ALL_SKIPPED: _all_skipped,
    TriggerRule.ALL_DONE_SETUP_SUCCESS: _all_done_setup_success,
}
