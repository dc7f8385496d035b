"""XCom values as Airflow keeps them: what JSON has no type for is written as Airflow's
serialization writes it, ``{"__classname__": ..., "__version__": ..., "__data__": ...}``,
and read back as the type it was.

A task may return or push, as on Airflow: datetimes, dates and timedeltas (pendulum's too),
time zones, tuples, sets and frozensets, ``Decimal``, ``UUID``, numpy's scalars, pydantic
models, dataclasses, attrs classes, and objects with a ``serialize()`` method (read back by
the class's ``deserialize(data, version)``). Anything else is refused where it is pushed,
naming its type. Reading back a class that is not one of these builtin kinds (a team's
dataclass, a pydantic model) needs the class in ``allowed_deserialization_classes`` (glob
patterns, Airflow's ``airflow.*`` by default) or ``allowed_deserialization_classes_regexp``,
as on Airflow: anything else is refused where it is pulled, naming the setting.

The written form is Airflow's, so an XCom taken over from an Airflow database reads the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import re
import uuid
from collections.abc import Callable
from fnmatch import fnmatch
from typing import Any

from conveyor.config import Settings
from conveyor.strict_json import MAX_DEPTH

CLASSNAME = "__classname__"
VERSION = "__version__"
DATA = "__data__"

_TUPLE, _SET, _FROZENSET = "builtins.tuple", "builtins.set", "builtins.frozenset"
_DECIMAL, _UUID = "decimal.Decimal", "uuid.UUID"
_DATETIME, _DATE, _TIMEDELTA = "datetime.datetime", "datetime.date", "datetime.timedelta"
_PENDULUM_DATETIME, _PENDULUM_DATE = "pendulum.datetime.DateTime", "pendulum.date.Date"
_ZONEINFO = "zoneinfo.ZoneInfo"
_PENDULUM_ZONE, _PENDULUM_FIXED = (
    "pendulum.tz.timezone.Timezone",
    "pendulum.tz.timezone.FixedTimezone",
)
#: numpy's scalar types, read back by their own constructor.
_NUMPY = frozenset(
    f"numpy.{name}"
    for name in [
        *("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
        *("float16", "float32", "float64", "complex64", "complex128", "bool", "bool_"),
    ]
)
#: The versions Airflow writes each kind with.
_DATETIME_VERSION = 2
_BUILTIN_VERSION = 1

#: Whether a class may be read back: the patterns of ``allowed_deserialization_classes``.
Allowed = Callable[[str], bool]


def allowed_classes(globs: str = "airflow.*", regexps: str = "") -> Allowed:
    """The rule of Airflow's two settings: a class name matching one of the space-separated
    glob patterns, or one of the regular expressions whole."""
    patterns = globs.split()
    compiled = [re.compile(p) for p in regexps.split()]
    return lambda name: (
        any(fnmatch(name, p) for p in patterns) or any(p.fullmatch(name) for p in compiled)
    )


def allowed_by(settings: Settings) -> Allowed:
    """The classes the settings let an XCom value be read back as."""
    return allowed_classes(
        settings.allowed_deserialization_classes, settings.allowed_deserialization_classes_regexp
    )


def _qualname(value: Any) -> str:
    cls = value if isinstance(value, type) else type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _encoded(classname: str, version: int, data: Any) -> dict[str, Any]:
    return {CLASSNAME: classname, VERSION: version, DATA: data}


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON types, the others written as Airflow writes them. TypeError for a
    value of no kind Airflow writes; ValueError for a dict that uses the reserved key."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [encode(item, depth + 1) for item in value]
    if isinstance(value, dict):
        if CLASSNAME in value:
            raise ValueError(f"a dict with the key {CLASSNAME!r}, which XCom values reserve")
        return {str(k): encode(v, depth + 1) for k, v in value.items()}
    if isinstance(value, tuple):  # a namedtuple too, read back as a tuple (as on Airflow)
        return _encoded(_TUPLE, _BUILTIN_VERSION, encode(list(value), depth + 1))
    if isinstance(value, set | frozenset):
        kind = _FROZENSET if isinstance(value, frozenset) else _SET
        return _encoded(kind, _BUILTIN_VERSION, encode(list(value), depth + 1))
    if type(value).__module__ == "numpy" and _qualname(value) in _NUMPY:
        # Before the numbers: numpy's float64 is a float, and Airflow keeps its type.
        kind = type(value).__name__
        plain = value.item()
        return _encoded(
            _qualname(value), _BUILTIN_VERSION, bool(plain) if "bool" in kind else plain
        )
    if isinstance(value, bool | int | float):
        return value.value if isinstance(value, enum.Enum) else value
    found = _encode_known(value)
    if found is not None:
        return found
    return _encode_object(value, depth)


def _encode_known(value: Any) -> dict[str, Any] | None:
    """The kinds Airflow writes with serializers of its own, or None."""
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        number = int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
        return _encoded(_DECIMAL, _BUILTIN_VERSION, number)
    if isinstance(value, uuid.UUID):
        return _encoded(_UUID, _BUILTIN_VERSION, str(value))
    if isinstance(value, dt.datetime):
        zone = _encode_zone(value.tzinfo) if value.tzinfo else None
        tz = None if zone is None else _encoded(_TUPLE, _BUILTIN_VERSION, [*zone, True])
        data = {"timestamp": value.timestamp(), "tz": tz}
        return _encoded(_qualname(value), _DATETIME_VERSION, data)
    if isinstance(value, dt.date):
        return _encoded(_qualname(value), _DATETIME_VERSION, value.isoformat())
    if isinstance(value, dt.timedelta):
        return _encoded(_TIMEDELTA, _DATETIME_VERSION, value.total_seconds())
    if isinstance(value, dt.tzinfo):
        zone = _encode_zone(value)
        if zone is None:
            raise TypeError(f"cannot serialize the time zone {value!r}: it has no name")
        data, classname, version = zone
        return _encoded(classname, version, data)
    return None


def _encode_zone(zone: dt.tzinfo) -> tuple[Any, str, int] | None:
    """A time zone as Airflow writes it: its name (or offset in seconds), class, version."""
    classname = _qualname(zone)
    offset = getattr(zone, "offset", None)
    if classname == _PENDULUM_FIXED and isinstance(offset, int):
        return ("UTC" if offset == 0 else offset), classname, _BUILTIN_VERSION
    name = getattr(zone, "key", None) or getattr(zone, "name", None) or getattr(zone, "zone", None)
    if isinstance(name, str):
        return name, classname, _BUILTIN_VERSION
    if zone.utcoffset(None) == dt.timedelta(0):
        return "UTC", _PENDULUM_FIXED, _BUILTIN_VERSION
    return None


def _encode_object(value: Any, depth: int) -> dict[str, Any]:
    """A pydantic model, an object with ``serialize()``, a dataclass or an attrs class."""
    cls = type(value)
    name = _qualname(value)
    version = getattr(cls, "__version__", 0)
    if callable(getattr(value, "model_dump", None)) and hasattr(cls, "model_validate"):
        return _encoded(name, 1, encode(value.model_dump(mode="json"), depth + 1))
    if callable(getattr(value, "serialize", None)):
        return _encoded(name, version, encode(value.serialize(), depth + 1))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encoded(name, version, encode(dataclasses.asdict(value), depth + 1))
    if hasattr(cls, "__attrs_attrs__"):
        fields = {a.name: getattr(value, a.name) for a in cls.__attrs_attrs__ if a.init}
        return _encoded(name, version, encode(fields, depth + 1))
    raise TypeError(
        f"cannot serialize an object of type {name}: return JSON data, a datetime, a set, "
        "a Decimal, a dataclass, or give the class a serialize() method and a "
        "deserialize(data, version) staticmethod"
    )


def decode(value: Any, allowed: Allowed) -> Any:
    """What ``encode`` wrote, read back as its type; a class ``allowed`` refuses raises
    ImportError with Airflow's message."""
    if isinstance(value, list):
        return [decode(item, allowed) for item in value]
    if not isinstance(value, dict):
        return value
    if CLASSNAME not in value or VERSION not in value:
        return {k: decode(v, allowed) for k, v in value.items()}
    classname, version, data = value[CLASSNAME], value[VERSION], value.get(DATA)
    builtin = _decode_builtin(classname, data, allowed)
    if builtin is not _NOT_BUILTIN:
        return builtin
    if not allowed(classname):
        raise ImportError(
            f"{classname} was not found in allow list for deserialization imports. "
            "To allow it, add it to allowed_deserialization_classes in the configuration"
        )
    return _decode_object(classname, version, decode(data, allowed))


