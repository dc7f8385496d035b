"""JSON the store and every reader can hold: checked before a request writes anything.

Python's JSON parser accepts what strict JSON does not: ``NaN``/``Infinity`` and lone UTF-16
surrogates (``"\\ud800"``). Stored, such a value breaks every later response that holds it
(UTF-8 cannot encode a lone surrogate), so a run's conf, a connection's extra and a
variable are refused at the door with the path of the bad value.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator

_SURROGATE = re.compile("[\ud800-\udfff]")


def problem(value: Any, where: str = "") -> str | None:
    """Why ``value`` is not strict JSON (naming the path to the bad part), or None."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            return f"{where or 'value'}: a lone UTF-16 surrogate is not valid text"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where or 'value'}: {value} is not a JSON number"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            found = problem(key, f"{where or 'value'} key") or problem(item, inner)
            if found:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = problem(item, f"{where}[{index}]")
            if found:
                return found
    return None


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON: what the store keeps and a reader is sent."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _strict(value: Any) -> Any:
    found = problem(value)
    if found:
        raise ValueError(found)
    return value


#: A request field that must be strict JSON: a bad value is a 422 naming where it is.
StrictDict = Annotated[dict[str, Any], AfterValidator(_strict)]
StrictText = Annotated[str, AfterValidator(_strict)]
