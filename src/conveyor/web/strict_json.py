"""Strict JSON at the door: a request field that breaks the rule is a 422 naming where.

The rule itself, and the checks every other writer makes, are :mod:`conveyor.strict_json`;
here it becomes pydantic annotations for request bodies (a run's conf, a connection's
extra, a variable).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

from conveyor.strict_json import encoded_size, problem

__all__ = ["StrictDict", "StrictText", "encoded_size", "problem"]


def _strict(value: Any) -> Any:
    found = problem(value)
    if found:
        raise ValueError(found)
    return value


#: A request field that must be strict JSON: a bad value is a 422 naming where it is.
StrictDict = Annotated[dict[str, Any], AfterValidator(_strict)]
StrictText = Annotated[str, AfterValidator(_strict)]
