"""Managing users and API tokens: shared by ``conveyor users`` and the admin API."""

from __future__ import annotations

import re

from conveyor.exceptions import ConveyorError
from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.web.security import generate_password, generate_token, hash_password, hash_token

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,200}$")
MIN_PASSWORD = 8


class AccountError(ConveyorError):
    """A user cannot be created or deleted as asked; the message says why."""


def check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise AccountError(
            f"invalid username {username!r}: use 1-200 letters, digits, '_', '.', '@' or '-'"
        )


def create_user(store: Store, username: str, role: str, password: str | None = None) -> str:
    """Create a user; returns the password (generated when none is given)."""
    check_username(username)
    if role not in user_rows.ROLES:
        raise AccountError(f"invalid role {role!r}: use one of {', '.join(user_rows.ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
    password = password or generate_password()
    with store.write() as conn:
        if user_rows.get_user(conn, username) is not None:
            raise AccountError(f"user {username!r} exists already")
        user_rows.create_user(conn, username, role, hash_password(password))
    return password


def set_password(store: Store, username: str, password: str | None = None) -> str:
    """Replace a user's password; returns it (generated when none is given)."""
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
    password = password or generate_password()
    with store.write() as conn:
        if not user_rows.set_password(conn, username, hash_password(password)):
            raise AccountError(f"no user {username!r}")
    return password


def delete_user(store: Store, username: str) -> None:
    with store.write() as conn:
        row = user_rows.get_user(conn, username)
        if row is None:
            raise AccountError(f"no user {username!r}")
        if row.role == "admin" and user_rows.count_admins(conn) == 1:
            raise AccountError(f"{username!r} is the last admin: create another admin first")
        user_rows.delete_user(conn, username)


def create_token(store: Store, username: str, name: str) -> str:
    """A new API token for ``username``; only its hash is stored, so it is shown once."""
    token = generate_token()
    with store.write() as conn:
        if user_rows.get_user(conn, username) is None:
            raise AccountError(f"no user {username!r}")
        user_rows.add_token(conn, username, name, hash_token(token))
    return token


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