_NOT_BUILTIN = object()


def _decode_builtin(classname: str, data: Any, allowed: Allowed) -> Any:
    if classname in (_TUPLE, _SET, _FROZENSET):
        items = decode(data, allowed)
        return {_TUPLE: tuple, _SET: set, _FROZENSET: frozenset}[classname](items)
    if classname == _DECIMAL:
        return decimal.Decimal(str(data))
    if classname == _UUID:
        return uuid.UUID(data)
    if classname in (_DATETIME, _PENDULUM_DATETIME):
        tz = _decode_zone(decode(data["tz"], allowed)) if data.get("tz") else None
        if classname == _PENDULUM_DATETIME and _pendulum() is not None:
            return _pendulum().DateTime.fromtimestamp(float(data["timestamp"]), tz=tz)
        return dt.datetime.fromtimestamp(float(data["timestamp"]), tz=tz)
    if classname in (_DATE, _PENDULUM_DATE):
        if classname == _PENDULUM_DATE and _pendulum() is not None:
            return _pendulum().Date.fromisoformat(data)
        return dt.date.fromisoformat(data)
    if classname == _TIMEDELTA:
        return dt.timedelta(seconds=float(data))
    if classname in (_ZONEINFO, _PENDULUM_ZONE, _PENDULUM_FIXED):
        return _decode_zone((data, classname, _BUILTIN_VERSION))
    if classname in _NUMPY:
        numpy = importlib.import_module("numpy")
        return getattr(numpy, classname.removeprefix("numpy."))(data)
    return _NOT_BUILTIN


