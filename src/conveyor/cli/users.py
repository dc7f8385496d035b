"""``conveyor users``: who may log in to the web UI and API, with which role."""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from conveyor.cli.common import CliError, console, open_store, settings, translate_errors, when
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.loading.yaml.models import DURATION_TEXT, parse_duration
from conveyor.store import users as user_rows
from conveyor.web import accounts, queries, schemas


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
    """Give a user a new password (generated and printed once, unless read from stdin).

    Their sessions end and their API tokens are revoked.
    """
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
@click.option(
    "--expires-in",
    metavar="DURATION",
    help="Lifetime, e.g. 30d, 12h or 1w (default: the setting token_expiry_days, 90 days).",
)
@translate_errors
def token(username: str, name: str, expires_in: str | None) -> None:
    """Create an API token for scripts: send it as 'Authorization: Bearer <token>'.

    Only the token is printed (on stdout, for scripts); when it expires goes to stderr.
    """
    if expires_in is None:
        lifetime = timedelta(days=settings().token_expiry_days)
    else:
        parsed = parse_duration(expires_in)
        if parsed is None or parsed <= timedelta(0):
            raise CliError(f"--expires-in {expires_in!r}: expected {DURATION_TEXT}, above zero")
        lifetime = parsed
    try:
        value, row = accounts.issue_token(open_store(), username, name, lifetime)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    click.echo(value)
    click.echo(f"token {row.id} of {username} expires {when(row.expires_at)}", err=True)


@users_group.command("tokens")
@click.argument("username")
@output_option
@translate_errors
def tokens(username: str, output: str) -> None:
    """A user's API tokens: id, name, created, last used, expires (values are never shown)."""
    try:
        rows = accounts.list_tokens(open_store(), username)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    found = schemas.TokenList(tokens=[queries.token_info(row) for row in rows])
    if write_data(output, found):
        return
    write_rows(
        output,
        ["id", "name", "created", "last used", "expires", "expired"],
        [
            [t.id, t.name, t.created_at, t.last_used_at, t.expires_at or "never", t.expired]
            for t in found.tokens
        ],
        empty=f"{username} has no API tokens",
    )


@users_group.command("revoke-token")
@click.argument("token_id", type=click.IntRange(min=1))
@translate_errors
def revoke_token(token_id: int) -> None:
    """Revoke an API token by its id (see `conveyor users tokens NAME`): it stops at once."""
    try:
        row = accounts.revoke_token(open_store(), token_id)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"revoked token {row.id} ({row.name}) of [bold]{row.username}[/]")
