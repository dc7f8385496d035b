"""A trigger's keyword arguments and an event's payload as JSON, and back.

JSON, plus the types triggers take: datetimes (aware), timedeltas, tuples. Anything else is
refused where the try defers, naming the argument, rather than failing in the triggerer.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from typing import Any

from conveyor.triggers.base import BaseTrigger

_TYPE = "__conveyor_type__"


class TriggerSerializationError(ValueError):
    """A trigger's arguments or an event's payload that JSON cannot hold."""


def encode(value: Any, where: str) -> Any:
    """``value`` as JSON, the types above tagged."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TriggerSerializationError(f"{where}: {value!r} is not a JSON number")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TriggerSerializationError(f"{where}: datetime {value} has no time zone")
        return {_TYPE: "datetime", "value": value.isoformat()}
    if isinstance(value, timedelta):
        return {_TYPE: "timedelta", "value": value.total_seconds()}
    if isinstance(value, tuple):
        return {_TYPE: "tuple", "value": [encode(v, where) for v in value]}
    if isinstance(value, list):
        return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TriggerSerializationError(f"{where}: dict keys must be strings")
        return {k: encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise TriggerSerializationError(
        f"{where}: {type(value).__name__} cannot be stored (JSON, datetime, timedelta only)"
    )


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        kind = value.get(_TYPE)
        if kind == "datetime":
            return datetime.fromisoformat(value["value"])
        if kind == "timedelta":
            return timedelta(seconds=value["value"])
        if kind == "tuple":
            return tuple(decode(v) for v in value["value"])
        return {k: decode(v) for k, v in value.items()}
    return value


def serialize(trigger: Any) -> tuple[str, dict[str, Any]]:
    """``trigger.serialize()`` checked and made JSON: (class path, keyword arguments)."""
    if not hasattr(trigger, "serialize") or not hasattr(trigger, "run"):
        raise TriggerSerializationError(
            f"defer(trigger=...) needs a trigger (a BaseTrigger), got {type(trigger).__name__}"
        )
    found = trigger.serialize()
    if not (isinstance(found, tuple | list) and len(found) == 2 and isinstance(found[0], str)):
        raise TriggerSerializationError(
            f"{type(trigger).__name__}.serialize() must return (classpath, kwargs), got {found!r}"
        )
    classpath, kwargs = found
    if "." not in classpath:
        raise TriggerSerializationError(f"trigger class path {classpath!r} names no module")
    if not isinstance(kwargs, dict):
        raise TriggerSerializationError(f"{classpath}: serialize() kwargs must be a dict")
    return classpath, encode(kwargs, f"{classpath} argument")


def resolve(classpath: str) -> type[BaseTrigger]:
    """The class a stored trigger names, imported (the caller has entered its DAG's
    namespace, so a helper module of the DAG's folder is found)."""
    module, _, name = classpath.rpartition(".")
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found  # type: ignore[no-any-return]


def build(classpath: str, kwargs: dict[str, Any], cls: type | None = None) -> Any:
    """The trigger again, from its stored form."""
    return (cls or resolve(classpath))(**decode(kwargs))
