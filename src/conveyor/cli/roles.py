"""``conveyor roles``: named roles and the DAGs they may read or edit.

Airflow's ``roles create``, ``roles delete``, ``roles list [-p]``, ``roles add-perms`` and
``roles del-perms`` work as written, for the two permissions a DAG has here (``can_read``,
``can_edit``) on ``DAG:<dag_id>`` or ``DAGs`` (every DAG). Other resources of Airflow's
(Connections, Pools...) are refused: those stay with the built-in roles.
"""

from __future__ import annotations

import click

from conveyor.cli.common import CliError, console, open_store
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.web import roles


@click.group("roles")
def roles_group() -> None:
    """Named roles: which DAGs their users may read or edit (and DAGs' access_control)."""


@roles_group.command("create")
@click.argument("names", nargs=-1, required=True)
def create(names: tuple[str, ...]) -> None:
    """Create roles (a role that exists already is an error, as nothing would change)."""
    store = open_store()
    for name in names:
        try:
            roles.create_role(store, name)
        except roles.RoleError as exc:
            raise CliError(str(exc)) from None
        console.print(f"created role [bold]{name}[/]")


@roles_group.command("delete")
@click.argument("names", nargs=-1, required=True)
def delete(names: tuple[str, ...]) -> None:
    """Delete roles: their users lose them at once."""
    store = open_store()
    for name in names:
        try:
            roles.delete_role(store, name)
        except roles.RoleError as exc:
            raise CliError(str(exc)) from None
        console.print(f"deleted role [bold]{name}[/]")


@roles_group.command("list")
@click.option("-p", "--permission", is_flag=True, help="Show each role's permissions too.")
@output_option
def list_command(permission: bool, output: str) -> None:
    """Every named role, with how many users hold it (and its permissions with -p)."""
    found = roles.list_roles(open_store())
    data = [
        {"name": r.name, "users": r.users, "permissions": [list(p) for p in r.permissions]}
        for r in found
    ]
    if write_data(output, data):
        return
    columns = ["role", "users"] + (["permissions"] if permission else [])
    rows: list[list[str | int]] = []
    for r in found:
        granted = ", ".join(f"{a} on {res}" for a, res in r.permissions) or "-"
        rows.append([r.name, r.users, *([granted] if permission else [])])
    write_rows(output, columns, rows, empty="no named roles yet: conveyor roles create NAME")


def _change(
    names: tuple[str, ...], resources: tuple[str, ...], actions: tuple[str, ...], add: bool
) -> None:
    store = open_store()
    for name in names:
        for resource in resources:
            for action in actions:
                try:
                    if add:
                        roles.add_permission(store, name, action, resource)
                    else:
                        roles.remove_permission(store, name, action, resource)
                except roles.RoleError as exc:
                    raise CliError(str(exc)) from None
                verb = "granted" if add else "took back"
                console.print(f"{verb} {action} on {resource} for role [bold]{name}[/]")


_RESOURCE = click.option(
    "-r",
    "--resource",
    "resources",
    multiple=True,
    required=True,
    help="DAG:<dag_id> (or just the DAG id), or DAGs for every DAG; repeat for several.",
)
_ACTION = click.option(
    "-a",
    "--action",
    "actions",
    multiple=True,
    required=True,
    help="can_read or can_edit (Airflow's can_dag_read / can_dag_edit too); repeat for several.",
)


@roles_group.command("add-perms")
@click.argument("names", nargs=-1, required=True)
@_RESOURCE
@_ACTION
def add_perms(names: tuple[str, ...], resources: tuple[str, ...], actions: tuple[str, ...]) -> None:
    """Grant roles actions on DAGs: conveyor roles add-perms team_a -r DAG:etl -a can_edit."""
    _change(names, resources, actions, add=True)


@roles_group.command("del-perms")
@click.argument("names", nargs=-1, required=True)
@_RESOURCE
@_ACTION
def del_perms(names: tuple[str, ...], resources: tuple[str, ...], actions: tuple[str, ...]) -> None:
    """Take back actions on DAGs that roles were granted."""
    _change(names, resources, actions, add=False)


roles_group.add_command(add_perms, "add-perm")  # the singular, as people type it
roles_group.add_command(del_perms, "del-perm")
