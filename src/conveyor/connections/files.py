"""Read and write the files of ``airflow connections export`` and ``airflow variables export``.

Connections: a JSON or YAML object of ``conn_id -> the JSON form or a URI``, or an ``.env``
file of ``conn_id=URI`` (or ``conn_id={...}``) lines. Variables: a JSON or YAML object of
``key -> value`` (a value that is not text is stored as its JSON; ``{"value": ...,
"description": ...}`` carries a description), or ``key=value`` lines in an ``.env`` file.
The file's format is its extension's. Errors name the file, and the line where there is one.

Writing gives Airflow's JSON form, which both Airflow's and Conveyor's import read; secrets
are ``***`` unless revealed (docs/cli.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from conveyor.connections.forms import connection_from_dict, connection_from_text
from conveyor.connections.models import Connection
from conveyor.exceptions import ConfigError

FORMATS = (".env", ".json", ".yaml", ".yml")


class VariableValue(NamedTuple):
    value: str
    description: str | None


def _read_object(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if not text.strip():
        raise ConfigError(f"{path}: the file is empty")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the file must hold an object (id -> value)")
    return {str(k): v for k, v in data.items()}


def _read_env(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        if key in found:
            raise ConfigError(f"{path}:{number}: {key!r} is given twice")
        found[key] = value.strip()
    return found


def read_document(path: Path) -> dict[str, Any]:
    """The file's object (``id -> value``) as its format holds it; an ``.env`` file's values
    are text."""
    return _read(path)


def _read(path: Path) -> dict[str, Any]:
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(f"{path}: unsupported file type; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    return _read_env(path) if path.suffix.lower() == ".env" else _read_object(path)


def read_connections(path: Path) -> dict[str, Connection]:
    """Every connection of the file, by id."""
    found: dict[str, Connection] = {}
    for conn_id, value in _read(path).items():
        if isinstance(value, str):
            found[conn_id] = connection_from_text(conn_id, value)
        elif isinstance(value, dict):
            found[conn_id] = connection_from_dict(conn_id, value)
        else:
            raise ConfigError(
                f"{path}: connection {conn_id!r} must be a URI or an object, "
                f"got {type(value).__name__}"
            )
    return found


def read_variables(path: Path) -> dict[str, VariableValue]:
    """Every variable of the file, by key, as the text to store."""
    found: dict[str, VariableValue] = {}
    for key, value in _read(path).items():
        description = None
        if isinstance(value, dict) and "value" in value:
            value, description = value["value"], value.get("description")
        text = value if isinstance(value, str) else json.dumps(value)
        found[key] = VariableValue(text, description)
    return found


def connections_document(conns: list[Connection], *, reveal: bool) -> dict[str, Any]:
    """``conn_id -> Airflow's JSON form``, as ``airflow connections export`` writes it (the
    extra as a JSON string); passwords and secret fields masked unless ``reveal``."""
    found: dict[str, Any] = {}
    for conn in conns:
        shown = conn if reveal else conn.masked()
        found[conn.conn_id] = {
            "conn_type": conn.conn_type,
            "description": conn.description,
            "host": shown.host,
            "login": shown.login,
            "password": shown.password,
            "schema": shown.schema,
            "port": conn.port,
            "extra": shown.extra,
        }
    return found


def variables_document(values: dict[str, str]) -> dict[str, Any]:
    """``key -> value``, as ``airflow variables export`` writes it: a value that is JSON is
    written as that JSON, any other as text."""
    found: dict[str, Any] = {}
    for key, text in values.items():
        try:
            found[key] = json.loads(text, parse_constant=_not_json)
        except ValueError:
            found[key] = text
    return found


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: kept as text