def _decode_zone(zone: Any) -> dt.tzinfo:
    """A time zone from what ``_encode_zone`` wrote: pendulum's where pendulum is installed
    (as Airflow reads it back), else the standard library's."""
    data, classname = zone[0], zone[1]
    pendulum = _pendulum()
    if classname == _ZONEINFO or pendulum is None:
        if isinstance(data, int):
            return dt.timezone(dt.timedelta(seconds=data))
        import zoneinfo

        return dt.UTC if data == "UTC" else zoneinfo.ZoneInfo(data)
    if isinstance(data, int):
        return pendulum.FixedTimezone(data)  # type: ignore[no-any-return]
    return pendulum.timezone(data)  # type: ignore[no-any-return]


def _pendulum() -> Any:
    try:
        return importlib.import_module("pendulum")
    except ImportError:
        return None


def _decode_object(classname: str, version: int, data: Any) -> Any:
    module_name, _, name = classname.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ImportError(f"cannot import {classname} to read an XCom value back: {exc}") from None
    if callable(getattr(cls, "model_validate", None)):
        return cls.model_validate(data)
    if callable(getattr(cls, "deserialize", None)):
        return cls.deserialize(data, version)
    if dataclasses.is_dataclass(cls) or hasattr(cls, "__attrs_attrs__"):
        if int(version) > getattr(cls, "__version__", 0):
            raise TypeError(
                f"the XCom value of {classname} was written by version {version}, newer than "
                f"the class's {getattr(cls, '__version__', 0)}"
            )
        if not isinstance(data, dict):
            raise TypeError(f"the XCom value of {classname} is not a dict of its fields")
        return cls(**data)
    raise TypeError(
        f"no way to read {classname} back: give it a deserialize(data, version) staticmethod, "
        "or make it a dataclass or an attrs class"
    )


