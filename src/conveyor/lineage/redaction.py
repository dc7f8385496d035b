"""The secrets a try read, masked in its events as in its log: a connection's password, a
secret variable's value (``connections/masking.py`` registers them while the try runs), in
any string of the event (a rendered Bash command, a SQL statement, the run's conf), as
Airflow's provider redacts its events with its secrets masker."""

from __future__ import annotations

from typing import Any

import attr

from conveyor.connections import masking


def redacted(event: Any) -> Any:
    """``event`` (the OpenLineage client's attrs objects) with every registered secret
    written as ``***``, changed in place; untouched when the try read none."""
    if not masking.has_secrets():
        return event
    _walk(event)
    return event


def _walk(obj: Any) -> Any:
    if isinstance(obj, str):
        return masking.redact(obj)
    if isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = _walk(value)
        return obj
    if isinstance(obj, list):
        obj[:] = [_walk(item) for item in obj]
        return obj
    if attr.has(type(obj)):
        for field in attr.fields(type(obj)):
            value = getattr(obj, field.name)
            found = _walk(value)
            if found is not value:
                object.__setattr__(obj, field.name, found)
    return obj
