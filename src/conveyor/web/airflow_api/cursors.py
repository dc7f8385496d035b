"""Keyset paging of Airflow 3.3's lists (``cursor``): a page starts after the row a token
names by its values of the list's order, so rows made or deleted meanwhile neither repeat
nor skip an item, where an ``offset`` would shift.

A token is the URL-safe base64 of the JSON list of the boundary row's order values (and its
``id`` last, to break ties). ``next_cursor`` names a page's last row; ``previous_cursor``
its first, with ``~`` before it to read backwards. ``total_entries`` counts at most
:data:`COUNT_LIMIT` matches (``total_entries_limit``): a total equal to it means at least
that many.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cmp_to_key
from typing import Any, Generic, TypeVar

from fastapi import HTTPException

from conveyor.web.airflow_api.common import utc

T = TypeVar("T")
COUNT_LIMIT = 50_000
BACKWARD = "~"


@dataclass(frozen=True)
class CursorPage(Generic[T]):
    items: list[T]
    total: int
    next_cursor: str | None
    previous_cursor: str | None


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """A page of a list and how many match in all; read with a cursor, the cursors of the
    pages around it and the cap of ``total`` (:data:`COUNT_LIMIT`)."""

    items: list[T]
    total: int
    total_limit: int | None = None
    next_cursor: str | None = None
    previous_cursor: str | None = None


def cursored(page: CursorPage[Any], items: list[T]) -> ListPage[T]:
    """``items`` (``page``'s items, or those items as shown) under ``page``'s cursors."""
    return ListPage(items, page.total, COUNT_LIMIT, page.next_cursor, page.previous_cursor)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": utc(value).isoformat()}  # type: ignore[union-attr]
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromisoformat(value["t"])
    return value


def _token(values: list[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read(token: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("shape")
        return [_decode_value(v) for v in values]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(
            400, "Invalid cursor token: pass an empty cursor, or one the list answered"
        ) from None


def _compare_one(a: Any, b: Any) -> int:
    """SQL's order of one column, empty values first."""
    if a is None or b is None:
        return (a is not None) - (b is not None)
    if isinstance(a, datetime) and isinstance(b, datetime):
        a, b = utc(a), utc(b)
    try:
        return int((a > b) - (a < b))
    except TypeError:  # a token of another list's shape
        raise HTTPException(400, "Cursor token does not match this list's order") from None


def _compare(keys: Sequence[bool]) -> Callable[[list[Any], list[Any]], int]:
    def compare(a: list[Any], b: list[Any]) -> int:
        for descending, x, y in zip(keys, a, b, strict=True):
            found = _compare_one(x, y)
            if found:
                return -found if descending else found
        return 0

    return compare


def cursor_page(
    items: Sequence[T],
    fields: dict[str, Callable[[T], Any]],
    keys: list[tuple[str, bool]],
    cursor: str,
    limit: int,
    tie: tuple[str, bool] = ("id", False),
) -> CursorPage[T]:
    """The page of ``items`` that ``cursor`` (empty: the first page) asks for, ordered by
    ``keys`` ((field, descending) pairs) and then by ``tie`` (a unique field)."""
    order = keys if any(name == tie[0] for name, _ in keys) else [*keys, tie]
    values: list[tuple[T, list[Any]]] = [
        (item, [fields[name](item) for name, _ in order]) for item in items
    ]
    compare = _compare([descending for _, descending in order])

    def by_keys(a: tuple[T, list[Any]], b: tuple[T, list[Any]]) -> int:
        return compare(a[1], b[1])

    values.sort(key=cmp_to_key(by_keys))
    total = min(len(values), COUNT_LIMIT)
    backward = cursor.startswith(BACKWARD)
    token = cursor.removeprefix(BACKWARD)
    if not token:
        chosen, has_previous, has_next = values[:limit], False, len(values) > limit
    else:
        bound = _read(token, len(order))
        if backward:
            before = [v for v in values if compare(v[1], bound) < 0]
            chosen = before[-limit:] if limit else []
            has_previous, has_next = len(before) > len(chosen), True
        else:
            after = [v for v in values if compare(v[1], bound) > 0]
            chosen, has_previous, has_next = after[:limit], True, len(after) > limit
    return CursorPage(
        items=[item for item, _ in chosen],
        total=total,
        next_cursor=_token(chosen[-1][1]) if has_next and chosen else None,
        previous_cursor=BACKWARD + _token(chosen[0][1]) if has_previous and chosen else None,
    )
