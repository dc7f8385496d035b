"""The trigger form's fields, built from a DAG's params.

A DAG's params are ``{name: default}``, and the default's JSON type is the type the API
accepts for that key of a run's ``conf`` (``conveyor.model.params``). So the field follows
the default: a checkbox for a boolean, a number input for a number, text for a string, a
JSON editor for a list, an object, or a null default (which takes any JSON value). A
``Param`` says more: ``enum=`` makes a select of its values, ``format="date"`` a date
input and ``format="date-time"`` a date-and-time input (sent as an ISO 8601 string).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conveyor.model.json_types import json_type

KINDS = ("boolean", "integer", "number", "string", "json")
#: The kinds a Param's schema chooses beyond its type: a select, a date, a date and time.
SCHEMA_KINDS = ("enum", "date", "date-time")


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str  # one of KINDS or SCHEMA_KINDS
    default: Any
    description: str | None = None
    #: A Param(...)'s constraints, shown beside the field (the API checks them).
    constraints: str = ""
    #: An enum's values, in the order the Param lists them.
    options: tuple[Any, ...] = ()

    @property
    def option_items(self) -> list[tuple[str, str, bool]]:
        """An enum's options as (JSON value, label, selected): the value is JSON so that a
        number or a null goes back as the type the Param declares."""
        return [
            (json.dumps(option), "" if option is None else str(option), option == self.default)
            for option in self.options
        ]

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
            "enum": "one of the listed values",
            "date": "a date",
            "date-time": "a date and time (your local time, sent as UTC)",
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
        kind = _schema_kind(schema) or _declared_kind(schema, param["default"])
        shown = ", ".join(f"{key} {schema[key]!r}" for key in _SHOWN if key in schema)
        options = tuple(schema["enum"]) if kind == "enum" else ()
        fields.append(
            FormField(
                param["name"], kind, param["default"], param.get("description"), shown, options
            )
        )
    return fields


def _schema_kind(schema: dict[str, Any]) -> str | None:
    """The select, date or date-time field a Param's schema asks for, or None."""
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return "enum"
    found = schema.get("format")
    return found if found in SCHEMA_KINDS else None


def _declared_kind(schema: dict[str, Any], default: Any) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):  # ["null", "string"]: the one type beside null
        named = [each for each in declared if each != "null"]
        declared = named[0] if len(named) == 1 else None
    return declared if declared in KINDS else field_kind(default)