def as_collection(value: Any) -> Any:
    """A stored XCom value as the scheduler reads it to count a mapped task's instances: a
    tuple, set or frozenset as the list of its items (left as written); another written
    value as an object of a class named as its type (what no mapping takes, named in the
    refusal); anything else as it is."""
    if not (isinstance(value, dict) and CLASSNAME in value and VERSION in value):
        return value
    if value[CLASSNAME] in (_TUPLE, _SET, _FROZENSET):
        return list(value.get(DATA) or [])
    return type(str(value[CLASSNAME]).rpartition(".")[2], (), {})()


#: The keys of Airflow's written forms, this one's and the older ``__type``/``__var`` one: a
#: value given through the API may not hold them, or a task pulling it would read it back as
#: an object of a class the request named (Airflow refuses them likewise).
RESERVED_KEYS = frozenset(
    {CLASSNAME, VERSION, DATA, "__id__", "__cache__", "__type", "__source", "__var"}
)


def refuse_reserved_keys(value: Any, path: str = "value") -> None:
    """ValueError naming where ``value`` holds a reserved key, as Airflow's API refuses it. A
    string that is the JSON text of a dict or list is read as that text, since the API's
    ``deserialize=true`` reads it so."""
    if isinstance(value, str):
        parsed = _json_or_none(value)
        if isinstance(parsed, dict | list):
            refuse_reserved_keys(parsed, path)
    elif isinstance(value, dict):
        found = RESERVED_KEYS & value.keys()
        if found:
            raise ValueError(
                f"XCom {path} contains reserved serialization keys: {', '.join(sorted(found))}. "
                "These keys mark an object Airflow's serialization wrote and may not be given"
            )
        for key, item in value.items():
            refuse_reserved_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_reserved_keys(item, f"{path}[{index}]")


def _json_or_none(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return None


class _ReadWhole(Exception):
    """An ``airflow.*`` object: Airflow's API shows such a value as written, not as text."""


def display(value: Any) -> Any:
    """A stored value as Airflow's API shows it with ``deserialize=true``: JSON as it is (a
    string holding JSON text parsed), each written object as the text
    ``classname@version=N(data)``, a tuple or set as ``(a,b)``; a value holding an
    ``airflow.*`` object is shown as written."""
    if isinstance(value, str):
        parsed = _json_or_none(value)
        value = value if parsed is None and value != "null" else parsed
    try:
        return _display(value)
    except _ReadWhole:
        return value


def _display(value: Any) -> Any:
    if isinstance(value, list):
        return [_display(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__type" in value and "__var" in value:  # the older written form
        if value["__type"] == "dict":
            value = value["__var"]
        else:
            value = _encoded(value["__type"], 0, value["__var"])
        if not isinstance(value, dict):
            return _display(value)
    if CLASSNAME not in value or VERSION not in value:
        return {str(k): _display(v) for k, v in value.items()}
    classname, version, data = value[CLASSNAME], value[VERSION], value.get(DATA)
    if not isinstance(classname, str) or not isinstance(version, int) or not classname:
        raise _ReadWhole
    if classname.startswith("airflow."):
        raise _ReadWhole
    if classname in (_TUPLE, _SET, _FROZENSET) and isinstance(data, list):
        return "(" + ",".join(str(_display(item)) for item in data) + ")"
    return f"{classname}@version={version}({_display_data(data)})"


def _display_data(data: Any) -> str:
    if isinstance(data, list):
        return ",".join(str(_display(item)) for item in data)
    if isinstance(data, dict):
        return ", ".join(
            f"{k}={v!r}" if isinstance(v, str) else f"{k}={_display(v)}" for k, v in data.items()
        )
    return "" if data is None else str(data)
