"""The trigger form's fields, built from a DAG's params.

A DAG's params are ``{name: default}``, and the default's JSON type is the type the API
accepts for that key of a run's ``conf`` (``conveyor.model.params``). So the field follows
the default: a checkbox for a boolean, a number input for a number, text for a string, a
JSON editor for a list, an object, or a null default (which takes any JSON value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conveyor.model.params import json_type

KINDS = ("boolean", "integer", "number", "string", "json")


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str  # one of KINDS
    default: Any
    description: str | None = None
    #: A Param(...)'s constraints, shown beside the field (the API checks them).
    constraints: str = ""

    @property
    def default_text(self) -> str:
        """The default as the form's input shows it."""
        if self.kind == "json":
            return json.dumps(self.default, indent=2)
        return "" if self.default is None else str(self.default)

    @property
    def hint(self) -> str:
        return {
            "boolean": "true or false",
            "integer": "a whole number",
            "number": "a number",
            "string": "text",
            "json": "any JSON value" if self.default is None else "JSON",
        }[self.kind]


def field_kind(default: Any) -> str:
    """The form field for a param with this default: its JSON type, or the JSON editor for
    an array, an object or null."""
    kind = json_type(default)
    return kind if kind in KINDS else "json"


_SHOWN = ("enum", "minimum", "maximum", "minLength", "maxLength", "pattern", "format")


def form_fields(params: list[dict[str, Any]]) -> list[FormField]:
    """The trigger form's fields, in the order the DAG declares its params, from the DAG's
    ``params`` as the API gives them (name, default, type, description, param_schema)."""
    fields = []
    for param in params:
        schema = param.get("param_schema") or {}
        declared = schema.get("type")
        kind = declared if declared in KINDS else field_kind(param["default"])
        shown = ", ".join(f"{key} {schema[key]!r}" for key in _SHOWN if key in schema)
        fields.append(
            FormField(param["name"], kind, param["default"], param.get("description"), shown)
        )
    return fields
