"""Answers built from the store's read rows: one row type, several names for it.

A run or a task instance is declared once, as the read row of ``store/reads/`` (a frozen
dataclass: each field's type, default and description). Conveyor's ``/api/v1`` (and so the
UI and the CLI) and Airflow's ``/api/v2`` show it under their own names, in their own
order, some fields left out and some computed. An answer declares only that mapping, as a
:class:`FromRow` in its class body (``__row__``); the fields it takes from the row get the
row's type and description, when the class is made, and the fields it computes are
annotated in the class body as usual (an annotation there also overrides the row's type of
a field, as ``/api/v2`` narrows a run's state to Airflow's four).

:func:`fill` makes an answer from a row: each field from the row's attribute it is mapped
to, or from the values the caller computed.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_type_hints

from pydantic import BaseModel, Field

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class FromRow:
    """How an answer shows a read row.

    ``shown``: the answer's fields in order (empty: the row's, less ``hidden``), each a
    row field's name, a name of ``renamed``, or a field the class body declares;
    ``renamed``: the answer's name -> the row's; ``defaults``: a default the answer gives a
    field (None widens its type to allow None); ``nullable``: fields that may be null though
    the row's never is; ``time``: the type a row's time is shown as (``/api/v2``: in UTC);
    ``described``: whether the answer carries the row's descriptions (Airflow's document
    has none); ``like``: an answer whose fields of the same names this one takes as they
    are there (a task instance's try shows most of what the instance shows)."""

    row: type
    shown: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    renamed: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    nullable: tuple[str, ...] = ()
    time: Any = datetime
    described: bool = True
    like: type[BaseModel] | None = None

    def names(self) -> tuple[str, ...]:
        if self.shown:
            return self.shown
        return tuple(f.name for f in dataclasses.fields(self.row) if f.name not in self.hidden)

    def source(self, name: str) -> str:
        """The row's attribute an answer's field ``name`` comes from."""
        return self.renamed.get(name, name)


def _allows_none(kind: Any) -> bool:
    return isinstance(kind, UnionType) and NoneType in get_args(kind)


def _with_time(kind: Any, time: Any) -> Any:
    if kind is datetime:
        return time
    if _allows_none(kind) and datetime in get_args(kind):
        return time | None
    return kind


def row_fields(spec: FromRow, declared: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The answer's fields (name -> type, default or FieldInfo), in order: from the row
    those the class body does not declare, ``None`` for those it declares."""
    hints = get_type_hints(spec.row)
    rows = {f.name: f for f in dataclasses.fields(spec.row)}
    found: dict[str, tuple[Any, Any]] = {}
    for name in spec.names():
        row_name = spec.source(name)
        if name in declared or row_name not in rows:
            if name not in declared:
                raise TypeError(
                    f"{spec.row.__name__} has no field {row_name!r} to show as {name!r}"
                )
            found[name] = (None, None)
            continue
        column = rows[row_name]
        kind = _with_time(hints[row_name], spec.time)
        default: Any = spec.defaults.get(name, column.default)
        if (name in spec.nullable or (name in spec.defaults and default is None)) and not (
            _allows_none(kind)
        ):
            kind = kind | None
        description = column.metadata.get("description") if spec.described else None
        if description is None:
            found[name] = (kind, default)
        elif default is dataclasses.MISSING:
            found[name] = (kind, Field(description=description))
        else:
            found[name] = (kind, Field(default, description=description))
    return found


class RowAnswer(BaseModel):
    """An answer whose class body says ``__row__ = FromRow(...)``: the fields it shows of
    the row are added, in the order it names, before pydantic reads the class.

    A type checker does not see the fields added so: it reads them as ``Any``. Code that
    wants them typed reads the row itself, which declares them."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        spec = cls.__dict__.get("__row__")
        if isinstance(spec, FromRow):
            declared = {**_shared(spec), **inspect.get_annotations(cls)}
            annotations: dict[str, Any] = {}
            for name, (kind, default) in row_fields(spec, declared).items():
                if kind is None:  # declared in the class body (or ``like``'s)
                    annotations[name] = declared.pop(name)
                    _share_default(cls, spec, name)
                    continue
                annotations[name] = kind
                if default is not dataclasses.MISSING:
                    setattr(cls, name, default)
            annotations.update(declared)  # the body's other fields, after the row's
            cls.__annotations__ = annotations
        super().__init_subclass__(**kwargs)


def _shared(spec: FromRow) -> dict[str, Any]:
    """The annotations ``spec.like`` made for the fields this answer shows too (from its
    row or its body, as this one would), their defaults set by :func:`_share_default`."""
    if spec.like is None:
        return {}
    made = spec.like.__annotations__
    return {name: made[name] for name in spec.names() if name in spec.like.model_fields}


def _share_default(cls: type, spec: FromRow, name: str) -> None:
    own = inspect.get_annotations(cls)
    if spec.like is None or name in own or name not in spec.like.model_fields:
        return
    shared = spec.like.model_fields[name]
    if shared.default_factory is not None:  # a fresh value for each answer, as there
        setattr(cls, name, Field(default_factory=shared.default_factory))
    elif not shared.is_required():
        setattr(cls, name, shared.default)


@cache
def _sources(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(field, row attribute) of each field of ``model``; a computed one names itself."""
    spec = getattr(model, "__row__", None)
    if not isinstance(spec, FromRow):
        return tuple((name, name) for name in model.model_fields)
    return tuple((name, spec.source(name)) for name in model.model_fields)


def fill(model: type[M], row: object, **computed: Any) -> M:
    """``model`` filled from ``row``: each field from ``computed`` when given there, else
    from the row's attribute it shows (its own name, or the one its ``__row__`` renames);
    a field the row lacks keeps its default (a required one is a validation error, never
    a silent gap)."""
    values = dict(computed)
    for name, source in _sources(model):
        if name not in values and hasattr(row, source):
            values[name] = getattr(row, source)
    return model.model_validate(values)
