"""The providers Conveyor ships, found by scanning this package, and which hook serves a
connection by its type: what Airflow's ``Connection.get_hook`` does.

Every module or package directly under ``conveyor.providers`` that holds a ``PROVIDER``
(a ``declaration.Provider``) is a provider; nothing else registers one. A scan rather than
entry points: the providers ship inside Conveyor, so an entry point would be a second place
to write each one (``pyproject.toml``) and would need a reinstall before it counts, while a
scan sees a new package as soon as it is there. The scan imports each package's
``__init__`` and each flat module, none of which imports a provider's library at the top.

The SQL operators and ``SqlSensor`` take any connection id; its ``conn_type`` picks the hook
(the types declared ``sql``). A type with no hook fails with the connection id, the type and
the types there are. ``BaseHook.get_hook`` (``any_hook``) answers every declared type.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

import conveyor.providers as _package
from conveyor.connections import Connection, get_connection
from conveyor.exceptions import TaskError
from conveyor.providers.dbapi import DbApiHook
from conveyor.providers.declaration import ConnectionType, Provider

#: Modules of this package that are not providers (the scan does not import them).
_NOT_PROVIDERS = frozenset({"declaration", "registry"})


@dataclass(frozen=True)
class Found:
    """A provider and the module that declares it (what stands in for Airflow's package)."""

    module: str
    provider: Provider


@functools.cache
def found() -> tuple[Found, ...]:
    """Every provider of ``conveyor.providers``, by name. Cached: ``found.cache_clear()``
    after a package is added to the path (tests do)."""
    seen: dict[str, Found] = {}
    for info in pkgutil.iter_modules(_package.__path__, f"{_package.__name__}."):
        short = info.name.rpartition(".")[2]
        if short.startswith("_") or short in _NOT_PROVIDERS:
            continue
        declared = getattr(importlib.import_module(info.name), "PROVIDER", None)
        if not isinstance(declared, Provider):
            continue
        if declared.name in seen:
            raise TypeError(
                f"{info.name} and {seen[declared.name].module} both declare the provider "
                f"{declared.name!r}: one PROVIDER per provider"
            )
        seen[declared.name] = Found(info.name, declared)
    return tuple(seen[name] for name in sorted(seen))


def providers() -> tuple[Provider, ...]:
    """Every provider's declaration, by name."""
    return tuple(f.provider for f in found())


@functools.cache
def _types() -> dict[str, ConnectionType]:
    by_name: dict[str, ConnectionType] = {}
    for provider in providers():
        for kind in provider.connection_types:
            for name in kind.names:
                if name in by_name:
                    raise TypeError(
                        f"connection type {name!r} is declared twice (providers "
                        f"{provider.name!r} and another): one hook per type"
                    )
                by_name[name] = kind
    return by_name


def connection_types() -> dict[str, ConnectionType]:
    """Every declared ``conn_type`` (aliases included) -> its declaration, sorted."""
    types = _types()
    return {name: types[name] for name in sorted(types)}


def connection_type(conn_type: str) -> ConnectionType | None:
    """The declaration serving ``conn_type`` (``-`` read as ``_``, any case), or None."""
    return _types().get(conn_type.replace("-", "_").lower())


def load(target: str) -> Any:
    """The object a ``"module:name"`` names, imported now (a missing driver fails here)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def sql_types() -> list[str]:
    """The types the SQL operators and sensors take."""
    return sorted(name for name, kind in _types().items() if kind.sql)


def hook_class(conn_type: str) -> type[DbApiHook] | None:
    """The SQL hook class of ``conn_type``, or None when it has none."""
    kind = connection_type(conn_type)
    if kind is None or not kind.sql:
        return None
    hook: type[DbApiHook] = load(kind.hook)
    return hook


def get_hook(conn_id: str, hook_params: dict[str, Any] | None = None) -> DbApiHook:
    """The SQL hook for connection ``conn_id``, made with ``hook_params``."""
    conn = get_connection(conn_id)
    found_class = hook_class(conn.conn_type)
    if found_class is None:
        raise TaskError(
            f"connection {conn_id!r} has type {conn.conn_type!r}, which Conveyor's SQL "
            f"operators and sensors cannot use (they take {', '.join(sql_types())}; see "
            f"docs/airflow.md)"
        )
    params: dict[str, Any] = {**(hook_params or {}), found_class.conn_name_attr: conn_id}
    hook = found_class(**params)
    hook.connection = conn
    return hook


def any_hook(conn_id: str, hook_params: dict[str, Any] | None = None) -> Any:
    """``BaseHook.get_hook``: the hook of ``conn_id``'s type, made with ``hook_params``."""
    conn = get_connection(conn_id)
    kind = connection_type(conn.conn_type)
    if kind is None or kind.sql:
        return get_hook(conn_id, hook_params)
    found_class = load(kind.hook)
    return found_class(**{**(hook_params or {}), found_class.conn_name_attr: conn_id})


def testable_types() -> list[str]:
    """The types the connection Test can check (their hook has ``test_connection``)."""
    return sorted(name for name, kind in _types().items() if kind.testable)


def check_connection(conn: Connection) -> tuple[bool, str]:
    """Airflow's ``Connection.test_connection``: ``(status, message)`` from the hook of
    ``conn``'s type, made to read ``conn`` itself rather than look its id up (the SQL hooks
    read ``connection``, the others call ``get_connection``). A hook's own failure is the
    answer, as in Airflow; the message may hold secrets (the caller masks them)."""
    kind = connection_type(conn.conn_type)
    if kind is None or not kind.testable:
        return (
            False,
            f"Conveyor has no hook that tests connections of type {conn.conn_type!r} "
            f"(it tests {', '.join(testable_types())})",
        )
    try:
        hook_class = load(kind.hook)
    except ImportError as exc:
        return False, f"{kind.hook} cannot be imported: {exc} (install its extra)"
    try:
        hook = hook_class(**{hook_class.conn_name_attr: conn.conn_id})
        hook.connection = conn
        hook.get_connection = lambda _conn_id: conn
        ok, message = hook.test_connection()
    except Exception as exc:  # reported, as Airflow's test_connection does
        return False, f"{type(exc).__name__}: {exc}"
    return bool(ok), str(message)
