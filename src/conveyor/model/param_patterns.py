"""The regular expressions of DAG params (``Param(pattern=...)``), checked in linear time.

JSON Schema's ``pattern`` and ``patternProperties`` are checked by ``jsonschema`` with
Python's ``re``, which backtracks: the usual e-mail and host-name patterns take seconds on a
30-character value and twice as long for each character more, and a run's conf is whatever
the op or API client who triggers the run typed. So a conf check froze the web process (and
the scheduler of ``conveyor standalone``) on one request.

Here those keywords are checked with RE2, which never backtracks: a check costs time linear
in the value, whatever the pattern. RE2 has no look-around and no back-references; a pattern
that uses them is refused when the DAG is defined (and, in a DAG serialized before, when a
run's conf is checked) with the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import re2
from jsonschema.protocols import Validator


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message says which and why."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the error is raised with its reason; no stderr noise
    return options


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern, or PatternError naming the feature RE2 refuses."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(
            f"pattern {pattern!r} cannot be checked in linear time ({reason}); param patterns "
            "may not use look-around or back-references"
        ) from None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` (JSON Schema's rule: unanchored)."""
    return compile_pattern(pattern).search(text) is not None


def patterns_in(schema: Any) -> Iterator[str]:
    """Every regular expression a schema holds: ``pattern`` values, ``patternProperties``
    keys, in every subschema."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from value
            yield from patterns_in(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from patterns_in(item)


def _pattern(validator: Validator, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    """jsonschema's rule, with the patterns of ``patternProperties`` searched by RE2."""
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = sorted(
        key for key in instance if key not in known and not any(search(p, key) for p in patterns)
    )
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif not additional and extras:
        joined = ", ".join(repr(key) for key in extras)
        yield jsonschema.ValidationError(f"additional properties are not allowed ({joined})")


#: JSON Schema keywords that search a regular expression, and their RE2 checks.
_KEYWORDS = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}


def validator_for(schema: dict[str, Any]) -> Validator:
    """A validator of ``schema`` (its draft, Draft 2020-12 by default) that checks patterns
    with RE2. Raises PatternError for a pattern RE2 cannot compile."""
    for pattern in patterns_in(schema):
        compile_pattern(pattern)
    if _has_unevaluated_with_patterns(schema):
        raise PatternError(
            "unevaluatedProperties with patternProperties is not supported in param schemas"
        )
    base = jsonschema.validators.validator_for(schema)
    return _extended(base)(schema)


@functools.lru_cache(maxsize=16)
def _extended(base: type[Validator]) -> type[Validator]:
    # jsonschema's stubs leave extend unannotated: it makes a validator class.
    extend: Callable[..., type[Validator]] = jsonschema.validators.extend
    return extend(base, _KEYWORDS)


def _has_unevaluated_with_patterns(schema: Any) -> bool:
    # jsonschema's unevaluatedProperties searches patternProperties with Python's re.
    if isinstance(schema, dict):
        if "unevaluatedProperties" in schema and "patternProperties" in schema:
            return True
        return any(_has_unevaluated_with_patterns(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_unevaluated_with_patterns(v) for v in schema)
    return False
