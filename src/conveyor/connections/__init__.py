"""Connections and variables: what tasks use to reach other systems, kept out of DAG files.

Task code calls :func:`get_connection` and :meth:`Variable.get`; templates read
``{{ conn.my_db.host }}``, ``{{ var.value.x }}`` and ``{{ var.json.x.y }}``. Inside a try
these read the configured secrets backend (``backends``), then the environment, then the store
the try runs against (the runner binds it); elsewhere, the configured store. Secrets a try
reads are masked in its log (see ``masking``), a backend's as the store's.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from conveyor.config import Settings, load_config
from conveyor.connections import masking, repository
from conveyor.connections.models import Connection
from conveyor.exceptions import AirflowRuntimeError, ErrorResponse, ErrorType, NotFoundError
from conveyor.store.engine import Store

__all__ = ["Connection", "Variable", "current_settings", "current_store", "get_connection"]

T = TypeVar("T")
_bound: list[tuple[Store, Settings]] = []
_default: tuple[Store, Settings] | None = None


def _active() -> tuple[Store, Settings]:
    """The store bound for the running try, else the configured one (opened once)."""
    global _default
    if _bound:
        return _bound[-1]
    if _default is None:
        settings = load_config().settings
        _default = (Store(settings.db_url, pool=False), settings)
    return _default


_with_schema: set[str] = set()


def _readable(store: Store) -> Store | None:
    """The store to read variables and connections from; None for a configured store whose
    schema is not there yet (a fresh home: it holds none, and a DAG file that reads one at
    import gets its default or a not-found error naming it, not a missing table)."""
    if _bound or store.in_memory or store.url in _with_schema:
        return store
    from conveyor.store import schema_version  # one query, without Alembic

    if schema_version.recorded_revision(store) is None:
        return None  # asked again next time: `conveyor db migrate` may run meanwhile
    _with_schema.add(store.url)
    return store


def current_store() -> tuple[Store, Settings]:
    """The store the running try reads and writes (else the configured one), and its
    settings: for helpers that act on runs, such as Airflow's ``trigger_dag``."""
    return _active()


def current_settings() -> Settings:
    """The settings of the running try (else the configured ones), without opening a store."""
    if _bound:
        return _bound[-1][1]
    return _default[1] if _default is not None else load_config().settings


@contextlib.contextmanager
def bind(store: Store, settings: Settings) -> Iterator[None]:
    """Make ``get_connection`` and ``Variable`` read this store (a try's, a test's)."""
    _bound.append((store, settings))
    try:
        yield
    finally:
        _bound.pop()


@contextlib.contextmanager
def try_scope(store: Store, settings: Settings) -> Iterator[None]:
    """What a try runs inside: this store bound, and secrets it reads masked in its output."""
    with bind(store, settings), masking.masked_output():
        yield


#: Connections and variables found while no try runs (DAG files being parsed), kept for
#: ``secrets_cache_ttl_seconds`` when ``secrets_use_cache`` is on: Airflow's [secrets] cache,
#: which serves DAG parsing alone, so that a try always sees the value of the moment.
_cache: dict[tuple[str, str], tuple[float, Any]] = {}  # (kind, key) -> (when read, value)


def _cached(settings: Settings, kind: str, key: str, look_up: Callable[[], T]) -> T:
    if _bound or not settings.secrets_use_cache:
        return look_up()
    now = time.monotonic()
    hit = _cache.get((kind, key))
    if hit is not None and now - hit[0] < settings.secrets_cache_ttl_seconds:
        return cast(T, hit[1])
    value = look_up()
    if value is not None:  # a miss is asked again: it may be set meanwhile
        _cache[(kind, key)] = (now, value)
    return value


def get_connection(conn_id: str) -> Connection:
    """A connection by id: the secrets backend's if one is configured and has it, else
    ``CONVEYOR_CONN_<ID>`` if set, else the store's."""
    store, settings = _active()
    found = _cached(
        settings,
        "connection",
        conn_id,
        lambda: repository.get_connection(_readable(store), settings, conn_id),
    )
    for secret in found.secret_values():
        masking.register(secret)
    return found


_MISSING: Any = object()


class VariableNotFoundError(NotFoundError, AirflowRuntimeError, KeyError):
    """No such variable: an ``AirflowRuntimeError`` of kind ``VARIABLE_NOT_FOUND``, as Airflow
    3 raises, and a ``KeyError``, which code written for Airflow 2 catches."""

    def __init__(self, key: str, message: str) -> None:
        found = ErrorResponse(
            ErrorType.VARIABLE_NOT_FOUND, {"message": f"Variable {key} not found"}
        )
        AirflowRuntimeError.__init__(self, found, message)

    __str__ = Exception.__str__  # KeyError would quote the message


