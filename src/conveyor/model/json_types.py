"""The JSON type name of a Python value, as a param's schema or a conf check names it.

A module of its own so that a reader that only shows a param's type (``conveyor dags show``,
the API's DAG details) does not import jsonschema with :mod:`conveyor.model.params`.
"""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str | None:
    """The JSON type name of a value; None for null."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None
