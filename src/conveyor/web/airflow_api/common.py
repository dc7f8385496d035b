"""What the ``/api/v2`` routes share: paging and ordering as Airflow's, its datetimes,
path parameters and the role dependencies (from :mod:`.access`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from conveyor.store.engine import Connection, Store
from conveyor.web.airflow_api import map_index_path  # noqa: F401  (registers the convertor)
from conveyor.web.airflow_api.access import (
    ADMIN,
    EDIT,
    READ,
    Administrator,
    Editor,
    Operator,
    Reader,
    Viewer,
    dag_visible,
    require_dag,
    sees_every_dag,
    visible_dag_ids,
)
from conveyor.web.airflow_api.text_match import Match, either

__all__ = [
    "ADMIN",
    "EDIT",
    "READ",
    "Administrator",
    "DagIdPath",
    "Editor",
    "MapIndexPath",
    "NoTeam",
    "Operator",
    "Page",
    "Reader",
    "RowShape",
    "TaskIdPath",
    "TryNumberPath",
    "UtcTime",
    "Viewer",
    "dag_visible",
    "invalid",
    "mask_fields",
    "require_dag",
    "sees_every_dag",
    "text_filters",
    "unprocessable",
    "utc",
    "visible_dag_ids",
]

T = TypeVar("T")

#: Airflow's [api] fallback_page_limit and maximum_page_limit: a larger limit is cut to it.
DEFAULT_LIMIT = 50
MAXIMUM_LIMIT = 100
MAX_OFFSET = 2**31 - 1
ID_PATTERN = r"^[^\x00]+$"
#: ``~`` in a path stands for "every DAG" (or every run), as in Airflow.
ALL = "~"

DagIdPath = Annotated[str, Path(max_length=250, pattern=ID_PATTERN)]
RunIdPath = Annotated[str, Path(max_length=250, pattern=ID_PATTERN)]
TaskIdPath = Annotated[str, Path(max_length=250, pattern=ID_PATTERN)]
# Numbers a store's integer column holds: a larger one is a 422, not an overflow (500).
MapIndexPath = Annotated[int, Path(ge=-1, le=2**31 - 1)]
TryNumberPath = Annotated[int, Path(ge=0, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=0)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
OrderBy = Annotated[list[str] | None, Query(max_length=20)]
#: A ``*_pattern`` or ``*_prefix_pattern`` filter of Airflow's lists (``text_match``).
Pattern = Annotated[str | None, Query(max_length=250)]
UpdateMask = Annotated[list[str] | None, Query(max_length=10)]


def _no_team(value: str | None) -> str | None:
    if value is not None:
        raise ValueError("Conveyor has no teams: leave team_name out")
    return value


#: ``team_name`` of a body: Airflow's teams, which Conveyor has not; only null is taken.
NoTeam = Annotated[str | None, Field(max_length=50), AfterValidator(_no_team)]


def utc(value: datetime | None) -> datetime | None:
    """A stored time as Airflow answers it: aware, in UTC (serialized ``...Z``)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _utc_time(value: datetime) -> datetime:
    return utc(value) or value


#: A time of a row as Airflow answers it (:func:`utc`), filled into a :class:`RowShape`.
UtcTime = Annotated[datetime, AfterValidator(_utc_time)]


class RowShape(BaseModel):
    """An answer filled from a store's row by attribute name (``Shape.model_validate(row)``);
    a field named otherwise than the row's attribute says so with ``validation_alias``."""

    # populate_by_name: FastAPI validates the answer again from its dump, by field name.
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


def invalid(where: str, name: str, message: str, kind: str = "value_error") -> Exception:
    """A 422 in Airflow's (FastAPI's) shape: ``detail`` lists the error with its location
    (``where``: query, body or path) and field."""
    return RequestValidationError([{"loc": (where, name), "msg": message, "type": kind}])


def unprocessable(message: str, *loc: str | int, kind: str = "value_error") -> HTTPException:
    """A 422 refusing a value the request's schema allows, in the shape of FastAPI's own
    (what Airflow answers and its clients parse): ``detail`` lists the error with where it
    is (``"body", "slots"``). An ``HTTPException``, so bulk actions report it per action."""
    return HTTPException(422, [{"loc": list(loc), "msg": message, "type": kind}])


def mask_fields(
    update_mask: Sequence[str] | None, changeable: Iterable[str], ignored: Iterable[str] = ()
) -> set[str]:
    """The fields a ``PATCH`` changes: those ``update_mask`` names, else every ``changeable``
    one; 400 for a name neither changeable nor ``ignored`` (the key, which is never changed)."""
    fields = set(update_mask) if update_mask else set(changeable)
    if unknown := fields - {*changeable, *ignored}:
        raise HTTPException(400, f"update_mask: no field {sorted(unknown)[0]!r} to change")
    return fields


