"""Connections and variables in the store, encrypted, with environment overrides on top.

``CONVEYOR_CONN_<ID>`` (a URI or the JSON form) and ``CONVEYOR_VAR_<KEY>`` win over the
store, so a deployment can pin a value without touching the database; ``<ID>`` is the id in
upper case. Airflow's ``AIRFLOW_CONN_<ID>`` and ``AIRFLOW_VAR_<KEY>`` are read too, after
Conveyor's own, so an environment set up for Airflow works as it is.

A configured secrets backend (``backends``) comes before both when a connection or a variable
is read by name: a try, a hook, a template, ``conveyor connections get``. Lists show the
environment and the store alone (a backend cannot be listed), and so does the web.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, NamedTuple, TypeVar

from conveyor.config import Settings
from conveyor.connections import backends, crypto
from conveyor.connections.forms import connection_from_text
from conveyor.connections.masking import (
    MASK,
    looks_secret,
    mask_json_text,
    nested_secrets_of_text,
)
from conveyor.connections.models import SECRET_MAY_BE, Connection
from conveyor.exceptions import ConfigError, NotFoundError
from conveyor.model.task import TASK_ID_PATTERN
from conveyor.store import secrets
from conveyor.store.engine import Store
from conveyor.store.secrets import StoredConnection, StoredVariable

CONN_ENV_PREFIX = "CONVEYOR_CONN_"
VAR_ENV_PREFIX = "CONVEYOR_VAR_"
#: Airflow's names for the same, read after Conveyor's (``<ID>`` upper-cased as Airflow does).
AIRFLOW_CONN_ENV_PREFIX = "AIRFLOW_CONN_"
AIRFLOW_VAR_ENV_PREFIX = "AIRFLOW_VAR_"

T = TypeVar("T")
#: Under Airflow's task logger names, as the providers' messages, so that a backend's failure
#: reaches the try's log (Conveyor's own records stay in the process log).
log = logging.getLogger("airflow.task.secrets")


def check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not TASK_ID_PATTERN.match(value):
        raise ConfigError(
            f"invalid {kind} {value!r}: use letters, digits, '_', '.' or '-' (at most 250)"
        )
    return value


def _env_name(prefix: str, key: str) -> str:
    return prefix + key.upper().replace(".", "_").replace("-", "_")


def _over_store(
    stored: dict[str, T],
    airflow_prefix: str,
    prefix: str,
    from_env: Callable[[str, str, str], T | None],
) -> list[T]:
    """``stored`` with the environment's entries on top, by key: ``from_env`` makes one of
    the key, the text and the name of each variable that starts with a prefix (Airflow's
    first, so that Conveyor's own win where both name a key), or None to skip it."""
    found = dict(stored)
    for start in (airflow_prefix, prefix):
        for name, text in os.environ.items():
            if name.startswith(start):
                key = name[len(start) :].lower()
                entry = from_env(key, text, name)
                if entry is not None:
                    found[key] = entry
    return [found[k] for k in sorted(found)]


# -- connections ------------------------------------------------------------------------------


def env_connection(conn_id: str, environ: Mapping[str, str] | None = None) -> Connection | None:
    """``CONVEYOR_CONN_<ID>``, else ``AIRFLOW_CONN_<ID>``: a URI or the JSON form."""
    env = os.environ if environ is None else environ
    text = env.get(_env_name(CONN_ENV_PREFIX, conn_id)) or env.get(
        AIRFLOW_CONN_ENV_PREFIX + conn_id.upper()
    )
    return connection_from_text(conn_id, text) if text else None


#: A connection's fields that its stored row holds as they are (the password and the extra
#: are stored encrypted, the secret fields as a list).
_STORED_AS_IS = ("conn_id", "conn_type", "host", "port", "login", "schema", "description")


def set_connection(
    store: Store, settings: Settings, conn: Connection, *, keep_marks: bool = True
) -> Connection:
    """Insert or replace a connection; its password and extra are encrypted. A connection
    that is replaced keeps the secret marks it had (those still naming a field, or a key of
    the new extra) besides ``conn``'s own, as a variable keeps its mark: rewriting a
    connection never unmasks it by leaving the marks out. ``keep_marks=False`` stores
    ``conn``'s marks alone (someone said which). Returns the connection as stored."""
    check_id("connection id", conn.conn_id)
    with store.write() as db:
        stored = secrets.get_connection(db, conn.conn_id) if keep_marks else None
        if stored is not None and stored.secret_fields:
            kept = [f for f in stored.secret_fields if f in SECRET_MAY_BE or f in conn.extra_dejson]
            conn = replace(conn, secret_fields=(*conn.secret_fields, *kept))
        conn.check_secret_fields()
        extra = conn.extra_dejson
        row = StoredConnection(
            **{name: getattr(conn, name) for name in _STORED_AS_IS},
            password=crypto.encrypt(settings, conn.password) if conn.password else None,
            extra=crypto.encrypt(settings, json.dumps(extra)) if extra else None,
            secret_fields=list(conn.secret_fields) or None,
        )
        secrets.put_connection(db, row)
    return conn


def _from_row(settings: Settings, row: StoredConnection) -> Connection:
    what = f"connection {row.conn_id!r}"
    extra = json.loads(crypto.decrypt(settings, row.extra, f"{what} extra")) if row.extra else {}
    return Connection(
        **{name: getattr(row, name) for name in _STORED_AS_IS},
        password=crypto.decrypt(settings, row.password, f"{what} password")
        if row.password
        else None,
        extra=extra,
        secret_fields=tuple(row.secret_fields or ()),
    )


def _failed(exc: backends.SecretsBackendError) -> str:
    """Say that the backend failed, and go on to the environment and the store as Airflow
    does; the message is kept for the not-found error, should nothing else have the name."""
    log.warning("%s; looking in the environment and the store instead", exc)
    return f" ({exc})"


def get_connection(
    store: Store | None, settings: Settings, conn_id: str, *, secrets_backend: bool = True
) -> Connection:
    """The secrets backend's connection (unless ``secrets_backend`` is false), else the
    environment's, else the store's; NotFoundError if none has it. ``store`` None: a store
    with no schema yet, which holds no connections."""
    failure = ""
    if secrets_backend:
        try:
            found = backends.find_connection(settings, conn_id)
        except backends.SecretsBackendError as exc:
            found, failure = None, _failed(exc)
        if found is not None:
            return found
    found = env_connection(conn_id)
    if found is not None:
        return found
    row = None
    if store is not None:
        with store.read() as db:
            row = secrets.get_connection(db, conn_id)
    if row is None:
        raise NotFoundError(
            f"no connection {conn_id!r}: add it with `conveyor connections add {conn_id} "
            f"--uri ...` or set {_env_name(CONN_ENV_PREFIX, conn_id)}{failure}"
        )
    return _from_row(settings, row)


def list_connections(store: Store, settings: Settings) -> list[Connection]:
    """The store's connections and the environment's, by id (the environment wins)."""
    with store.read() as db:
        rows = secrets.list_connections(db)
    return _over_store(
        {row.conn_id: _from_row(settings, row) for row in rows},
        AIRFLOW_CONN_ENV_PREFIX,
        CONN_ENV_PREFIX,
        lambda conn_id, text, name: (
            connection_from_text(conn_id, text, description=f"from ${name}") if text else None
        ),
    )


def stored_connection_ids(store: Store) -> set[str]:
    """The ids of the store's connections (the environment's are not counted)."""
    with store.read() as db:
        return {row.conn_id for row in secrets.list_connections(db)}


def delete_connection(store: Store, conn_id: str) -> bool:
    with store.write() as db:
        return secrets.delete_connection(db, conn_id)


# -- variables --------------------------------------------------------------------------------


class VariableEntry(NamedTuple):
    key: str
    value: str
    description: str | None
    #: Marked secret when set; a key that looks secret is masked whatever this says.
    secret: bool = False

    @property
    def masked(self) -> bool:
        """Whether the value is shown as ``***`` and masked in task logs."""
        return self.secret or looks_secret(self.key)

    @property
    def shown(self) -> str:
        """The value as a reader may see it: ``***`` when masked, else the text with what
        sits under secret-looking keys inside its JSON (``{"db": {"password": ...}}``)
        masked."""
        return MASK if self.masked else mask_json_text(self.value)

    def secret_values(self) -> list[Any]:
        """What a try that read this variable must never print: the whole value when it is
        masked, else what sits under secret-looking keys inside its JSON."""
        return [self.value] if self.masked else nested_secrets_of_text(self.value)


def set_variable(
    store: Store,
    settings: Settings,
    key: str,
    value: str,
    description: str | None = None,
    *,
    secret: bool | None = None,
) -> bool:
    """Insert or replace a variable; ``secret`` masks it whatever its key. ``None`` keeps the
    mark the variable has (a new value for a secret stays secret until someone says
    ``secret=False``). Returns the mark it was stored with."""
    check_id("variable key", key)
    if not isinstance(value, str):
        raise ConfigError(f"variable {key!r}: the value must be a string, got {type(value)}")
    row = StoredVariable(key, crypto.encrypt(settings, value), description, bool(secret))
    with store.write() as db:
        return secrets.put_variable(db, row, keep_mark=secret is None)


def get_variable_entry(
    store: Store | None,
    settings: Settings,
    key: str,
    *,
    secrets_backend: bool = True,
    failures: list[str] | None = None,
) -> VariableEntry | None:
    """A variable (the secrets backend's first unless ``secrets_backend`` is false, then the
    environment's, then the store's) with its secret mark, or None if it is not set; a
    backend's failure is logged, and added to ``failures`` for the caller's not-found error.
    ``store`` None: a store with no schema yet, which holds no variables."""
    if secrets_backend:
        try:
            value = backends.find_variable(settings, key)
        except backends.SecretsBackendError as exc:
            note = _failed(exc)
            if failures is not None:
                failures.append(note)
            value = None
        if value is not None:
            # Masked by the rule of the store's and Airflow's: a secret-looking key masks
            # the whole value, secret-looking keys inside its JSON what they hold.
            return VariableEntry(key, value, f"from {settings.secrets_backend}")
    # A failed backend was logged with its reason; a caller with a default gets the default,
    # as in Airflow.
    return _env_or_stored_variable(store, settings, key)


def _env_or_stored_variable(
    store: Store | None, settings: Settings, key: str
) -> VariableEntry | None:
    from_env = os.environ.get(_env_name(VAR_ENV_PREFIX, key))
    if from_env is None:
        from_env = os.environ.get(AIRFLOW_VAR_ENV_PREFIX + key.upper())
    if from_env is not None:
        return VariableEntry(key, from_env, None)
    return None if store is None else stored_variable(store, settings, key)


def stored_variable(store: Store, settings: Settings, key: str) -> VariableEntry | None:
    """The store's variable ``key`` (not the environment's nor a backend's), or None."""
    with store.read() as db:
        row = secrets.get_variable(db, key)
    if row is None:
        return None
    value = crypto.decrypt(settings, row.value, f"variable {key!r}")
    return VariableEntry(key, value, row.description, row.is_secret)


def get_variable(store: Store, settings: Settings, key: str) -> str | None:
    """The raw text of a variable (environment first), or None if it is not set."""
    entry = get_variable_entry(store, settings, key)
    return None if entry is None else entry.value


def list_variables(store: Store, settings: Settings) -> list[VariableEntry]:
    """Every variable, the environment's included."""
    with store.read() as db:
        rows = secrets.list_variables(db)
    found = {
        r.key: VariableEntry(
            r.key,
            crypto.decrypt(settings, r.value, f"variable {r.key!r}"),
            r.description,
            r.is_secret,
        )
        for r in rows
    }
    return _over_store(
        found,
        AIRFLOW_VAR_ENV_PREFIX,
        VAR_ENV_PREFIX,
        lambda key, value, name: VariableEntry(key, value, f"from ${name}"),
    )


def stored_variable_keys(store: Store) -> set[str]:
    """The keys of the store's variables (the environment's are not counted)."""
    with store.read() as db:
        return {row.key for row in secrets.list_variables(db)}


def delete_variable(store: Store, key: str) -> bool:
    with store.write() as db:
        return secrets.delete_variable(db, key)
