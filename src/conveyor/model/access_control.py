"""A DAG's ``access_control``: which named roles may read or edit it, in one spelling.

Airflow DAG files write it three ways, all read here into ``{role: ["can_edit",
"can_read"]}``:

- ``{"team_a": {"can_read", "can_edit"}}`` (Airflow 2.x),
- ``{"team_a": {"can_dag_read", "can_dag_edit"}}`` (Airflow 1.10's names, still read by 2),
- ``{"team_a": {"DAGs": {"can_read", "can_edit"}, "DAG Runs": {"can_create"}}}`` (Airflow 3).

Conveyor has one edit permission a DAG (trigger, clear, mark, pause, delete runs), so
``can_delete`` on DAGs and ``can_create`` / ``can_edit`` / ``can_delete`` on DAG Runs count
as ``can_edit``; ``can_read`` on DAG Runs counts as ``can_read``. Anything else is refused
with what to write instead, since ignoring it would give a team less (or more) than its file
says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from conveyor.exceptions import DagDefinitionError

_ON_DAGS = {
    "can_read": "can_read",
    "can_edit": "can_edit",
    "can_delete": "can_edit",
    "can_dag_read": "can_read",
    "can_dag_edit": "can_edit",
}
_ON_RUNS = {
    "can_read": "can_read",
    "can_create": "can_edit",
    "can_edit": "can_edit",
    "can_delete": "can_edit",
}
_RESOURCES = {"DAGs": _ON_DAGS, "DAG Runs": _ON_RUNS}


def normalize_access_control(dag_id: str, value: Any) -> dict[str, list[str]] | None:
    """``value`` as ``{role: sorted actions}``; None when not given or empty."""
    if value is None:
        return None
    where = f"DAG {dag_id!r}: access_control"
    if not isinstance(value, Mapping):
        raise DagDefinitionError(f"{where} must be a dict of role -> permissions, got {value!r}")
    found: dict[str, list[str]] = {}
    for role, given in value.items():
        if not isinstance(role, str) or not role:
            raise DagDefinitionError(f"{where}: a role name must be text, got {role!r}")
        if isinstance(given, Mapping):
            actions = _nested(f"{where}[{role!r}]", given)
        else:
            actions = _actions(f"{where}[{role!r}]", given, _ON_DAGS)
        found[role] = sorted(actions)
    return found or None


def _nested(where: str, given: Mapping[Any, Any]) -> set[str]:
    actions: set[str] = set()
    for resource, names in given.items():
        table = _RESOURCES.get(resource)
        if table is None:
            raise DagDefinitionError(
                f"{where}: resource {resource!r} has no meaning per DAG; use 'DAGs' or 'DAG Runs'"
            )
        actions |= _actions(f"{where}[{resource!r}]", names, table)
    return actions


def _actions(where: str, given: Any, table: Mapping[str, str]) -> set[str]:
    if isinstance(given, str) or not isinstance(given, Iterable):
        raise DagDefinitionError(f"{where} must be a set of permissions, got {given!r}")
    actions: set[str] = set()
    for name in given:
        action = table.get(name) if isinstance(name, str) else None
        if action is None:
            raise DagDefinitionError(
                f"{where}: unknown permission {name!r}; use one of {', '.join(sorted(table))}"
            )
        actions.add(action)
    return actions
