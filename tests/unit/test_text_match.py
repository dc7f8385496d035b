"""Airflow's text filters of its lists (``*_pattern``, ``*_prefix_pattern``), read the one
way every list of ``/api/v2`` reads them: the terms, and the predicates made of them."""

from __future__ import annotations

import pytest

from conveyor.store.reads.text_terms import prefix_terms, terms
from conveyor.web.airflow_api.text_match import either, kept, prefix, search


def test_terms_split_on_the_bar_and_drop_empty_ones() -> None:
    assert terms("a | b||c") == ["a", "b", "c"]
    assert terms("plain") == ["plain"]
    assert terms("|") == ["|"]  # nothing but bars: the pattern itself


def test_prefix_terms_lose_trailing_punctuation_and_the_tilde_is_every_value() -> None:
    assert prefix_terms("test_") == ["test"]
    assert prefix_terms("a.b-|x") == ["a.b", "x"]
    assert prefix_terms("~") == [""]
    assert prefix_terms("__") == [""]


@pytest.mark.parametrize(
    ("pattern", "value", "found"),
    [
        ("ETL", "daily_etl", True),  # any case, anywhere
        ("d_ily", "daily", True),  # `_` is one character, as in SQL LIKE
        ("da%ly", "data_only", True),  # `%` is any text
        ("nope|ETL", "daily_etl", True),
        ("~", "anything", True),
        ("~", None, False),  # a value that is not set matches no filter
        ("etl", None, False),
    ],
)
def test_search(pattern: str, value: str | None, found: bool) -> None:
    assert search(pattern)(value) is found


@pytest.mark.parametrize(
    ("pattern", "value", "found"),
    [
        ("dai", "daily", True),
        ("DAI", "daily", False),  # case counts
        ("dai_", "daily", True),  # trailing punctuation cut
        ("x|da", "daily", True),
        ("~", "daily", True),
        ("~", None, False),
        ("%", "daily", True),  # punctuation only: every value that is set
        ("aily", "daily", False),
    ],
)
def test_prefix(pattern: str, value: str | None, found: bool) -> None:
    assert prefix(pattern)(value) is found


def test_both_filters_must_hold_and_none_given_keeps_everything() -> None:
    both = either("LY", "da")
    assert both is not None
    assert [both(v) for v in ("daily", "hourly", "data")] == [True, False, False]
    assert either(None, None) is None
    assert kept(["a", "b"], str, None) == ["a", "b"]
    assert kept(["daily", "hourly"], str, either(None, "ho")) == ["hourly"]
