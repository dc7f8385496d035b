"""A person's clear and mark are the engine's declared lists, read top to bottom as
docs/architecture.md lists them: the run locked first, a queued or running try ended with
its instance, a finished run sent back to the scheduler (a whole run's mark ends it)."""

from __future__ import annotations

from conveyor.engine.bulk_manual import BULK_RUNS, BULK_TASKS
from conveyor.engine.manual import CANCEL_QUEUED_RUN, CLEAR, MARK, MARK_RUN

BACK_TO_THE_SCHEDULER = [
    "settle the deadlines its success met",
    "send a finished run back to queued",
    "give it back its deleted instances",
]


def test_a_clear_and_a_mark_read_top_to_bottom() -> None:
    assert [rule.name for rule in CLEAR] == [
        "lock the run",
        "choose the instances",
        "clear each, ending a queued or running try",
        "ask for the run's plan and the next run's",
        *BACK_TO_THE_SCHEDULER,
    ]
    assert [rule.name for rule in MARK] == [
        "lock the run",
        "choose the instances",
        "mark each, ending a queued or running try",
        "tell the listeners of each instance marked",
        "clear the failed below a success",
        "ask for the run's plan and the next run's",
        *BACK_TO_THE_SCHEDULER,
    ]


def test_a_whole_runs_mark_ends_the_run_and_a_cancel_fails_what_is_left_queued() -> None:
    ending = [
        "lock the run",
        "choose the instances",
        "mark each, ending a queued or running try",
        "tell the listeners of each try ended",
        "ask for the next run's plan",
        "end the run as asked, its dates kept",
    ]
    assert [rule.name for rule in MARK_RUN] == [
        *ending,
        "tell the listeners of the run's new state",
    ]
    # A backfill's cancel tells no listener of the run, as Airflow's does not.
    assert [rule.name for rule in CANCEL_QUEUED_RUN] == [
        *ending,
        "fail the run if it is still queued",
    ]


def test_a_bulk_action_refuses_too_many_runs_before_it_moves_any() -> None:
    assert [rule.name for rule in BULK_TASKS] == [
        "choose the instances named",
        "reach the same instances in earlier or later runs",
        "refuse more runs than MAX_RUNS",
        "act on each run in key order, reading what changed",
    ]
    assert [rule.name for rule in BULK_RUNS] == [
        "find the runs named",
        "refuse more runs than MAX_RUNS",
        "act on each run in key order, reading what changed",
    ]
