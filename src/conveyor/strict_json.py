"""The one rule for JSON the store keeps and every reader is sent: strict JSON.

Python's JSON parser and ``json.dumps`` accept what strict JSON does not: ``NaN`` and
``Infinity``, and lone UTF-16 surrogates (``"\\ud800"``). Stored, such a value breaks every
later response that holds it (a strict encoder refuses ``NaN``; UTF-8 cannot encode a lone
surrogate). So a run's conf and every XCom value are checked against this rule by whoever
writes them (the API, the CLI, ``TriggerDagRunOperator``, ``conveyor.testing``, a task's
return value and ``xcom_push``) and by the store itself as the last line.

Rows written before the rule existed are read through :func:`shown`, which marks the bad
parts instead of failing: ``NaN``/``Infinity`` become the strings ``"NaN"``,
``"Infinity"``, ``"-Infinity"``, and a lone surrogate becomes U+FFFD.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from conveyor.exceptions import ConveyorError

#: What a run's conf may be at most, as compact JSON, unless ``max_conf_bytes`` says otherwise.
DEFAULT_MAX_CONF_BYTES = 64 << 10
RULE = "strict JSON: no NaN, no Infinity, no lone UTF-16 surrogates"

_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


class NotStrictJson(ConveyorError, ValueError):
    """A value that breaks the rule; the message names the path to the bad part."""


def problem(value: Any, where: str = "") -> str | None:
    """Why ``value`` is not strict JSON (naming the path to the bad part), or None; the
    answer is itself printable (a surrogate in a key is written ``\\udXXX``)."""
    found = _problem(value, where)
    return None if found is None else _printable(found)


def _problem(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        bad = _SURROGATE.search(value)
        if bad is not None:
            return (
                f"{where or 'value'}: the lone UTF-16 surrogate U+{ord(bad.group()):04X} "
                f"at position {bad.start()} is not valid text"
            )
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where or 'value'}: {value} is not a JSON number"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            found = _problem(key, f"{where or 'value'} key") or _problem(item, inner)
            if found:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _problem(item, f"{where}[{index}]")
            if found:
                return found
    return None


def check(value: Any, what: str, where: str = "") -> Any:
    """``value`` if it is strict JSON; else :class:`NotStrictJson` saying what it is, and
    where in it (a path that starts with ``where``) the bad part is."""
    found = problem(value, where)
    if found is not None:
        raise NotStrictJson(f"{what}: {found} ({RULE})")
    return value


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON: what the store keeps and a reader is sent."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass"))


def check_conf(conf: dict[str, Any], limit: int = DEFAULT_MAX_CONF_BYTES) -> dict[str, Any]:
    """A run's conf if it is strict JSON of at most ``limit`` bytes; else NotStrictJson."""
    found = problem(conf, "conf")
    if found is not None:
        raise NotStrictJson(f"{found} ({RULE})")
    if (size := encoded_size(conf)) > limit:
        raise NotStrictJson(f"conf: {size} bytes of JSON; at most {limit} (max_conf_bytes)")
    return conf


def shown(value: Any) -> Any:
    """``value`` with its bad parts marked (see the module's docstring); the same object
    when nothing is wrong, so reading good rows costs one walk and no copy."""
    if isinstance(value, str):
        return _SURROGATE.sub(_REPLACEMENT, value) if _SURROGATE.search(value) else value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else _NON_FINITE[value]
    if isinstance(value, dict):
        pairs = [(shown(key), shown(item)) for key, item in value.items()]
        same = all(a is k and b is v for (a, b), (k, v) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if isinstance(value, list):
        items = [shown(item) for item in value]
        same = all(a is b for a, b in zip(items, value, strict=True))
        return value if same else items
    return value


def _printable(message: str) -> str:
    """A message that can itself be printed and sent: a key holding a surrogate is quoted."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", message)
