"""``conveyor users``: who may log in to the web UI and API, with which role."""

from __future__ import annotations

import sys

import click

from conveyor.cli.common import CliError, console, open_store, translate_errors
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.store import users as user_rows
from conveyor.web import accounts, queries


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("--password-stdin: no password on standard input")
    return password


@click.group("users")
def users_group() -> None:
    """Manage web users: admin (everything), op (trigger, clear, pause), viewer (read)."""


@users_group.command("create")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(user_rows.ROLES),
    required=True,
    help="admin, op or viewer.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (default: generate one and print it once).",
)
@translate_errors
def create(username: str, role: str, password_stdin: bool) -> None:
    """Create a user."""
    given = _read_password(password_stdin)
    try:
        password = accounts.create_user(open_store(), username, role, given)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"created user [bold]{username}[/] with role {role}")
    if given is None:
        console.print(f"password: {password}  (shown once: only its hash is kept)", markup=False)


@users_group.command("list")
@output_option
@translate_errors
def list_command(output: str) -> None:
    """Every user, with role and last login."""
    with open_store().read() as conn:
        found = queries.list_users(conn)
    if write_data(output, found):
        return
    write_rows(
        output,
        ["user", "role", "created", "last login"],
        [[u.username, u.role, u.created_at, u.last_login_at] for u in found.users],
        empty="no users yet: conveyor users create NAME --role admin",
    )


@users_group.command("delete")
@click.argument("username")
@translate_errors
def delete(username: str) -> None:
    """Delete a user and their API tokens (the last admin stays)."""
    try:
        accounts.delete_user(open_store(), username)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"deleted user [bold]{username}[/]")


@users_group.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@translate_errors
def reset_password(username: str, password_stdin: bool) -> None:
    """Give a user a new password (generated and printed once, unless read from stdin)."""
    given = _read_password(password_stdin)
    try:
        password = accounts.set_password(open_store(), username, given)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"new password for [bold]{username}[/]")
    if given is None:
        console.print(f"password: {password}  (shown once)", markup=False)


@users_group.command("token")
@click.argument("username")
@click.option("--name", default="script", show_default=True, help="What the token is for.")
@translate_errors
def token(username: str, name: str) -> None:
    """Create an API token for scripts: send it as 'Authorization: Bearer <token>'."""
    try:
        value = accounts.create_token(open_store(), username, name)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    click.echo(value)
