"""Turning a result row into a frozen dataclass of the read model, field by field."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def row_as(cls: type[T], row: Any) -> T:
    """An instance of the dataclass ``cls`` from the row's columns of the same names."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: getattr(row, name) for name in names})