class Variable:
    """Named values kept in the secrets backend, ``CONVEYOR_VAR_<KEY>`` or the store
    (encrypted), looked up in that order."""

    @staticmethod
    def get(
        key: str,
        default: Any = _MISSING,
        deserialize_json: bool = False,
        *,
        default_var: Any = _MISSING,
    ) -> Any:
        """The variable's text (parsed, with ``deserialize_json``); ``default`` (Airflow's
        ``default_var``) when it is not set, else an error that says how to set it. The
        arguments' order is Airflow's: ``Variable.get("cfg", {}, True)``."""
        if default is _MISSING:
            default = default_var
        store, settings = _active()
        failures: list[str] = []
        entry = _cached(
            settings,
            "variable",
            key,
            lambda: repository.get_variable_entry(
                _readable(store), settings, key, failures=failures
            ),
        )
        if entry is None:
            if default is _MISSING:
                raise VariableNotFoundError(
                    key,
                    f"no variable {key!r}: set it with `conveyor variables set {key} VALUE` "
                    f"or {repository.VAR_ENV_PREFIX}{key.upper()}{''.join(failures)}",
                )
            return default
        text = entry.value
        for secret in entry.secret_values():  # each string inside it too, when it is JSON
            masking.register(secret)
        if not deserialize_json:
            return text
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise NotFoundError(f"variable {key!r} is not JSON: {exc}") from None

    @staticmethod
    def set(
        key: str,
        value: Any,
        description: str | None = None,
        serialize_json: bool = False,
        *,
        secret: bool | None = None,
    ) -> None:
        """Store a variable; ``secret=None`` keeps the secret mark it has. The arguments'
        order is Airflow's: ``Variable.set("cfg", {...}, "what it is", True)``."""
        store, settings = _active()
        # As Airflow stores it: JSON indented by two, anything else as its str().
        text = json.dumps(value, indent=2) if serialize_json else str(value)
        repository.set_variable(store, settings, key, text, description, secret=secret)

    @staticmethod
    def setdefault(
        key: str, default: Any, description: str | None = None, deserialize_json: bool = False
    ) -> Any:
        """Airflow's: the variable's value if it is set, else ``default``, stored first (a
        ``default`` of None is refused, as Airflow refuses it)."""
        found = Variable.get(key, None, deserialize_json)
        if found is not None:
            return found
        if default is None:
            raise ValueError(f"Variable.setdefault({key!r}): the default value must be set")
        Variable.set(key, default, description, deserialize_json)
        return default

    @staticmethod
    def update(key: str, value: Any, serialize_json: bool = False) -> None:
        """Airflow's: a new value for a variable the store holds, its description kept. A
        variable that is not set raises ``KeyError``; one set only by the environment or a
        secrets backend raises ``AttributeError``, as in Airflow."""
        store, settings = _active()
        if Variable.get(key, None) is None:
            raise VariableNotFoundError(key, f"variable {key!r} does not exist")
        stored = repository.stored_variable(store, settings, key)
        if stored is None:
            raise AttributeError(
                f"variable {key!r} is not in the store (the environment or the secrets "
                "backend sets it) and cannot be updated"
            )
        Variable.set(key, value, stored.description, serialize_json)

    @staticmethod
    def delete(key: str) -> bool:
        store, _ = _active()
        return repository.delete_variable(store, key)


# -- template access: {{ conn.x.host }}, {{ var.value.x }}, {{ var.json.x.y }} ----------------


class ConnectionAccessor:
    """``context["conn"]``: each attribute is the connection of that id."""

    def __getattr__(self, conn_id: str) -> Connection:
        if conn_id.startswith("__"):
            raise AttributeError(conn_id)
        return get_connection(conn_id)

    def get(self, conn_id: str) -> Connection:
        return get_connection(conn_id)


class _VariableValues:
    def __init__(self, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key: str, default: Any = None) -> Any:
        return Variable.get(key, default, deserialize_json=self._json)


class VariableAccessor:
    """``context["var"]``: ``var.value.<key>`` is the text, ``var.json.<key>`` the parsed JSON;
    ``context["var"]["value"]`` too, as Airflow's context holds a dict of the two."""

    value = _VariableValues(deserialize_json=False)
    json = _VariableValues(deserialize_json=True)

    def __getitem__(self, kind: str) -> _VariableValues:
        if kind not in ("value", "json"):
            raise KeyError(f"context['var'] holds 'value' and 'json', not {kind!r}")
        found: _VariableValues = getattr(self, kind)
        return found


def template_context() -> dict[str, Any]:
    """The entries a task's context gains: ``conn`` and ``var``."""
    return {"conn": ConnectionAccessor(), "var": VariableAccessor()}
