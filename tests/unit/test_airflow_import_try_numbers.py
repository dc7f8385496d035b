"""The try an Airflow task instance is at, read from the ``try_number`` its release stored.

The rows are as Airflow 2.9.3 and 2.10.5 leave them for one instance with a retry, try by
try (2.9 raised the number when a worker began a try and lowered it when the try deferred or
waited for its next poke; 2.10 raises it when the try is scheduled)."""

from __future__ import annotations

import pytest

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
