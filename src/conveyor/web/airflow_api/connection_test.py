"""Testing a connection that may not be stored: the hook of its type, made to read the
given connection instead of looking its id up, runs its own ``test_connection``.

Airflow exports the connection as an environment variable for the test; this process
serves other requests at the same time, so the hook instead gets the connection on the
instance (``connection`` for the SQL hooks, ``get_connection`` for the others).
"""

from __future__ import annotations

import importlib
from typing import Any

from conveyor.connections.models import Connection
from conveyor.providers import registry

#: The hooks besides the SQL ones with a ``test_connection`` that read their connection
#: through ``get_connection`` on the instance, after ``__init__`` (others read it at once).
MORE_HOOKS: dict[str, str] = {
    "http": "conveyor.providers.http.hook:HttpHook",
    "https": "conveyor.providers.http.hook:HttpHook",
    "ssh": "conveyor.providers.ssh.hook:SSHHook",
    "sftp": "conveyor.providers.sftp.hook:SFTPHook",
}


def _hook_class(conn_type: str) -> Any:
    kind = conn_type.replace("-", "_").lower()
    target = registry.HOOKS.get(kind) or MORE_HOOKS.get(kind)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def testable_types() -> list[str]:
    return sorted({*registry.HOOKS, *MORE_HOOKS})


def run(conn: Connection) -> tuple[bool, str]:
    """``(status, message)`` as Airflow's ``Connection.test_connection`` answers."""
    found = _hook_class(conn.conn_type)
    if found is None or not hasattr(found, "test_connection"):
        return (
            False,
            f"Conveyor has no hook that tests connections of type {conn.conn_type!r} "
            f"(it tests {', '.join(testable_types())})",
        )
    try:
        hook = found(**{found.conn_name_attr: conn.conn_id})
        hook.connection = conn  # the SQL hooks read this first
        hook.get_connection = lambda _conn_id: conn  # the others look the id up through this
        ok, message = hook.test_connection()
    except Exception as exc:  # a hook's own failure is the test's answer, as in Airflow
        return False, f"{type(exc).__name__}: {exc}"
    return bool(ok), str(message)
