"""Web users and their API tokens: the rows behind login and ``conveyor users``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, or_, select, update

from conveyor.clock import utcnow
from conveyor.store import roles as role_rows
from conveyor.store.reads._rows import row_as
from conveyor.store.tables import api_token, user_role, web_user

ROLES = ("viewer", "op", "admin")  # in increasing power
NO_BUILT_IN = "public"  # web_user.role of a user who holds named roles only
#: A directory user's password hash: no password of theirs is kept here, and no password
#: verifies against it (it is no argon2 hash). What follows the prefix names the directory.
DIRECTORY_HASH_PREFIX = "!directory:"


@dataclass(frozen=True)
class UserRow:
    username: str
    role: str
    password_hash: str
    created_at: datetime
    last_login_at: datetime | None
    session_epoch: int = 0
    #: An OpenID Connect user's provider issuer and subject ("<iss> <sub>"), bound at their
    #: first sign-in; None for local and LDAP users (and OIDC users not linked yet).
    subject: str | None = None

    @property
    def directory(self) -> str | None:
        """``"ldap"`` or ``"oidc"`` for a user who signs in through a directory, else None."""
        if self.password_hash.startswith(DIRECTORY_HASH_PREFIX):
            return self.password_hash[len(DIRECTORY_HASH_PREFIX) :]
        return None


@dataclass(frozen=True)
class TokenRow:
    id: int
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None  # None: made before tokens expired; never
    parent_id: int | None = None  # the token whose request made this one

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _row(row: object) -> UserRow:
    return row_as(UserRow, row)


def get_user(conn: Connection, username: str) -> UserRow | None:
    row = conn.execute(select(web_user).where(web_user.c.username == username)).first()
    return None if row is None else _row(row)


def list_users(conn: Connection) -> list[UserRow]:
    return [_row(r) for r in conn.execute(select(web_user).order_by(web_user.c.username))]


def create_user(conn: Connection, username: str, role: str, password_hash: str) -> None:
    """A user with built-in ``role`` (or public: named roles only, given by set_roles)."""
    if role not in ROLES and role != NO_BUILT_IN:
        raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)} or {NO_BUILT_IN}")
    conn.execute(
        insert(web_user).values(
            username=username, role=role, password_hash=password_hash, created_at=utcnow()
        )
    )


def create_directory_user(
    conn: Connection, username: str, role: str, directory: str, subject: str | None = None
) -> None:
    """A user whose password the directory ``directory`` (ldap, oidc) checks, bound to
    ``subject`` (an OIDC provider's issuer and subject) when given."""
    create_user(conn, username, role, DIRECTORY_HASH_PREFIX + directory)
    if subject is not None:
        set_subject(conn, username, subject)


def subject_key(issuer: str, subject: str) -> str:
    """How ``web_user.subject`` holds an OIDC provider's issuer and an ID token's ``sub``."""
    return f"{issuer} {subject}"


def get_user_by_subject(conn: Connection, subject: str) -> UserRow | None:
    row = conn.execute(select(web_user).where(web_user.c.subject == subject)).first()
    return None if row is None else _row(row)


def set_subject(conn: Connection, username: str, subject: str | None) -> bool:
    """Bind ``username`` to ``subject`` (None: unbind)."""
    found = update(web_user).where(web_user.c.username == username).values(subject=subject)
    return conn.execute(found).rowcount > 0


def set_password(conn: Connection, username: str, password_hash: str) -> bool:
    """A new password: ends the user's sessions (new epoch) and revokes their API tokens."""
    result = conn.execute(
        update(web_user)
        .where(web_user.c.username == username)
        .values(password_hash=password_hash, session_epoch=web_user.c.session_epoch + 1)
    )
    if result.rowcount == 0:
        return False
    conn.execute(delete(api_token).where(api_token.c.username == username))
    return True


def replace_hash(conn: Connection, username: str, old_hash: str, new_hash: str) -> bool:
    """The same password hashed anew (an imported user's first sign-in): sessions and
    tokens are kept; only while the hash is still ``old_hash``, so a password changed
    meanwhile is not undone."""
    result = conn.execute(
        update(web_user)
        .where(web_user.c.username == username, web_user.c.password_hash == old_hash)
        .values(password_hash=new_hash)
    )
    return result.rowcount > 0


def end_sessions(conn: Connection, username: str) -> None:
    """Every session cookie of ``username`` issued so far stops working (logout)."""
    conn.execute(
        update(web_user)
        .where(web_user.c.username == username)
        .values(session_epoch=web_user.c.session_epoch + 1)
    )


def set_role(conn: Connection, username: str, role: str) -> bool:
    found = update(web_user).where(web_user.c.username == username).values(role=role)
    return conn.execute(found).rowcount > 0


def get_roles(conn: Connection, username: str) -> list[str]:
    """Every role ``username`` holds: the built-in one (unless public), then the named ones."""
    found = get_user(conn, username)
    if found is None:
        return []
    named = conn.execute(
        select(user_role.c.role).where(user_role.c.username == username).order_by(user_role.c.role)
    ).scalars()
    return ([found.role] if found.role in ROLES else []) + list(named)


def named_roles(conn: Connection, username: str) -> frozenset[str]:
    """The named (not built-in) roles ``username`` holds."""
    query = select(user_role.c.role).where(user_role.c.username == username)
    return frozenset(conn.execute(query).scalars())


def named_roles_by_user(conn: Connection) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in conn.execute(select(user_role).order_by(user_role.c.role)):
        found.setdefault(row.username, []).append(row.role)
    return found


def set_roles(conn: Connection, username: str, roles: list[str]) -> bool:
    """Give ``username`` exactly ``roles``: at most one built-in role (admin, op, viewer;
    none given: public, no built-in rights), and any named roles, which must exist. False
    when there is no such user; ValueError naming the role when a role is unknown.

    The one call that sign-in from a directory (LDAP, OIDC) uses to sync a user's roles.
    """
    built_in = [r for r in roles if r in ROLES or r == NO_BUILT_IN]
    named = sorted({r for r in roles if r not in built_in})
    if len(set(built_in) - {NO_BUILT_IN}) > 1:  # the strongest one counts
        built_in = [max((r for r in built_in if r in ROLES), key=ROLES.index)]
    known = {r.name for r in role_rows.list_roles(conn)}
    for name in named:
        if name not in known:
            raise ValueError(f"unknown role {name!r}: create it first (conveyor roles create)")
    strongest = next((r for r in built_in if r in ROLES), NO_BUILT_IN)
    if not set_role(conn, username, strongest):
        return False
    conn.execute(delete(user_role).where(user_role.c.username == username))
    if named:
        conn.execute(insert(user_role), [{"username": username, "role": r} for r in named])
    return True


def delete_user(conn: Connection, username: str) -> bool:
    conn.execute(delete(user_role).where(user_role.c.username == username))
    conn.execute(delete(api_token).where(api_token.c.username == username))
    return conn.execute(delete(web_user).where(web_user.c.username == username)).rowcount > 0


def record_login(conn: Connection, username: str) -> None:
    conn.execute(
        update(web_user).where(web_user.c.username == username).values(last_login_at=utcnow())
    )


def count_admins(conn: Connection) -> int:
    return len(conn.execute(select(web_user.c.username).where(web_user.c.role == "admin")).all())


def add_token(
    conn: Connection,
    username: str,
    name: str,
    token_hash: str,
    expires_at: datetime | None,
    parent_id: int | None = None,
) -> int:
    """Store a token's hash; returns the token's id. ``parent_id``: the token that made it
    (deleting that one deletes this one)."""
    result = conn.execute(
        insert(api_token).values(
            username=username,
            name=name,
            token_hash=token_hash,
            created_at=utcnow(),
            expires_at=expires_at,
            parent_id=parent_id,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def user_for_token(
    conn: Connection, token_hash: str
) -> tuple[UserRow, int, datetime | None] | None:
    """The token's user, the token's id and when it was last used; None when unknown or
    expired."""
    row = conn.execute(
        select(web_user, api_token.c.id.label("token_id"), api_token.c.last_used_at)
        .join(api_token, api_token.c.username == web_user.c.username)
        .where(
            api_token.c.token_hash == token_hash,
            or_(api_token.c.expires_at.is_(None), api_token.c.expires_at > utcnow()),
        )
    ).first()
    if row is None:
        return None
    return _row(row), row._mapping["token_id"], row._mapping["last_used_at"]


def _token(row: object) -> TokenRow:
    return row_as(TokenRow, row)


def list_tokens(conn: Connection, username: str) -> list[TokenRow]:
    """A user's tokens, newest first (expired ones too, until revoked)."""
    query = (
        select(api_token)
        .where(api_token.c.username == username)
        .order_by(api_token.c.created_at.desc(), api_token.c.id.desc())
    )
    return [_token(r) for r in conn.execute(query)]


def get_token(conn: Connection, token_id: int) -> TokenRow | None:
    row = conn.execute(select(api_token).where(api_token.c.id == token_id)).first()
    return None if row is None else _token(row)


def revoke_token(conn: Connection, token_id: int) -> bool:
    return conn.execute(delete(api_token).where(api_token.c.id == token_id)).rowcount > 0


def touch_token(conn: Connection, token_id: int) -> None:
    conn.execute(update(api_token).where(api_token.c.id == token_id).values(last_used_at=utcnow()))


def token_needs_touch(last_used_at: datetime | None) -> bool:
    """Write the last use at most once a minute: a script polling the API stays read-only."""
    return last_used_at is None or utcnow() - last_used_at > timedelta(minutes=1)
