"""Which hook serves a connection, by its type: what Airflow's ``Connection.get_hook`` does,
and the connection Test, both from the providers' declarations (``discovery.py``).

The SQL operators and ``SqlSensor`` take any connection id; its ``conn_type`` picks the hook
(the types declared ``sql``). A type with no hook fails with the connection id, the type and
the types there are. ``BaseHook.get_hook`` (``any_hook``) answers every declared type.
"""

from __future__ import annotations

import importlib
from typing import Any

from conveyor.connections import Connection, get_connection
from conveyor.exceptions import TaskError
from conveyor.providers.dbapi import DbApiHook
from conveyor.providers.discovery import (
    connection_type,
    connection_types,
    found,
    providers,
    sql_types,
    testable_types,
)

__all__ = [
    "any_hook",
    "check_connection",
    "connection_type",
    "connection_types",
    "found",
    "get_hook",
    "hook_class",
    "load",
    "providers",
    "sql_types",
    "testable_types",
]


def load(target: str) -> Any:
    """The object a ``"module:name"`` names, imported now (a missing driver fails here)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def hook_class(conn_type: str) -> type[DbApiHook] | None:
    """The SQL hook class of ``conn_type``, or None when it has none."""
    kind = connection_type(conn_type)
    if kind is None or not kind.sql:
        return None
    hook: type[DbApiHook] = load(kind.hook)
    return hook


def get_hook(conn_id: str, hook_params: dict[str, Any] | None = None) -> DbApiHook:
    """The SQL hook for connection ``conn_id``, made with ``hook_params``."""
    return _sql_hook(get_connection(conn_id), hook_params)


def _sql_hook(conn: Connection, hook_params: dict[str, Any] | None) -> DbApiHook:
    found_class = hook_class(conn.conn_type)
    if found_class is None:
        raise TaskError(
            f"connection {conn.conn_id!r} has type {conn.conn_type!r}, which Conveyor's SQL "
            f"operators and sensors cannot use (they take {', '.join(sql_types())}; see "
            f"docs/airflow.md)"
        )
    params: dict[str, Any] = {**(hook_params or {}), found_class.conn_name_attr: conn.conn_id}
    hook = found_class(**params)
    hook.connection = conn
    return hook


def any_hook(conn_id: str, hook_params: dict[str, Any] | None = None) -> Any:
    """``BaseHook.get_hook``: the hook of ``conn_id``'s type, made with ``hook_params``."""
    return hook_of(get_connection(conn_id), hook_params)


def hook_of(conn: Connection, hook_params: dict[str, Any] | None = None) -> Any:
    """``Connection.get_hook``: the hook of ``conn``'s type for its id, made with
    ``hook_params``; a type no hook serves is refused, naming it."""
    kind = connection_type(conn.conn_type)
    if kind is None or kind.sql:
        return _sql_hook(conn, hook_params)
    found_class = load(kind.hook)
    return found_class(**{**(hook_params or {}), found_class.conn_name_attr: conn.conn_id})


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
