"""FAB's roles as Conveyor's: the built-in five by their meaning, the others as named roles
with the DAG permissions Conveyor can express; everything else is listed, not dropped."""

from __future__ import annotations

from dataclasses import dataclass

from conveyor.store.airflow_import.records import AirflowRole

#: FAB's built-in roles as Conveyor's built-in ones (User may edit and trigger DAGs: op).
BUILT_IN = {"Admin": "admin", "Op": "op", "User": "op", "Viewer": "viewer", "Public": "public"}
#: What a named role of Conveyor grants: reading or editing one DAG ("DAG:<id>") or all.
EXPRESSIBLE_ACTIONS = ("can_read", "can_edit")
#: FAB's permissions on the UI's own pages, which mean nothing without FAB's UI.
_UI_ONLY = {"Website", "My Password", "My Profile", "Docs", "Documentation"}


@dataclass(frozen=True)
class MappedRole:
    name: str
    permissions: tuple[tuple[str, str], ...]  # (action, resource) Conveyor keeps
    not_expressible: tuple[tuple[str, str], ...]  # (action, resource) it cannot


def map_role(found: AirflowRole) -> MappedRole | None:
    """A named role for a role of the team's own; None for FAB's built-in ones."""
    if found.name in BUILT_IN:
        return None
    kept: list[tuple[str, str]] = []
    left: list[tuple[str, str]] = []
    for action, resource in found.permissions:
        if action == "menu_access" or resource in _UI_ONLY:
            continue
        dag_resource = resource == "DAGs" or resource.startswith("DAG:")
        (kept if action in EXPRESSIBLE_ACTIONS and dag_resource else left).append(
            (action, resource)
        )
    return MappedRole(found.name, tuple(kept), tuple(left))


def user_roles(roles: tuple[str, ...]) -> list[str]:
    """A user's FAB roles as Conveyor's: built-in ones by meaning, the others by name."""
    return sorted({BUILT_IN.get(name, name) for name in roles})
