"""Turning a result row into a frozen dataclass of the read model, field by field."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


@cache
def _names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() costs more than the row itself when thousands are read.
    return tuple(f.name for f in dataclasses.fields(cls))


def row_as(cls: type[T], row: Any, **given: Any) -> T:
    """An instance of the dataclass ``cls`` from the row's columns of the same names; a
    field in ``given`` takes that value instead (one the row lacks, or holds otherwise)."""
    names = _names(cls)  # type: ignore[arg-type]
    return cls(**{name: given[name] if name in given else getattr(row, name) for name in names})


def description(text: str) -> Mapping[str, str]:
    """A field's metadata saying what it holds (``field(metadata=description(...))``): the
    answers made from the row (``web/row_shapes.py``) describe the field with it."""
    return {"description": text}
