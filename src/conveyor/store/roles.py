"""Named roles and their DAG permissions: the rows behind ``conveyor roles``.

The built-in roles (admin, op, viewer, and public, which grants nothing) are not rows: a
user holds one of them in ``web_user.role``. Named roles are made by an admin; a user may
hold any number of them (``user_role``). A named role grants only what its permissions say
(``role_permission``: ``can_read`` / ``can_edit`` on ``DAG:<dag_id>`` or on ``DAGs``, every
DAG) and what a DAG's ``access_control`` grants it (``dag.access_control``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, func, insert, select

from conveyor.clock import utcnow
from conveyor.store.tables import dag, role, role_permission, user_role

BUILT_IN = ("public", "viewer", "op", "admin")  # public: no built-in rights, only named ones
ACTIONS = ("can_read", "can_edit")
EVERY_DAG = "DAGs"  # the resource that means every DAG, as Airflow names it
DAG_PREFIX = "DAG:"
NAME = re.compile(r"^[A-Za-z0-9_.@ -]{1,100}$")


@dataclass(frozen=True)
class RoleRow:
    name: str
    permissions: list[tuple[str, str]] = field(default_factory=list)  # (action, resource)
    users: int = 0


def get_role(conn: Connection, name: str) -> RoleRow | None:
    if conn.execute(select(role.c.name).where(role.c.name == name)).first() is None:
        return None
    return _with_details(conn, [name])[0]


def list_roles(conn: Connection) -> list[RoleRow]:
    names = [r.name for r in conn.execute(select(role.c.name).order_by(role.c.name))]
    return _with_details(conn, names)


def _with_details(conn: Connection, names: list[str]) -> list[RoleRow]:
    perms: dict[str, list[tuple[str, str]]] = {n: [] for n in names}
    query = (
        select(role_permission)
        .where(role_permission.c.role.in_(names))
        .order_by(role_permission.c.resource, role_permission.c.action)
    )
    for row in conn.execute(query):
        perms[row.role].append((row.action, row.resource))
    query = (
        select(user_role.c.role, func.count().label("holders"))
        .where(user_role.c.role.in_(names))
        .group_by(user_role.c.role)
    )
    counts: dict[str, int] = {row.role: int(row.holders) for row in conn.execute(query)}
    return [RoleRow(n, perms[n], counts.get(n, 0)) for n in names]


def create_role(conn: Connection, name: str) -> None:
    conn.execute(insert(role).values(name=name, created_at=utcnow()))


def delete_role(conn: Connection, name: str) -> bool:
    """Delete a role: its holders lose it, its permissions go with it."""
    conn.execute(delete(user_role).where(user_role.c.role == name))
    conn.execute(delete(role_permission).where(role_permission.c.role == name))
    return conn.execute(delete(role).where(role.c.name == name)).rowcount > 0


def add_permission(conn: Connection, name: str, action: str, resource: str) -> bool:
    """Grant ``action`` on ``resource``; False when the role had it already."""
    found = conn.execute(
        select(role_permission.c.role).where(
            role_permission.c.role == name,
            role_permission.c.action == action,
            role_permission.c.resource == resource,
        )
    ).first()
    if found is not None:
        return False
    conn.execute(insert(role_permission).values(role=name, action=action, resource=resource))
    return True


def remove_permission(conn: Connection, name: str, action: str, resource: str) -> bool:
    result = conn.execute(
        delete(role_permission).where(
            role_permission.c.role == name,
            role_permission.c.action == action,
            role_permission.c.resource == resource,
        )
    )
    return result.rowcount > 0


def every_dag_id(conn: Connection) -> frozenset[str]:
    return frozenset(conn.execute(select(dag.c.dag_id)).scalars())


@dataclass(frozen=True)
class DagGrants:
    """What a set of named roles may do on DAGs: every DAG, or these ids."""

    read_all: bool
    edit_all: bool
    read: frozenset[str]
    edit: frozenset[str]


def dag_grants(conn: Connection, roles: frozenset[str]) -> DagGrants:
    """What ``roles`` (named roles) grant on DAGs, from their permissions and the DAGs'
    access_control. Edit implies read, as in Airflow."""
    read: set[str] = set()
    edit: set[str] = set()
    read_all = edit_all = False
    if roles:
        query = select(role_permission).where(role_permission.c.role.in_(roles))
        for row in conn.execute(query):
            everything = row.resource == EVERY_DAG
            dag_id = row.resource.removeprefix(DAG_PREFIX)
            if row.action == "can_edit":
                edit_all = edit_all or everything
                if not everything:
                    edit.add(dag_id)
            read_all = read_all or everything
            if not everything:
                read.add(dag_id)
        query = select(dag.c.dag_id, dag.c.access_control).where(dag.c.access_control.is_not(None))
        for row in conn.execute(query):
            for name, actions in (row.access_control or {}).items():
                if name in roles:
                    read.add(row.dag_id)
                    if "can_edit" in actions:
                        edit.add(row.dag_id)
    return DagGrants(read_all or edit_all, edit_all, frozenset(read | edit), frozenset(edit))


def access_control_grants(conn: Connection) -> dict[str, list[tuple[str, list[str]]]]:
    """What the DAGs' ``access_control`` grants each role it names: role -> [(dag_id,
    actions)], by DAG id (the Roles page shows them beside the role's own permissions)."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    query = (
        select(dag.c.dag_id, dag.c.access_control)
        .where(dag.c.access_control.is_not(None))
        .order_by(dag.c.dag_id)
    )
    for row in conn.execute(query):
        for name, actions in (row.access_control or {}).items():
            found.setdefault(name, []).append((row.dag_id, sorted(actions)))
    return found
