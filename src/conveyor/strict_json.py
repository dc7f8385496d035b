"""The one rule for JSON the store keeps and every reader is sent: strict JSON.

Python's JSON parser and ``json.dumps`` accept what strict JSON does not: ``NaN`` and
``Infinity``, and lone UTF-16 surrogates (``"\\ud800"``). Stored, such a value breaks every
later response that holds it (a strict encoder refuses ``NaN``; UTF-8 cannot encode a lone
surrogate). So a run's conf and every XCom value are checked against this rule by whoever
writes them (the API, the CLI, ``TriggerDagRunOperator``, ``conveyor.testing``, a task's
return value and ``xcom_push``) and by the store itself as the last line.

The rule also bounds nesting: at most :data:`MAX_DEPTH` levels of objects and arrays. A
value nested hundreds of levels deep is no pipeline's data, and it breaks every reader on
the way out (serializers and parsers that recurse stop at a few hundred levels). Depth is
measured without recursion, on values (:func:`depth`) and on JSON text before it is parsed
(:func:`text_depth`, :func:`loads`), so no input can exhaust the stack of the check itself.

Rows written before the rule existed are read through :func:`shown`, which marks the bad
parts instead of failing: ``NaN``/``Infinity`` become the strings ``"NaN"``,
``"Infinity"``, ``"-Infinity"``, a lone surrogate becomes U+FFFD, and what lies deeper than
:data:`MAX_DEPTH` is replaced by the text :data:`TOO_DEEP`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from conveyor.exceptions import ConveyorError

#: What a run's conf may be at most, as compact JSON, unless ``max_conf_bytes`` says otherwise.
DEFAULT_MAX_CONF_BYTES = 64 << 10
#: Levels of objects and arrays a value may have (``{"a": [1]}`` has two).
MAX_DEPTH = 64
RULE = (
    "strict JSON: no NaN, no Infinity, no lone UTF-16 surrogates, "
    f"at most {MAX_DEPTH} levels of nesting"
)
#: What :func:`shown` puts where a stored value was nested deeper than the rule allows.
TOO_DEEP = f"(nested deeper than {MAX_DEPTH} levels: not shown)"

_SURROGATE = re.compile("[\ud800-\udfff]")
#: A JSON string (skipped whole, so the brackets inside it do not count) or a bracket.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')
_REPLACEMENT = "\ufffd"
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


class NotStrictJson(ConveyorError, ValueError):
    """A value that breaks the rule; the message names the path to the bad part."""


def depth(value: Any, stop_after: int = MAX_DEPTH) -> int:
    """Levels of dicts, lists and tuples in ``value`` (a scalar is 0), counted without
    recursion; the count stops early once it passes ``stop_after``."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            inner: Any = item.values()
        elif isinstance(item, list | tuple):
            inner = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > stop_after:
            return deepest
        pending.extend((child, level) for child in inner if isinstance(child, dict | list | tuple))
    return deepest


def text_depth(text: str | bytes, stop_after: int = MAX_DEPTH) -> int:
    """Levels of objects and arrays in JSON text, read in one pass without parsing it (a
    bracket inside a string does not count); stops early once past ``stop_after``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    level = deepest = 0
    for token in _STRING_OR_BRACKET.finditer(text):
        char = token.group()
        if char in "[{":
            level += 1
            if level > deepest:
                deepest = level
                if deepest > stop_after:
                    return deepest
        elif char in "]}":
            level -= 1
    return deepest


def too_deep(what: str = "value") -> str:
    """The refusal of a value nested deeper than the rule allows."""
    return f"{what}: nested more than {MAX_DEPTH} levels deep"


def loads(text: str | bytes, what: str = "value") -> Any:
    """``json.loads`` under the nesting rule: text nested deeper than :data:`MAX_DEPTH` is
    :class:`NotStrictJson`, found before the parser (which recurses) sees it. Bad JSON is
    ``json.JSONDecodeError`` as usual."""
    if text_depth(text) > MAX_DEPTH:
        raise NotStrictJson(f"{too_deep(what)} ({RULE})")
    return json.loads(text)


def problem(value: Any, where: str = "") -> str | None:
    """Why ``value`` is not strict JSON (naming the path to the bad part), or None; the
    answer is itself printable (a surrogate in a key is written ``\\udXXX``)."""
    if depth(value) > MAX_DEPTH:
        return too_deep(where or "value")
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
    if isinstance(value, dict | list) and depth(value) > MAX_DEPTH:
        value = _cut(value)
    return _shown(value)


def _cut(value: Any) -> Any:
    """A copy of ``value`` whose containers at level :data:`MAX_DEPTH` are :data:`TOO_DEEP`,
    made without recursion."""
    root: list[Any] = [None]
    pending: list[tuple[Any, Any, Any, int]] = [(root, 0, value, 0)]
    while pending:
        parent, slot, item, level = pending.pop()
        if not isinstance(item, dict | list):
            parent[slot] = item
            continue
        if level >= MAX_DEPTH:
            parent[slot] = TOO_DEEP
            continue
        copy: Any = dict.fromkeys(item) if isinstance(item, dict) else [None] * len(item)
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        pending.extend((copy, key, child, level + 1) for key, child in pairs)
        parent[slot] = copy
    return root[0]


def _shown(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub(_REPLACEMENT, value) if _SURROGATE.search(value) else value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else _NON_FINITE[value]
    if isinstance(value, dict):
        pairs = [(_shown(key), _shown(item)) for key, item in value.items()]
        same = all(a is k and b is v for (a, b), (k, v) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if isinstance(value, list):
        items = [_shown(item) for item in value]
        same = all(a is b for a, b in zip(items, value, strict=True))
        return value if same else items
    return value


def _printable(message: str) -> str:
    """A message that can itself be printed and sent: a key holding a surrogate is quoted."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", message)
