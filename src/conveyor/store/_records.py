"""A row of the store as one of the frozen dataclasses the store's readers return.

Where a dataclass names its fields after the columns it is read from, the mapping is the
field list itself: :func:`record` reads each field from the column of that name, so a new
field cannot be declared and then forgotten by a hand-written copy of the list.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

R = TypeVar("R")


def record(kind: type[R], row: Any, **given: Any) -> R:
    """``row`` as ``kind``: every field from the column of its name, except those ``given``
    (a value the column holds in another form, such as a JSON list that may be NULL)."""
    columns = row._mapping
    read = {f.name: columns[f.name] for f in fields(kind) if f.name not in given}  # type: ignore[arg-type]
    return kind(**read, **given)
