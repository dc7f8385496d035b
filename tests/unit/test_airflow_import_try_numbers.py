"""The try an Airflow task instance is at, read from the ``try_number`` its release stored.

The rows are as Airflow 2.9.3 and 2.10.5 leave them for one instance with a retry, try by
try (2.9 raised the number when a worker began a try and lowered it when the try deferred or
waited for its next poke; 2.10 raises it when the try is scheduled)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conveyor.store.airflow_import.reading import _tries_up_to
from conveyor.store.airflow_import.records import AirflowTry
from conveyor.store.airflow_import.try_numbers import counts_started_tries, try_number

#: (state, what 2.9.3 stored, what 2.10.5 stored) along one instance's life.
LIFE = [
    (None, 0, 0),  # made with its run
    ("scheduled", 0, 1),
    ("queued", 0, 1),
    ("running", 1, 1),
    ("deferred", 0, 1),  # its first try handed to the triggerer
    ("scheduled", 0, 1),  # the trigger fired: the same try goes on
    ("running", 1, 1),
    ("up_for_reschedule", 0, 1),  # a sensor's poke said "later"
    ("running", 1, 1),
    ("up_for_retry", 1, 1),  # the first try failed
    ("scheduled", 1, 2),
    ("queued", 1, 2),
    ("running", 2, 2),
    ("success", 2, 2),
    (None, 2, 2),  # cleared
    ("scheduled", 2, 3),
]


@pytest.mark.parametrize(("state", "stored_29", "stored_210"), LIFE)
def test_a_2_9_instance_is_read_at_the_try_2_10_numbers(
    state: str | None, stored_29: int, stored_210: int
) -> None:
    assert try_number("2.9.2", state, stored_29) == stored_210
    assert try_number("2.10.0", state, stored_210) == stored_210
    assert try_number("3.3.0", state, stored_210) == stored_210


@pytest.mark.parametrize(
    ("release", "counts"),
    [("2.7.0", True), ("2.8.1", True), ("2.9.2", True), ("2.10.0", False), ("3.0.0", False)],
)
def test_releases_before_2_10_count_started_tries(release: str, counts: bool) -> None:
    assert counts_started_tries(release) is counts


def a_try(number: int, state: str | None) -> AirflowTry:
    start = datetime(2026, 1, 7, 20, number, tzinfo=UTC)
    return AirflowTry(number, state, start, start, 0.0, "worker-1", 7)


def test_the_history_s_try_wins_over_a_cleared_row_and_the_row_over_the_history() -> None:
    """Airflow 2.10 records a try in ``task_instance_history`` as it retries or is cleared,
    and the row keeps that try's times: cleared (no state), the history has its outcome;
    up for retry, the row says so."""
    history = [a_try(1, "failed"), a_try(2, "success")]
    cleared = _tries_up_to(a_try(2, None), history)
    assert [(t.try_number, t.state) for t in cleared] == [(1, "failed"), (2, "success")]
    retrying = _tries_up_to(a_try(2, "up_for_retry"), [a_try(1, "failed"), a_try(2, "failed")])
    assert [(t.try_number, t.state) for t in retrying] == [(1, "failed"), (2, "up_for_retry")]
    before_2_10 = _tries_up_to(a_try(2, None), [])  # no history: the row, at_switch drops it
    assert [(t.try_number, t.state) for t in before_2_10] == [(2, None)]
