"""When the runs a scheduler starts outgrow what PostgreSQL's planner knows of the table."""

from __future__ import annotations

from conveyor.store.planner_statistics import MIN_ADDED_ROWS, outgrown


def test_small_additions_never_call_for_an_analyze() -> None:
    assert not outgrown(-1, MIN_ADDED_ROWS - 1)
    assert not outgrown(0, 10)


def test_a_never_analyzed_table_is_outgrown_by_any_big_run() -> None:
    assert outgrown(-1, MIN_ADDED_ROWS)


def test_a_known_table_is_outgrown_past_a_tenth_of_its_rows() -> None:
    assert outgrown(1_000, 3_000)
    assert outgrown(100_000, 10_001)
    assert not outgrown(100_000, 10_000)
    assert not outgrown(10_000_000, 10_000)
