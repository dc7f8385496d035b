"""Hook-level lineage: the SQL a task runs through a SQL hook itself (a ``PostgresHook``
called from a ``@task``), as Airflow 3's hook lineage collects it. While a try runs with
lineage on, ``DbApiHook.run`` hands each call's SQL here; at the try's end the statements
are parsed into datasets for an operator that says nothing of its own data.

Collecting is off in a process without lineage: a hook's call then costs one test.
"""

from __future__ import annotations

from typing import Any

#: At most this many calls are kept of one try (a loop of inserts says no more after them).
LIMIT = 100

_collected: list[tuple[Any, Any]] | None = None


def collect() -> None:
    """Start collecting, for the try starting in this process."""
    global _collected
    _collected = []


def add_sql(hook: Any, sql: Any) -> None:
    """A hook ran ``sql`` (one statement, or several)."""
    found = _collected
    if found is not None and len(found) < LIMIT:
        found.append((hook, sql if isinstance(sql, str) else list(sql)))


def take() -> list[tuple[Any, Any]]:
    """What the try's hooks ran, and stop collecting."""
    global _collected
    found, _collected = _collected or [], None
    return found
