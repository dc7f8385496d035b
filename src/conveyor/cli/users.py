"""``conveyor users``: who may log in to the web UI and API, with which role."""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from conveyor.cli.common import CliError, console, open_store, settings, when
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.loading.yaml.models import DURATION_TEXT, parse_duration
from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.store.users import NO_BUILT_IN
from conveyor.web import accounts, queries, schemas
from conveyor.web import roles as role_admin


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


#: Airflow's role names, as its ``users create --role`` takes them (any case).
AIRFLOW_ROLES = {"admin": "admin", "op": "op", "user": "op", "viewer": "viewer"}


def _role(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A built-in role by any of its names, else the name of a role made with
    ``conveyor roles create`` (checked when used)."""
    return AIRFLOW_ROLES.get(value.strip().lower(), value.strip())


def _held(store: Store, role: str) -> list[str]:
    """``role`` as the roles a new user holds; a named role must exist."""
    if role in AIRFLOW_ROLES.values():
        return [role]
    try:
        role_admin.get_role(store, role)
    except role_admin.RoleError:
        raise click.BadParameter(
            f"{role!r}: use admin, op or viewer (Airflow's Admin, Op, User (= op) and Viewer "
            "are accepted in any case), or a role made with `conveyor roles create`",
            param_hint="'--role'",
        ) from None
    return [role]


@users_group.command("create")
@click.argument("username", required=False)
@click.option("-u", "--username", "username_option", help="The user name (Airflow's spelling).")
@click.option(
    "-r",
    "--role",
    required=True,
    callback=_role,
    help="admin, op or viewer (Airflow's Admin, Op, User (= op) and Viewer too), or a named "
    "role (conveyor roles create).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (default: generate one and print it once).",
)
@click.option(
    "-p",
    "--password",
    "password_option",
    help="The password (Airflow's flag; others on this machine may see it: prefer stdin).",
)
@click.option("--use-random-password", is_flag=True, help="Airflow's flag; the default here.")
@click.option("-e", "--email", help="Accepted for Airflow's scripts; not stored.")
@click.option("-f", "--firstname", help="Accepted for Airflow's scripts; not stored.")
@click.option("-l", "--lastname", help="Accepted for Airflow's scripts; not stored.")
def create(
    username: str | None,
    username_option: str | None,
    role: str,
    password_stdin: bool,
    password_option: str | None,
    use_random_password: bool,
    email: str | None,
    firstname: str | None,
    lastname: str | None,
) -> None:
    """Create a user: USERNAME or --username, and a role.

    Airflow's `users create -u NAME -r Admin -p PASS -e ... -f ... -l ...` works as written;
    the e-mail and names are not kept, as Conveyor's users have none.
    """
    name = _one_username(username, username_option)
    if sum([password_stdin, password_option is not None, use_random_password]) > 1:
        raise click.UsageError("give one of --password, --password-stdin and --use-random-password")
    given = password_option if password_option is not None else _read_password(password_stdin)
    store = open_store()
    held = _held(store, role)
    built_in = role if role in AIRFLOW_ROLES.values() else NO_BUILT_IN
    try:
        password = accounts.create_user(store, name, built_in, given)
        if built_in == NO_BUILT_IN:
            accounts.set_roles(store, name, held)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"created user [bold]{name}[/] with role {role}")
    if given is None:
        console.print(f"password: {password}  (shown once: only its hash is kept)", markup=False)


def _one_username(argument: str | None, option: str | None) -> str:
    if argument and option and argument != option:
        raise click.UsageError(f"two user names: {argument!r} and --username {option!r}")
    name = argument or option
    if not name:
        raise click.UsageError("missing the user name: USERNAME or --username")
    return name


@users_group.command("list")
@output_option
def list_command(output: str) -> None:
    """Every user, with role and last login."""
    with open_store().read() as conn:
        found = queries.list_users(conn)
    if write_data(output, found):
        return
    write_rows(
        output,
        ["user", "role", "roles", "created", "last login"],
        [
            [u.username, u.role, ", ".join(u.roles), u.created_at, u.last_login_at]
            for u in found.users
        ],
        empty="no users yet: conveyor users create NAME --role admin",
    )


@users_group.command("delete")
@click.argument("username")
def delete(username: str) -> None:
    """Delete a user and their API tokens (the last admin stays)."""
    try:
        accounts.delete_user(open_store(), username)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"deleted user [bold]{username}[/]")


@users_group.command("link")
@click.argument("username")
@click.option(
    "--subject",
    required=True,
    help="The provider's issuer URL and the person's sub, separated by a blank (the audit "
    "log's login.refused entry of their sign-in shows it).",
)
def link(username: str, subject: str) -> None:
    """Link an OpenID Connect user to their account at the provider (its issuer and sub)."""
    try:
        accounts.link_subject(open_store(), username, subject)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"linked user [bold]{username}[/] to {subject.strip()}")


@users_group.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
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
def revoke_token(token_id: int) -> None:
    """Revoke an API token by its id (see `conveyor users tokens NAME`): it stops at once."""
    try:
        row = accounts.revoke_token(open_store(), token_id)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"revoked token {row.id} ({row.name}) of [bold]{row.username}[/]")


def _user_roles(store: Store, username: str) -> list[str]:
    with store.read() as conn:
        if user_rows.get_user(conn, username) is None:
            raise CliError(f"no user {username!r}")
        return user_rows.get_roles(conn, username)


def _set_roles(store: Store, username: str, wanted: list[str]) -> None:
    try:
        held = accounts.set_roles(store, username, wanted)
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    console.print(f"[bold]{username}[/] holds {', '.join(held) or 'no role (public)'}")


@users_group.command("add-role")
@click.option("-u", "--username", required=True, help="The user.")
@click.option("-r", "--role", required=True, callback=_role, help="A built-in or named role.")
def add_role(username: str, role: str) -> None:
    """Give a user one more role (Airflow's `users add-role`); a built-in one replaces theirs."""
    store = open_store()
    held = _user_roles(store, username)
    if role in AIRFLOW_ROLES.values():
        held = [r for r in held if r not in user_rows.ROLES]
    _set_roles(store, username, [*held, role])


@users_group.command("remove-role")
@click.option("-u", "--username", required=True, help="The user.")
@click.option("-r", "--role", required=True, callback=_role, help="A built-in or named role.")
def remove_role(username: str, role: str) -> None:
    """Take a role from a user (Airflow's `users remove-role`)."""
    store = open_store()
    held = _user_roles(store, username)
    if role not in held:
        raise CliError(f"user {username!r} does not hold role {role!r}")
    _set_roles(store, username, [r for r in held if r != role])


@users_group.command("set-roles")
@click.argument("username")
@click.argument("roles", nargs=-1)
def set_roles(username: str, roles: tuple[str, ...]) -> None:
    """Give a user exactly ROLES: at most one of admin, op and viewer, and named roles (none
    given: no role at all)."""
    _set_roles(open_store(), username, [AIRFLOW_ROLES.get(r.lower(), r) for r in roles])
