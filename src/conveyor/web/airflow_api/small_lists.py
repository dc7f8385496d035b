"""Airflow's search parameters over lists read whole (variables, connections, pools,
import errors, assets: few, and some entries come from the environment rather than the
store): ``*_pattern`` is a case-insensitive substring with SQL LIKE's ``%`` and ``_``
(``|`` separates alternatives, ``~`` matches all), ``*_prefix_pattern`` a case-sensitive
prefix. Paging and ordering are ``common.Page``'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, TypeVar

from fastapi import Query

Pattern = Annotated[
    str | None,
    Query(max_length=500, description="case-insensitive substring; % and _ as in SQL LIKE"),
]
PrefixPattern = Annotated[str | None, Query(max_length=500, description="case-sensitive prefix")]

T = TypeVar("T")


def _terms(pattern: str) -> list[str]:
    return [t.strip() for t in pattern.split("|") if t.strip()] or [pattern]


def like(pattern: str | None) -> Callable[[str | None], bool]:
    """A test of a value against an Airflow ``*_pattern`` parameter (None: everything)."""
    if pattern is None or pattern in ("", "~"):
        return lambda _value: True
    expressions = [
        re.compile(
            "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in term),
            re.IGNORECASE | re.DOTALL,
        )
        for term in _terms(pattern)
    ]
    return lambda value: value is not None and any(e.search(value) for e in expressions)


def prefix(pattern: str | None) -> Callable[[str | None], bool]:
    """A test of a value against an Airflow ``*_prefix_pattern`` parameter."""
    if not pattern:
        return lambda _value: True
    terms = _terms(pattern)
    return lambda value: value is not None and any(value.startswith(t) for t in terms)


def matching(
    items: Iterable[T],
    name: Callable[[T], str | None],
    pattern: str | None,
    prefix_pattern: str | None,
) -> list[T]:
    """The ``items`` whose ``name`` matches both a ``*_pattern`` and a ``*_prefix_pattern``."""
    matches, starts = like(pattern), prefix(prefix_pattern)
    return [item for item in items if matches(name(item)) and starts(name(item))]
