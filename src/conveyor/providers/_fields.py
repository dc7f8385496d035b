"""``keep_fields``: a provider operator keeps its constructor's keywords as the fields it
declares.

Operators and notifiers keep most of their keywords as attributes of the same names:
templated fields are rendered by name, and ``execute`` reads them. The class declares those
fields with their types, as a dataclass does, and its ``__init__`` calls
``keep_fields(self, TheClass, locals())`` to set each from the argument of that name. A
keyword changed on the way (``blocks or []``) is set on a line of its own instead.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any


@functools.cache
def declared_fields(cls: type) -> tuple[str, ...]:
    """The attributes ``cls`` itself annotates without giving them a value (its fields, as
    a dataclass's), in order; ``ClassVar`` ones are the class's own, never fields."""
    return tuple(
        name
        for name, kind in inspect.get_annotations(cls).items()
        if name not in cls.__dict__ and not str(kind).startswith(("ClassVar", "typing.ClassVar"))
    )


def keep_fields(target: object, cls: type, arguments: Mapping[str, Any]) -> None:
    """Set each field ``cls`` declares on ``target`` to the argument of that name."""
    for name in declared_fields(cls):
        setattr(target, name, arguments[name])
