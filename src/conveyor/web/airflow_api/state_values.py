"""What the state-store routes share: the ``value`` a request may store, checked as Airflow
checks it (not null, strict JSON, at most ``[state_store] max_value_storage_bytes``), and
the 404 of a key a store does not hold."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import HTTPException, Path

from conveyor.airflow_compat.configuration import conf
from conveyor.store.state_store import MAX_KEY
from conveyor.strict_json import problem
from conveyor.web.airflow_api.common import unprocessable

#: A key in a route's path: the rest of it, ``/`` and all, as long as the store keeps.
KeyPath = Annotated[str, Path(min_length=1, max_length=MAX_KEY)]


def checked_value(value: Any) -> Any:
    """``value`` of the request's body if it may be stored; a 422 saying why otherwise
    (raised here, not by a validator: FastAPI's own 422 would echo a NaN it cannot send)."""
    if value is None:
        raise unprocessable("value cannot be null", "body", "value")
    found = problem(value)
    if found is not None:
        raise unprocessable(f"value is not strict JSON: {found}", "body", "value")
    limit = conf.getint("state_store", "max_value_storage_bytes")
    size = len(json.dumps(value))
    if limit > 0 and size > limit:
        raise unprocessable(
            f"value is {size} bytes, over max_value_storage_bytes ({limit}); raise "
            "[state_store] max_value_storage_bytes or set it to 0 to disable the limit",
            "body",
            "value",
        )
    return value


def key_not_found(store: str, key: str) -> HTTPException:
    """Airflow's 404 for a key the task's (``store`` "Task") or asset's ("Asset") store
    does not hold."""
    return HTTPException(404, f"{store} state store key {key!r} not found")