def aware(name: str, value: datetime | None, where: str = "query") -> datetime | None:
    """A time from the request, in UTC; 422 naming ``name`` when it has no time zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid(
            where,
            name,
            "Input should have timezone info, e.g. 2026-01-01T00:00:00Z",
            "timezone_aware",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise invalid(where, name, f"{value.isoformat()} is out of range") from None


@dataclass(frozen=True)
class Page:
    """``limit``, ``offset`` and ``order_by`` of a list request, as Airflow reads them:
    a limit above :data:`MAXIMUM_LIMIT` is cut to it, ``order_by`` names attributes
    (``-name`` descending, several for ties) among those a route allows."""

    limit: int
    offset: int
    order_by: tuple[str, ...]

    @classmethod
    def of(cls, limit: int, offset: int, order_by: Sequence[str] | None, default: str) -> Page:
        return cls(min(limit, MAXIMUM_LIMIT), offset, tuple(order_by or (default,)))

    def keys(self, allowed: Sequence[str]) -> list[tuple[str, bool]]:
        """(attribute, descending) pairs; 400 for one the route does not sort by."""
        pairs = []
        for item in self.order_by:
            name = item.removeprefix("-")
            if name not in allowed:
                raise HTTPException(
                    400,
                    f"Ordering with '{name}' is disallowed or the attribute does not exist on "
                    f"the model; order by one of: {', '.join(allowed)}",
                )
            pairs.append((name, item.startswith("-")))
        return pairs

    def apply(self, items: Sequence[T], fields: dict[str, Callable[[T], Any]]) -> list[T]:
        """``items`` ordered as asked (missing values first, as SQL's NULLS FIRST ascending)
        and cut to the page."""
        ordered = list(items)
        for name, descending in reversed(self.keys(list(fields))):
            ordered.sort(key=_by(fields[name]), reverse=descending)
        return ordered[self.offset : self.offset + self.limit]

    def listed(
        self, items: Sequence[T], fields: dict[str, Callable[[T], Any]]
    ) -> tuple[list[T], int]:
        """The page of ``items`` (:meth:`apply`) and how many there are in all."""
        return self.apply(items, fields), len(items)


def paged(default_order: str) -> Callable[..., Page]:
    """A dependency taking a list's ``limit``, ``offset`` and ``order_by`` as its
    :class:`Page` (ordered by ``default_order`` when the request names no order)."""

    def page(limit: Limit = DEFAULT_LIMIT, offset: Offset = 0, order_by: OrderBy = None) -> Page:
        return Page.of(limit, offset, order_by, default_order)

    return page


def fixed_order(order: str) -> Callable[..., Page]:
    """A dependency taking a list's ``limit`` and ``offset`` as its :class:`Page`, for the
    lists Airflow always orders by ``order`` (no ``order_by`` parameter)."""

    def page(limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> Page:
        return Page.of(limit, offset, None, order)

    return page


def _by(get: Callable[[T], Any]) -> Callable[[T], tuple[int, Any]]:
    def key(item: T) -> tuple[int, Any]:
        return _sort_key(get(item))

    return key


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, datetime):
        return (1, utc(value))
    return (1, value)


def bounds(*prefixes: str, kind: type = datetime) -> Callable[..., dict[str, Any]]:
    """A dependency taking Airflow's range filters ``<prefix>_gte``, ``_gt``, ``_lte`` and
    ``_lt`` for each prefix (dates, or numbers with ``kind=float``) and answering those
    given, dates in UTC (422 naming one without a time zone)."""
    names = [f"{prefix}_{op}" for prefix in prefixes for op in ("gte", "gt", "lte", "lt")]

    def dependency(**given: Any) -> dict[str, Any]:
        found = {k: v for k, v in given.items() if v is not None}
        if kind is datetime:
            found = {k: aware(k, v) for k, v in found.items()}
        return found

    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=Query(None), annotation=kind | None
            )
            for name in names
        ]
    )
    return dependency


#: Field -> the predicate its ``*_pattern`` and ``*_prefix_pattern`` filters make (only the
#: fields given either).
TextFilters = dict[str, Match]


def text_filters(*fields: str, max_length: int = 250) -> Callable[..., TextFilters]:
    """A dependency taking Airflow's text filters ``<field>_pattern`` and
    ``<field>_prefix_pattern`` for each field (:mod:`.text_match` says what they match) and
    answering one predicate for each field given either."""

    def dependency(**given: str | None) -> TextFilters:
        found = {}
        for name in fields:
            match = either(given[f"{name}_pattern"], given[f"{name}_prefix_pattern"])
            if match is not None:
                found[name] = match
        return found

    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                f"{name}{suffix}",
                inspect.Parameter.KEYWORD_ONLY,
                default=Query(None, max_length=max_length),
                annotation=str | None,
            )
            for name in fields
            for suffix in ("_pattern", "_prefix_pattern")
        ]
    )
    return dependency


class _RolledBack(Exception):
    def __init__(self, result: Any) -> None:
        super().__init__("dry run")
        self.result = result


def dry_run(store: Store, action: Callable[[Connection], T]) -> T:
    """``action``'s result in a write transaction that is then rolled back: what an action
    would do, found by doing it (Airflow's ``dry_run``)."""
    try:
        with store.write() as conn:
            raise _RolledBack(action(conn))
    except _RolledBack as done:
        return done.result  # type: ignore[no-any-return]
