"""HashiCorp Vault (or OpenBao) KV secrets as a secrets backend, with the arguments Airflow's
``VaultBackend`` takes for the sign-ins Conveyor has: a token, AppRole, user and password.

A connection ``my_db`` is the secret ``<mount_point>/<connections_path>/my_db``: its
``conn_uri`` key holds a URI, or its keys are the JSON form's fields (``conn_type``,
``host``, ``login``, ``password``, ``extra``...). A variable is the ``value`` key of the
secret under ``variables_path``. A path may be a list, tried in order; null looks nothing of
that kind up. A ``mount_point`` of null reads the mount from the id's first part, as Airflow
does. KV version 2 by default, 1 with ``kv_engine_version``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conveyor.exceptions import ConfigError
from conveyor.install_hint import pip_install

_AUTH_TYPES = ("token", "approle", "userpass")
#: Client arguments passed to hvac as they are (TLS and the namespace of Vault Enterprise).
_CLIENT_KWARGS = frozenset({"verify", "cert", "namespace", "timeout"})


class VaultBackend:
    """Vault's KV engine through hvac (``conveyor[hashicorp]``)."""

    def __init__(
        self,
        connections_path: str | list[str] | None = "connections",
        variables_path: str | list[str] | None = "variables",
        config_path: str | list[str] | None = "config",
        url: str | None = None,
        auth_type: str = "token",
        auth_mount_point: str | None = None,
        mount_point: str | None = "secret",
        kv_engine_version: int = 2,
        token: str | None = None,
        token_path: str | None = None,
        username: str | None = None,
        password: str | None = None,
        role_id: str | None = None,
        secret_id: str | None = None,
        **client: Any,
    ) -> None:
        _require_client()
        unknown = sorted(set(client) - _CLIENT_KWARGS)
        if unknown:
            raise ConfigError(
                f"VaultBackend: unknown or unsupported argument {', '.join(map(repr, unknown))}; "
                f"Conveyor's Vault backend signs in with auth_type {', '.join(_AUTH_TYPES)} "
                f"and passes {', '.join(sorted(_CLIENT_KWARGS))} to the client"
            )
        if auth_type not in _AUTH_TYPES:
            raise ConfigError(
                f"VaultBackend: auth_type {auth_type!r} is not one Conveyor has; use "
                f"{', '.join(_AUTH_TYPES)}"
            )
        if kv_engine_version not in (1, 2):
            raise ConfigError(
                f"VaultBackend: kv_engine_version must be 1 or 2, got {kv_engine_version!r}"
            )
        if not url:
            raise ConfigError("VaultBackend: url is required, e.g. http://127.0.0.1:8200")
        self.connections_path = _paths(connections_path)
        self.variables_path = _paths(variables_path)
        self.config_path = _paths(config_path)
        self.mount_point = mount_point
        self.kv_engine_version = kv_engine_version
        self._sign_in = {
            "auth_type": auth_type,
            "auth_mount_point": auth_mount_point,
            "token": token,
            "token_path": token_path,
            "username": username,
            "password": password,
            "role_id": role_id,
            "secret_id": secret_id,
        }
        _check_sign_in(self._sign_in)
        self._url = url
        self._client_kwargs = client
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:  # signed in at the first lookup, again when refused
            self._client = self._signed_in()
        return self._client

    def _signed_in(self) -> Any:
        import hvac

        how = self._sign_in
        client = hvac.Client(url=self._url, **self._client_kwargs)
        mount = how["auth_mount_point"]
        if how["auth_type"] == "token":
            token = how["token"]
            if token is None:
                token = Path(str(how["token_path"])).expanduser().read_text().strip()
            client.token = token
        elif how["auth_type"] == "approle":
            client.auth.approle.login(
                role_id=how["role_id"], secret_id=how["secret_id"], mount_point=mount or "approle"
            )
        else:
            client.auth.userpass.login(
                username=how["username"], password=how["password"], mount_point=mount or "userpass"
            )
        return client

    def get_conn_value(self, conn_id: str) -> str | None:
        secret = self._first(self.connections_path, conn_id)
        if secret is None:
            return None
        uri = secret.get("conn_uri")
        return str(uri) if uri else json.dumps(secret)

    def get_variable(self, key: str) -> str | None:
        secret = self._first(self.variables_path, key)
        if not secret or "value" not in secret:
            return None  # Airflow too answers "not set" for a secret without a value key
        value = secret["value"]
        return value if isinstance(value, str) else json.dumps(value)

    def _first(self, bases: list[str] | None, key: str) -> dict[str, Any] | None:
        for base in bases or ():
            found = self._read(base, key)
            if found is not None:
                return found
        return None

    def _read(self, base: str, key: str) -> dict[str, Any] | None:
        import hvac.exceptions

        mount = self.mount_point
        if not mount:
            mount, _, key = key.partition("/")
            if not key:
                return None
        path = f"{base}/{key}" if base else key
        try:
            return self._read_path(path, mount)
        except hvac.exceptions.Forbidden:
            if self._sign_in["auth_type"] == "token":
                raise  # a given token cannot be renewed here: the error names the cause
            # An AppRole or userpass token expired or was revoked: sign in again, once.
            self._client = None
            return self._read_path(path, mount)

    def _read_path(self, path: str, mount: str) -> dict[str, Any] | None:
        import hvac.exceptions

        kv = self.client.secrets.kv
        try:
            if self.kv_engine_version == 1:
                answer = kv.v1.read_secret(path=path, mount_point=mount)
                return dict(answer["data"])
            answer = kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            return None
        return dict(answer["data"]["data"])


def _paths(given: str | list[str] | None) -> list[str] | None:
    if given is None:
        return None
    listed = [given] if isinstance(given, str) else given
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        raise ConfigError(f"VaultBackend: a path must be text or a list of text, got {given!r}")
    return [p.rstrip("/") for p in listed]


def _check_sign_in(how: dict[str, Any]) -> None:
    needs = {
        "token": ("token", "token_path"),
        "approle": ("role_id", "secret_id"),
        "userpass": ("username", "password"),
    }[how["auth_type"]]
    if how["auth_type"] == "token":
        if not how["token"] and not how["token_path"]:
            raise ConfigError("VaultBackend: auth_type 'token' needs token or token_path")
        return
    missing = [name for name in needs if not how[name]]
    if missing:
        raise ConfigError(
            f"VaultBackend: auth_type {how['auth_type']!r} needs {' and '.join(missing)}"
        )


def _require_client() -> None:
    """The client library is an extra: say which at configuration time, not at a lookup."""
    try:
        import hvac  # noqa: F401
    except ImportError:
        raise ConfigError(f"this backend needs hvac: {pip_install('hashicorp')}") from None
