"""Secrets backends: where connections and variables are looked up before the environment and
the store (Airflow's ``[secrets] backend`` and ``backend_kwargs``).

The ``secrets_backend`` setting names a class by import path; Airflow's class paths of its AWS
Secrets Manager, Systems Manager Parameter Store, HashiCorp Vault and local-file backends name
Conveyor's own (:data:`AIRFLOW_CLASS_PATHS`), so a deployment's Airflow settings work as they
are. A backend answers with the text it holds (a connection's URI or JSON form, a variable's
value) or None when it holds nothing under that name; anything else that goes wrong
(unreachable, access denied, a value that does not parse) is a :class:`SecretsBackendError`
naming the backend and the key. The caller then goes on to the environment and the store, as
Airflow does, and says what failed if nothing else has the name either.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Protocol, runtime_checkable

from conveyor.config import Settings
from conveyor.connections.forms import connection_from_text
from conveyor.connections.models import Connection
from conveyor.exceptions import ConfigError, ConveyorError

__all__ = [
    "AIRFLOW_CLASS_PATHS",
    "SecretsBackend",
    "SecretsBackendError",
    "configured",
    "find_connection",
    "find_variable",
]

_HERE = "conveyor.connections.backends"
#: Airflow's class paths and the Conveyor class each one names (Airflow 2's old module names
#: of the AWS backends included).
AIRFLOW_CLASS_PATHS = {
    "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend": (
        f"{_HERE}.aws.SecretsManagerBackend"
    ),
    "airflow.contrib.secrets.aws_secrets_manager.SecretsManagerBackend": (
        f"{_HERE}.aws.SecretsManagerBackend"
    ),
    "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend": (
        f"{_HERE}.aws.SystemsManagerParameterStoreBackend"
    ),
    "airflow.contrib.secrets.aws_systems_manager.SystemsManagerParameterStoreBackend": (
        f"{_HERE}.aws.SystemsManagerParameterStoreBackend"
    ),
    "airflow.secrets.local_filesystem.LocalFilesystemBackend": (
        f"{_HERE}.local_file.LocalFilesystemBackend"
    ),
    "airflow.providers.hashicorp.secrets.vault.VaultBackend": f"{_HERE}.vault.VaultBackend",
    "airflow.contrib.secrets.hashicorp_vault.VaultBackend": f"{_HERE}.vault.VaultBackend",
}
#: Backends Conveyor does not have: refused when the settings name them, with what to do.
_REFUSED = {
    "airflow.providers.google.cloud.secrets.secret_manager.CloudSecretManagerBackend": (
        "Google Cloud Secret Manager"
    ),
    "airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend": ("Azure Key Vault"),
}


class SecretsBackendError(ConveyorError):
    """The secrets backend could not answer for a key: unreachable, access denied, or a value
    it holds that does not parse. The message names the backend and the key."""


@runtime_checkable
class SecretsBackend(Protocol):
    """What a backend class provides; it is made with the ``secrets_backend_kwargs`` as
    keyword arguments, and should refuse an argument it does not know (``ConfigError``)."""

    def get_conn_value(self, conn_id: str) -> str | None:
        """A connection's URI or JSON form, or None when the backend holds none of that id."""
        ...

    def get_variable(self, key: str) -> str | None:
        """A variable's text, or None when the backend holds none of that key."""
        ...


class _Configured:
    def __init__(self, name: str, backend: SecretsBackend) -> None:
        self.name = name  # the class path as the settings give it, for messages
        self.backend = backend


_loaded: dict[tuple[str, str], _Configured] = {}
_lock = threading.Lock()


def configured(settings: Settings) -> _Configured | None:
    """The backend the settings name, made once per process and kept (its clients are costly
    to make); None when there is none. A path that does not import, or arguments the class
    refuses, are a ``ConfigError`` naming the setting."""
    path = settings.secrets_backend
    if not path:
        return None
    key = (path, settings.secrets_backend_kwargs)
    with _lock:
        found = _loaded.get(key)
        if found is None:
            found = _loaded[key] = _Configured(path, _make(path, settings.backend_kwargs))
    return found


def _make(path: str, kwargs: dict[str, Any]) -> SecretsBackend:
    if path in _REFUSED:
        raise ConfigError(
            f"setting 'secrets_backend': {path!r} ({_REFUSED[path]}) is not a backend Conveyor "
            "has; use the AWS Secrets Manager, Parameter Store, Vault or local-file backend "
            "(docs/security.md), or move these secrets into the store or the environment"
        )
    target = AIRFLOW_CLASS_PATHS.get(path, path)
    module_name, _, class_name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"setting 'secrets_backend': cannot import {path!r}: {exc}"
            + ("" if path in AIRFLOW_CLASS_PATHS else " (an import path package.module.Class)")
        ) from None
    try:
        backend = cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"setting 'secrets_backend_kwargs' for {path}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"setting 'secrets_backend_kwargs' for {path}: {exc}") from None
    if not isinstance(backend, SecretsBackend):
        raise ConfigError(
            f"setting 'secrets_backend': {path!r} has no get_conn_value and get_variable"
        )
    return backend


def find_connection(settings: Settings, conn_id: str) -> Connection | None:
    """The backend's connection of that id, None when it has none or none is configured;
    ``SecretsBackendError`` when it could not answer."""
    found = configured(settings)
    if found is None:
        return None
    text = _ask(found, "connection", conn_id, found.backend.get_conn_value)
    if text is None:
        return None
    try:
        return connection_from_text(conn_id, text, description=f"from {found.name}")
    except ConfigError as exc:
        raise SecretsBackendError(f"secrets backend {found.name}: {exc}") from None


def find_variable(settings: Settings, key: str) -> str | None:
    """The backend's variable of that key, None when it has none or none is configured;
    ``SecretsBackendError`` when it could not answer."""
    found = configured(settings)
    if found is None:
        return None
    return _ask(found, "variable", key, found.backend.get_variable)


def _ask(found: _Configured, kind: str, key: str, get: Any) -> str | None:
    try:
        value = get(key)
    except SecretsBackendError:
        raise
    except Exception as exc:  # the backend's library's own errors, whatever they are
        raise SecretsBackendError(
            f"secrets backend {found.name} could not read {kind} {key!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if value is not None and not isinstance(value, str):
        raise SecretsBackendError(
            f"secrets backend {found.name}: {kind} {key!r} is a {type(value).__name__}, not text"
        )
    return value


def forget_loaded() -> None:
    """Drop the backends made so far (tests that change the settings in one process)."""
    with _lock:
        _loaded.clear()
