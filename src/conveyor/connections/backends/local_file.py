"""Connections and variables kept in files beside the deployment (Airflow's
``LocalFilesystemBackend``), read again at each lookup so an edited file counts at once.

The files are those of ``airflow connections export`` and ``airflow variables export``:
JSON, YAML or ``.env`` (``files`` reads them). A connection is a URI or the JSON form; a
variable's value that is not text (a YAML mapping, a JSON list) is given as its JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conveyor.connections.files import read_document
from conveyor.exceptions import ConfigError


class LocalFilesystemBackend:
    """``connections_file_path`` and ``variables_file_path``, each optional;
    ``configs_file_path`` is taken for Airflow's sake and not read (Conveyor's settings come
    from conveyor.toml and the environment)."""

    def __init__(
        self,
        connections_file_path: str | None = None,
        variables_file_path: str | None = None,
        configs_file_path: str | None = None,
    ) -> None:
        self.connections_file = _path("connections_file_path", connections_file_path)
        self.variables_file = _path("variables_file_path", variables_file_path)
        self.configs_file = _path("configs_file_path", configs_file_path)

    def get_conn_value(self, conn_id: str) -> str | None:
        if self.connections_file is None:
            return None
        value = read_document(self.connections_file).get(conn_id)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, dict):
            return json.dumps(value)
        raise ConfigError(
            f"{self.connections_file}: connection {conn_id!r} must be a URI or an object, "
            f"got {type(value).__name__}"
        )

    def get_variable(self, key: str) -> str | None:
        if self.variables_file is None:
            return None
        value: Any = read_document(self.variables_file).get(key)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)


def _path(name: str, value: str | None) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a file path, got {value!r}")
    return Path(value).expanduser()
