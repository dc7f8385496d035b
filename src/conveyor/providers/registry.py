"""Which hook serves a connection, by its type: what Airflow's ``Connection.get_hook`` does.

The SQL operators and ``SqlSensor`` take any connection id; its ``conn_type`` picks the hook.
A type with no hook here fails with the connection id, the type and the types there are.
``BaseHook.get_hook`` also answers the other providers' types (``OTHER_HOOKS``: mail, chat,
Google's).
"""

from __future__ import annotations

import importlib
from typing import Any

from conveyor.connections import get_connection
from conveyor.exceptions import TaskError
from conveyor.providers.dbapi import DbApiHook

#: conn_type -> "module:class" (imported on use: a missing driver fails only where used).
HOOKS: dict[str, str] = {
    "postgres": "conveyor.providers.postgres:PostgresHook",
    "postgresql": "conveyor.providers.postgres:PostgresHook",
    "mysql": "conveyor.providers.mysql:MySqlHook",
    "mariadb": "conveyor.providers.mysql:MySqlHook",
    "jdbc": "conveyor.providers.jdbc:JdbcHook",
    "sqlite": "conveyor.providers.sqlite:SqliteHook",
}

#: conn_type -> "module:class" of the hooks that are not SQL ones (``any_hook`` only).
OTHER_HOOKS: dict[str, str] = {
    "email": "conveyor.providers.smtp.hook:SmtpHook",
    "smtp": "conveyor.providers.smtp.hook:SmtpHook",
    "discord": "conveyor.providers.discord.hook:DiscordWebhookHook",
    # The google provider's two types, as Airflow's Connection.get_hook answers them.
    "google_cloud_platform": "conveyor.providers.google.base_google:GoogleBaseHook",
    "gcpbigquery": "conveyor.providers.google.bigquery:BigQueryHook",
}


def hook_class(conn_type: str) -> type[DbApiHook] | None:
    target = HOOKS.get(conn_type.replace("-", "_").lower())
    if target is None:
        return None
    module, _, name = target.partition(":")
    found: type[DbApiHook] = getattr(importlib.import_module(module), name)
    return found


def get_hook(conn_id: str, hook_params: dict[str, Any] | None = None) -> DbApiHook:
    """The SQL hook for connection ``conn_id``, made with ``hook_params``."""
    conn = get_connection(conn_id)
    found = hook_class(conn.conn_type)
    if found is None:
        kinds = ", ".join(sorted(HOOKS))
        raise TaskError(
            f"connection {conn_id!r} has type {conn.conn_type!r}, which Conveyor's SQL "
            f"operators and sensors cannot use (they take {kinds}; see docs/airflow.md)"
        )
    params: dict[str, Any] = {**(hook_params or {}), found.conn_name_attr: conn_id}
    hook = found(**params)
    hook.connection = conn
    return hook


def any_hook(conn_id: str, hook_params: dict[str, Any] | None = None) -> Any:
    """``BaseHook.get_hook``: the SQL hook, or the mail or chat hook, for ``conn_id``'s type."""
    conn = get_connection(conn_id)
    target = OTHER_HOOKS.get(conn.conn_type.replace("-", "_").lower())
    if target is None:
        return get_hook(conn_id, hook_params)
    module, _, name = target.partition(":")
    found = getattr(importlib.import_module(module), name)
    return found(**{**(hook_params or {}), found.conn_name_attr: conn_id})
