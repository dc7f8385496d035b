"""A connection written as text the way Airflow users hold them: a URI, or the JSON form.

The JSON form is an object with ``conn_type``, ``host``, ``port``, ``login``, ``password``,
``schema``, ``description`` and ``extra`` (an object, or that object as JSON text), as
``airflow connections export`` writes it and ``AIRFLOW_CONN_<ID>`` may hold it; ``uri`` may
stand for the fields it covers. Errors name the connection and never show the password.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from conveyor.connections.models import Connection, extra_text
from conveyor.exceptions import ConfigError

#: Airflow reads PostgreSQL's type "postgresql" as "postgres", its own name for it.
_TYPE_ALIASES = {"postgresql": "postgres"}
FIELDS = frozenset(
    {
        "conn_id",
        "conn_type",
        "host",
        "port",
        "login",
        "password",
        "schema",
        "description",
        "extra",
        "extra_dejson",
        "uri",
    }
)


def _extra(conn_id: str, value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"connection {conn_id!r}: extra is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(
            f"connection {conn_id!r}: extra must be a JSON object, got {type(value).__name__}"
        )
    return value


def _port(conn_id: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"connection {conn_id!r}: port must be a whole number, got {value!r}"
        ) from None


def connection_from_dict(conn_id: str, data: dict[str, Any]) -> Connection:
    """A connection from Airflow's JSON form (already parsed)."""
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ConfigError(
            f"connection {conn_id!r}: unknown keys {', '.join(unknown)} "
            f"(a connection object has {', '.join(sorted(FIELDS - {'extra_dejson'}))})"
        )
    if data.get("conn_id") not in (None, conn_id):
        raise ConfigError(
            f"connection {conn_id!r}: the object says conn_id {data['conn_id']!r}; "
            "the two must match"
        )
    extra = _extra(conn_id, data.get("extra", data.get("extra_dejson")))
    if data.get("uri"):
        base = Connection.from_uri(conn_id, str(data["uri"]))
        extra = {**base.extra_dejson, **extra}
    else:
        conn_type = data.get("conn_type")
        if not conn_type or not isinstance(conn_type, str):
            raise ConfigError(f"connection {conn_id!r}: the object needs conn_type (or uri)")
        kind = conn_type.replace("-", "_")
        base = Connection(conn_id=conn_id, conn_type=_TYPE_ALIASES.get(kind, kind))
    given = {k: data[k] for k in ("host", "login", "password", "schema") if data.get(k)}
    return replace(
        base,
        **given,
        port=_port(conn_id, data["port"]) if data.get("port") not in (None, "") else base.port,
        extra=extra_text(extra),
        description=data.get("description") or base.description,
    )


def connection_from_text(conn_id: str, text: str, description: str | None = None) -> Connection:
    """A connection from a URI, or from its JSON form when the text is a JSON object."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return Connection.from_uri(conn_id, stripped, description)
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        # The message of a JSON error quotes no part of the text, so no secret shows.
        raise ConfigError(f"connection {conn_id!r}: not a valid JSON object ({exc})") from None
    found = connection_from_dict(conn_id, data)
    return replace(found, description=found.description or description)
