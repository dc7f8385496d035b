"""Managing users and API tokens: shared by ``conveyor users`` and the admin API."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from conveyor.clock import utcnow
from conveyor.exceptions import ConveyorError
from conveyor.store import users as user_rows
from conveyor.store.engine import Connection, Store
from conveyor.web.security import generate_password, generate_token, hash_password, hash_token

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,200}$")
MIN_PASSWORD = 8
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
MAX_TOKEN_LIFETIME = timedelta(days=3650)


class AccountError(ConveyorError):
    """A user cannot be created or deleted as asked; the message says why."""


def check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise AccountError(
            f"invalid username {username!r}: use 1-200 letters, digits, '_', '.', '@' or '-'"
        )


def create_user(store: Store, username: str, role: str, password: str | None = None) -> str:
    """Create a user; returns the password (generated when none is given). ``role``: a
    built-in role, or public (none: give named roles with set_roles)."""
    check_username(username)
    if role not in user_rows.ROLES and role != user_rows.NO_BUILT_IN:
        raise AccountError(
            f"invalid role {role!r}: use one of {', '.join(user_rows.ROLES)} or "
            f"{user_rows.NO_BUILT_IN}"
        )
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
    password = password or generate_password()
    password_hash = hash_password(password)  # before the transaction: argon2 takes a while
    with store.write() as conn:
        if user_rows.get_user(conn, username) is not None:
            raise AccountError(f"user {username!r} exists already")
        user_rows.create_user(conn, username, role, password_hash)
    return password


def set_password(store: Store, username: str, password: str | None = None) -> str:
    """Replace a user's password; returns it (generated when none is given).

    Whoever knew the old one is shut out: the user's sessions end and API tokens are revoked.
    """
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
    password = password or generate_password()
    password_hash = hash_password(password)  # before the transaction: argon2 takes a while
    with store.write() as conn:
        row = user_rows.get_user(conn, username)
        if row is not None and row.directory is not None:
            raise AccountError(
                f"user {username!r} signs in through {row.directory}: the directory keeps "
                "their password"
            )
        if not user_rows.set_password(conn, username, password_hash):
            raise AccountError(f"no user {username!r}")
    return password


def set_role(store: Store, username: str, role: str) -> None:
    """Give ``username`` another role; the last admin keeps theirs."""
    if role not in user_rows.ROLES:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(user_rows.ROLES)}")
    with store.write() as conn:
        row = user_rows.get_user(conn, username)
        if row is None:
            raise AccountError(f"no user {username!r}")
        if row.role == "admin" and role != "admin" and user_rows.count_admins(conn) == 1:
            raise AccountError(f"{username!r} is the last admin: make another admin first")
        user_rows.set_role(conn, username, role)


def set_roles(store: Store, username: str, roles: list[str]) -> list[str]:
    """Give ``username`` exactly ``roles`` (built-in and named); returns what they hold now.
    The last admin keeps theirs; a named role must exist."""
    with store.write() as conn:
        row = user_rows.get_user(conn, username)
        if row is None:
            raise AccountError(f"no user {username!r}")
        if row.role == "admin" and "admin" not in roles and user_rows.count_admins(conn) == 1:
            raise AccountError(f"{username!r} is the last admin: make another admin first")
        try:
            user_rows.set_roles(conn, username, roles)
        except ValueError as exc:
            raise AccountError(str(exc)) from None
        return user_rows.get_roles(conn, username)


def link_subject(store: Store, username: str, subject: str) -> None:
    """Bind OpenID Connect user ``username`` to ``subject`` (the provider's issuer and the
    person's ``sub``, separated by a blank): their next sign-in under that subject is theirs.
    The admin's explicit act for a name the provider's sign-in may not take by itself."""
    issuer, _, sub = subject.strip().partition(" ")
    if not issuer.startswith(("https://", "http://")) or not sub.strip():
        raise AccountError(
            f"invalid subject {subject!r}: the provider's issuer URL and the person's sub, "
            "separated by a blank, as the audit log's login.refused entry shows it"
        )
    key = user_rows.subject_key(issuer.rstrip("/"), sub.strip())
    with store.write() as conn:
        row = user_rows.get_user(conn, username)
        if row is None:
            raise AccountError(f"no user {username!r}")
        if row.directory != "oidc":
            raise AccountError(f"user {username!r} does not sign in through OpenID Connect")
        holder = user_rows.get_user_by_subject(conn, key)
        if holder is not None and holder.username != username:
            raise AccountError(f"that subject is user {holder.username!r}'s already")
        user_rows.set_subject(conn, username, key)


def delete_user(store: Store, username: str) -> None:
    with store.write() as conn:
        row = user_rows.get_user(conn, username)
        if row is None:
            raise AccountError(f"no user {username!r}")
        if row.role == "admin" and user_rows.count_admins(conn) == 1:
            raise AccountError(f"{username!r} is the last admin: create another admin first")
        user_rows.delete_user(conn, username)


def create_token(
    store: Store, username: str, name: str, expires_in: timedelta | None = None
) -> str:
    """A new API token for ``username``; only its hash is stored, so it is shown once."""
    return issue_token(store, username, name, expires_in)[0]


def issue_token(
    store: Store,
    username: str,
    name: str,
    expires_in: timedelta | None = None,
    *,
    made_with: int | None = None,
    default: timedelta = DEFAULT_TOKEN_LIFETIME,
) -> tuple[str, user_rows.TokenRow]:
    """A new token (shown once) and its row; it expires after ``expires_in`` (none given:
    ``default``).

    ``made_with``: the id of the API token the request came with. A token may make tokens
    for its own user only (the same rights: tokens carry their user's role), never one that
    outlives it (without ``expires_in``, the new one expires with it at the latest), and
    revoking it revokes them: a leaked token cannot leave a longer-lived copy behind.
    """
    lifetime = default if expires_in is None else expires_in
    if lifetime <= timedelta(0) or lifetime > MAX_TOKEN_LIFETIME:
        raise AccountError(
            f"a token's lifetime must be more than 0 and at most {MAX_TOKEN_LIFETIME.days} days"
        )
    token = generate_token()
    with store.write() as conn:
        if user_rows.get_user(conn, username) is None:
            raise AccountError(f"no user {username!r}")
        expires_at = utcnow() + lifetime
        if made_with is not None:
            expires_at = _within_parent(conn, made_with, username, expires_at, expires_in)
        token_id = user_rows.add_token(
            conn, username, name, hash_token(token), expires_at, parent_id=made_with
        )
        row = user_rows.get_token(conn, token_id)
    assert row is not None
    return token, row


def _within_parent(
    conn: Connection,
    parent_id: int,
    username: str,
    expires_at: datetime,
    asked: timedelta | None,
) -> datetime:
    """``expires_at``, or the parent token's end when no lifetime was asked for; refused
    when the asked one outlives the parent."""
    parent = user_rows.get_token(conn, parent_id)
    if parent is None or parent.username != username:
        raise AccountError(f"token {parent_id} of user {username!r} was revoked meanwhile")
    if parent.expires_at is None or expires_at <= parent.expires_at:
        return expires_at
    if asked is None:
        return parent.expires_at
    left = parent.expires_at - utcnow()
    raise AccountError(
        f"a token cannot make a token that outlives it: this one expires at "
        f"{parent.expires_at.isoformat(timespec='seconds')} (in {left.days} days); ask for "
        "a shorter lifetime, or make a longer-lived token in a browser session or with "
        "`conveyor users token`"
    )


def list_tokens(store: Store, username: str) -> list[user_rows.TokenRow]:
    with store.read() as conn:
        if user_rows.get_user(conn, username) is None:
            raise AccountError(f"no user {username!r}")
        return user_rows.list_tokens(conn, username)


def revoke_token(store: Store, token_id: int, owner: str | None = None) -> user_rows.TokenRow:
    """Delete token ``token_id`` (only ``owner``'s, when given); returns what it was."""
    with store.write() as conn:
        row = user_rows.get_token(conn, token_id)
        if row is None or (owner is not None and row.username != owner):
            raise AccountError(f"no token {token_id}" + (f" of user {owner!r}" if owner else ""))
        user_rows.revoke_token(conn, token_id)
    return row


def ensure_admin(store: Store, username: str = "admin") -> str | None:
    """Create ``username`` as admin with a generated password if no user exists at all.

    Returns the password when it made the user (to be shown once), else None.
    """
    with store.read() as conn:
        if user_rows.list_users(conn):
            return None
    try:
        return create_user(store, username, "admin")
    except AccountError:
        return None  # another process made it first
