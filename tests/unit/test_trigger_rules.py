"""Trigger rules decide whether a task runs, waits, or is finished without running.

Every rule is checked against the same table of upstream situations, and a guard test makes
a new ``TriggerRule`` member without its row in the table fail, so no rule ships untested.
"""

from __future__ import annotations

import pytest

from conveyor.model.trigger_rules import (
    Decision,
    TriggerRule,
    UpstreamSummary,
    Verdict,
    evaluate,
)
from conveyor.states import TaskState
from state_letters import SK, UF, F, N, R, S

SITUATIONS: dict[str, list[TaskState]] = {
    "no_upstream": [],
    "all_success": [S, S, S],
    "some_running": [S, S, R],
    "one_failed": [S, S, F],
    "one_upstream_failed": [S, S, UF],
    "one_skipped": [S, S, SK],
    "all_skipped": [SK, SK, SK],
    "all_failed": [F, F, UF],
    "mixed": [S, F, SK],
    "failed_while_others_run": [F, R, N],
    "skipped_while_others_run": [SK, R, N],
    "retrying": [S, TaskState.UP_FOR_RETRY, S],
    "all_upstream_failed": [UF, UF, UF],
}

# One row per rule, one letter per situation in the order of SITUATIONS (the header
# abbreviates them): R = run, W = wait, S = skip, U = upstream_failed.
COLUMNS = list(SITUATIONS)
VERDICTS = {"R": Verdict.RUN, "W": Verdict.WAIT, "S": Verdict.SKIP, "U": Verdict.UPSTREAM_FAILED}
# fmt: off
TABLE: dict[TriggerRule, str] = {
    #                                         no  ok  run 1f  1uf 1sk sk  f   mix f+r s+r rty auf
    TriggerRule.ALL_SUCCESS:                 "R   R   W   U   U   S   S   U   U   U   S   W   U",
    TriggerRule.ALL_FAILED:                  "R   S   S   S   S   S   S   R   S   W   S   S   R",
    TriggerRule.ALL_DONE:                    "R   R   W   R   R   R   R   R   R   W   W   W   R",
    TriggerRule.ONE_SUCCESS:                 "R   R   R   R   R   R   S   U   R   W   W   R   U",
    TriggerRule.ONE_FAILED:                  "R   S   W   R   R   S   S   R   R   R   W   W   R",
    TriggerRule.NONE_FAILED:                 "R   R   W   U   U   R   R   U   U   U   W   W   U",
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: "R   R   W   U   U   R   S   U   U   U   W   W   U",
    TriggerRule.NONE_SKIPPED:                "R   R   W   R   R   S   S   R   S   W   S   W   R",
    TriggerRule.ONE_DONE:                    "R   R   R   R   R   R   S   R   R   R   W   R   S",
    TriggerRule.ALL_SKIPPED:                 "R   S   S   S   S   S   R   S   S   S   W   S   S",
    TriggerRule.ALWAYS:                      "R   R   R   R   R   R   R   R   R   R   R   R   R",
    # A teardown without setup upstream (those are in test_airflow_ops_pure): like all_done.
    TriggerRule.ALL_DONE_SETUP_SUCCESS:      "R   R   W   R   R   R   R   R   R   W   W   W   R",
}
# fmt: on

CASES = [
    pytest.param(rule, situation, VERDICTS[letter], id=f"{rule.value}-{situation}")
    for rule, row in TABLE.items()
    for situation, letter in zip(COLUMNS, row.split(), strict=True)
]


@pytest.mark.parametrize(("rule", "situation", "expected"), CASES)
def test_rule_against_situation(rule: TriggerRule, situation: str, expected: Verdict) -> None:
    decision = evaluate(rule, UpstreamSummary.of(SITUATIONS[situation]))
    assert isinstance(decision, Decision)
    assert decision.verdict is expected, decision.reason
    assert decision.reason  # every decision says why; the UI shows it


def test_every_trigger_rule_has_a_full_row_in_the_table() -> None:
    assert set(TABLE) == set(TriggerRule), "add the new rule's row to TABLE"
    for rule, row in TABLE.items():
        assert len(row.split()) == len(COLUMNS), f"{rule}: one verdict per situation"


def test_summary_counts_upstream_failed_as_failed_and_unfinished_as_not_done() -> None:
    summary = UpstreamSummary.of([S, F, UF, SK, R, N, TaskState.UP_FOR_RETRY])
    assert summary == UpstreamSummary(total=7, success=1, failed=2, skipped=1, upstream_failed=1)
    assert summary.done == 4


def test_waiting_reason_counts_the_unfinished_upstream() -> None:
    decision = evaluate(TriggerRule.ALL_DONE, UpstreamSummary.of([S, R, N]))
    assert decision == Decision(Verdict.WAIT, "2 of 3 upstream tasks not finished")


def test_rules_accept_their_string_values() -> None:
    assert TriggerRule("none_failed_min_one_success") is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert [r.value for r in TriggerRule] == [r.name.lower() for r in TriggerRule]
