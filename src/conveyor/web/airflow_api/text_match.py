"""Airflow's text filters of its lists, as predicates over a value.

``*_pattern``: a case-insensitive search for each ``|``-separated term anywhere in the value
(``%`` and ``_`` in a term are SQL LIKE's wildcards; ``~`` alone matches every value).
``*_prefix_pattern``: the value starts with one of the ``|``-separated terms, case-sensitive
and literal, each term cut of its trailing punctuation first (``test_`` finds ``test``...);
``~`` or a term of punctuation only matches every value. A value that is not set (None)
matches neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from conveyor.store.reads.text_terms import EVERY, prefix_terms, terms
from conveyor.web.dag_selection import like

Match = Callable[[str | None], bool]
T = TypeVar("T")


def search(pattern: str) -> Match:
    """The values holding a term of ``pattern`` (``~``: every value)."""
    if pattern == EVERY:
        return lambda value: value is not None
    found = [like(f"%{term}%") for term in terms(pattern)]
    return lambda value: value is not None and any(p.search(value) for p in found)


def prefix(pattern: str) -> Match:
    """The values starting with a term of ``pattern`` (``~``: every value)."""
    starts = tuple(prefix_terms(pattern))
    return lambda value: value is not None and value.startswith(starts)


def either(pattern: str | None, prefix_pattern: str | None) -> Match | None:
    """One predicate for a ``*_pattern`` and its ``*_prefix_pattern`` (both must hold);
    None when neither is given."""
    tests = [search(pattern)] if pattern else []
    if prefix_pattern:
        tests.append(prefix(prefix_pattern))
    if not tests:
        return None
    return lambda value: all(t(value) for t in tests)


def kept(items: Iterable[T], value: Callable[[T], str | None], match: Match | None) -> list[T]:
    """The ``items`` whose ``value`` ``match`` keeps (all of them when no filter was given)."""
    return list(items) if match is None else [item for item in items if match(value(item))]
