"""Managing named roles and their DAG permissions: shared by ``conveyor roles`` and the
admin API. What the roles grant is decided in web/dag_access.py."""

from __future__ import annotations

from conveyor.exceptions import ConveyorError
from conveyor.model.dag import DAG_ID_PATTERN
from conveyor.store import roles as role_rows
from conveyor.store.engine import Store

#: Airflow's action names, as ``roles add-perms -a`` takes them, in Conveyor's two actions.
ACTION_NAMES = {
    "can_read": "can_read",
    "can_edit": "can_edit",
    "read": "can_read",
    "edit": "can_edit",
    "can_dag_read": "can_read",
    "can_dag_edit": "can_edit",
}

#: Airflow's other resources: refused by name, not taken for DAG ids.
AIRFLOW_RESOURCES = frozenset(
    {
        "Connections", "Pools", "Variables", "DAG Runs", "Task Instances", "Audit Logs",
        "Users", "Roles", "Website", "XComs", "Task Logs", "ImportError", "Plugins",
        "Providers", "Configurations", "Datasets", "Assets", "Jobs", "SLA Misses",
        "Cluster Activity", "Admin", "Browse", "Docs", "DAG Code", "DAG Dependencies",
        "DAG Warnings", "Triggers", "Permissions", "Permission Views",
    }
)  # fmt: skip


class RoleError(ConveyorError):
    """A role cannot be made, changed or deleted as asked; the message says why."""


def check_name(name: str) -> None:
    if name.lower() in role_rows.BUILT_IN or name.lower() == "user":
        raise RoleError(f"{name!r} is a built-in role: choose another name")
    if not role_rows.NAME.match(name):
        raise RoleError(
            f"invalid role name {name!r}: use 1-100 letters, digits, spaces, '_', '.', '@' or '-'"
        )


def action_of(name: str) -> str:
    found = ACTION_NAMES.get(name.strip().lower())
    if found is None:
        raise RoleError(f"unknown action {name!r}: use can_read or can_edit")
    return found


def resource_of(name: str) -> str:
    """``DAG:<dag_id>`` or ``DAGs`` (every DAG); a bare DAG id means ``DAG:<dag_id>``."""
    name = name.strip()
    if name == role_rows.EVERY_DAG:
        return name
    if name in AIRFLOW_RESOURCES:
        raise RoleError(
            f"resource {name!r}: a named role grants DAG:<dag_id> or DAGs only; the rest "
            "comes with the built-in roles (viewer, op, admin)"
        )
    dag_id = name.removeprefix(role_rows.DAG_PREFIX)
    if not DAG_ID_PATTERN.match(dag_id):
        raise RoleError(f"invalid resource {name!r}: use DAG:<dag_id> or DAGs (every DAG)")
    return role_rows.DAG_PREFIX + dag_id


def create_role(store: Store, name: str) -> None:
    check_name(name)
    with store.write() as conn:
        if role_rows.get_role(conn, name) is not None:
            raise RoleError(f"role {name!r} exists already")
        role_rows.create_role(conn, name)


def delete_role(store: Store, name: str) -> None:
    with store.write() as conn:
        if not role_rows.delete_role(conn, name):
            raise RoleError(f"no role {name!r}")


def list_roles(store: Store) -> list[role_rows.RoleRow]:
    with store.read() as conn:
        return role_rows.list_roles(conn)


def get_role(store: Store, name: str) -> role_rows.RoleRow:
    with store.read() as conn:
        found = role_rows.get_role(conn, name)
    if found is None:
        raise RoleError(f"no role {name!r}")
    return found


def add_permission(store: Store, name: str, action: str, resource: str) -> role_rows.RoleRow:
    action, resource = action_of(action), resource_of(resource)
    with store.write() as conn:
        if role_rows.get_role(conn, name) is None:
            raise RoleError(f"no role {name!r}")
        role_rows.add_permission(conn, name, action, resource)
        found = role_rows.get_role(conn, name)
    assert found is not None
    return found


def remove_permission(store: Store, name: str, action: str, resource: str) -> role_rows.RoleRow:
    action, resource = action_of(action), resource_of(resource)
    with store.write() as conn:
        if role_rows.get_role(conn, name) is None:
            raise RoleError(f"no role {name!r}")
        if not role_rows.remove_permission(conn, name, action, resource):
            raise RoleError(f"role {name!r} has no {action} on {resource}")
        found = role_rows.get_role(conn, name)
    assert found is not None
    return found
