"""A directory user's record: made at their first sign-in, their role synced at each.

LDAP and OpenID Connect sign-ins both end here with who the directory says the person is
and which groups they are in. The user's role comes from those groups
(``conveyor.web.directory_roles``); each sign-in, role change and refusal is written to the
audit log in the transaction that acts on it. A local user's name is never taken over by
a directory: a directory sign-in under a name a local user holds is refused. An OpenID
Connect user is bound to the provider's issuer and subject at their first sign-in and found
by them after (``web_user.subject``), never by the name claim, which people may choose.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from conveyor.config import Settings
from conveyor.store import audit
from conveyor.store import roles as role_rows
from conveyor.store import users as user_rows
from conveyor.store.engine import Connection, Store
from conveyor.web.directory_roles import mapped_roles, resolve
from conveyor.web.sign_in_names import unfit_name


@dataclass(frozen=True)
class DirectoryIdentity:
    """Who a directory vouched for: their user name and the groups it lists for them."""

    username: str
    directory: str  # "ldap" | "oidc"
    groups: tuple[str, ...] = ()
    #: What the directory keys the person by, when it is not the name (an OIDC provider's
    #: issuer and subject, ``users.subject_key``): the user is found by it.
    subject: str | None = None


NO_ROLE = "no role: auth_roles_mapping gives none of the user's groups one"


class SignInRefused(Exception):
    """The directory knows the person, but Conveyor does not let them in; says why."""


class NameTaken(SignInRefused):
    """The name the directory gives belongs to another Conveyor user (a local one, or one
    bound to another subject); the message, shown to the person, says what to do."""


def roles_for(conn: Connection, settings: Settings, identity: DirectoryIdentity) -> list[str]:
    """The roles ``identity``'s groups give (built-in first, then named); empty: none."""
    names = mapped_roles(
        identity.groups, settings.roles_mapping, settings.auth_user_registration_role
    )
    return resolve(names, {role.name for role in role_rows.list_roles(conn)})


def sign_in(
    store: Store, settings: Settings, identity: DirectoryIdentity, address: str | None
) -> user_rows.UserRow:
    """The user's record after this sign-in (made or synced); :class:`SignInRefused` when
    they may not sign in, recorded in the audit log either way."""
    refused: SignInRefused | None = None
    with store.write() as conn:  # the refusal's audit row commits too: raised after it
        try:
            identity = _bound(conn, identity)
            row = _sync(conn, settings, identity, roles_for(conn, settings, identity), address)
        except SignInRefused as exc:
            refused = exc
            more = {"subject": identity.subject} if identity.subject else {}
            _record(conn, identity, "login.refused", address, reason=str(exc), **more)
        else:
            user_rows.record_login(conn, row.username)
            roles = user_rows.get_roles(conn, row.username)
            _record(conn, identity, "login", address, roles=roles, groups=list(identity.groups))
    if refused is not None:
        raise refused
    return row


def recheck(
    store: Store, settings: Settings, username: str, identity: DirectoryIdentity | None
) -> user_rows.UserRow | None:
    """Sync a directory user's role from a fresh look at the directory (a token's use):
    None when they lost every role or the directory no longer knows them (their API
    tokens are then revoked, which the audit log records)."""
    # Committed at once: a GET with a token must not hold the write lock for its handler.
    with store.write(own=True) as conn:
        row = user_rows.get_user(conn, username)
        if row is None or row.directory is None:
            return row
        roles = [] if identity is None else roles_for(conn, settings, identity)
        who = identity or DirectoryIdentity(username, row.directory)
        if identity is not None and not settings.auth_roles_sync_at_login:
            return row  # the roles are an admin's to change: only the user must still be there
        if not roles:
            _revoke_tokens(conn, who, None)
            return None
        previous = user_rows.get_roles(conn, username)
        if roles != previous:
            user_rows.set_roles(conn, username, roles)
            _record(conn, who, "user.role", None, previous=previous, roles=roles, at="token use")
        return user_rows.get_user(conn, username)


def _bound(conn: Connection, identity: DirectoryIdentity) -> DirectoryIdentity:
    """``identity`` under the name of the user its subject is bound to. A person the
    provider keys by a subject is found by it, never by a name: the name claim is one people
    may choose. A new subject may take a free name only; a name held by a local user, by
    another subject, or by an OIDC user made before subjects were kept is refused."""
    if identity.subject is None:
        return identity
    bound = user_rows.get_user_by_subject(conn, identity.subject)
    if bound is not None:
        return replace(identity, username=bound.username)
    row = user_rows.get_user(conn, identity.username)
    if row is None:
        return identity
    name = identity.username
    if row.directory != identity.directory:
        what = "a local user" if row.directory is None else f"a user of {row.directory}"
        raise NameTaken(f"the name {name!r} belongs to {what}: ask an admin")
    if row.subject is None:
        raise NameTaken(
            f"the name {name!r} belongs to a user not yet linked to a provider account: an "
            f"admin links it with `conveyor users link {name} --subject <subject>` (the "
            "subject is in the audit log's login.refused entry)"
        )
    raise NameTaken(
        f"the name {name!r} belongs to another account at the sign-in provider: ask an admin"
    )


def _sync(
    conn: Connection,
    settings: Settings,
    identity: DirectoryIdentity,
    roles: list[str],
    address: str | None,
) -> user_rows.UserRow:
    unfit = unfit_name(identity.username)
    if unfit is not None:  # stored names are plain: no markup, no control characters
        raise SignInRefused(f"the directory names this user with {unfit}: ask an admin")
    row = user_rows.get_user(conn, identity.username)
    if row is not None and row.directory != identity.directory:
        what = "a local user" if row.directory is None else f"a user of {row.directory}"
        raise SignInRefused(f"the name {identity.username!r} belongs to {what}")
    if row is None:
        if not settings.auth_user_registration:
            raise SignInRefused("not registered, and auth_user_registration is off")
        if not roles:
            raise SignInRefused(NO_ROLE)
        built_in = roles[0] if roles[0] in user_rows.ROLES else user_rows.NO_BUILT_IN
        user_rows.create_directory_user(
            conn, identity.username, built_in, identity.directory, identity.subject
        )
        user_rows.set_roles(conn, identity.username, roles)
        _record(conn, identity, "user.create", address, roles=roles)
    elif settings.auth_roles_sync_at_login:
        previous = user_rows.get_roles(conn, identity.username)
        if not roles:  # what their groups gave is gone: so are the tokens it backed
            _revoke_tokens(conn, identity, address)
            raise SignInRefused(NO_ROLE)
        if roles != previous:
            user_rows.set_roles(conn, identity.username, roles)
            _record(conn, identity, "user.role", address, previous=previous, roles=roles)
    found = user_rows.get_user(conn, identity.username)
    assert found is not None
    return found


def _revoke_tokens(conn: Connection, identity: DirectoryIdentity, address: str | None) -> None:
    tokens = user_rows.list_tokens(conn, identity.username)
    for token in tokens:
        user_rows.revoke_token(conn, token.id)
    if tokens:
        ids = [token.id for token in tokens]
        _record(conn, identity, "token.revoke", address, tokens=ids, reason="no role left")


def _record(
    conn: Connection,
    identity: DirectoryIdentity,
    action: str,
    address: str | None,
    **details: object,
) -> None:
    audit.record(
        conn,
        identity.username,
        action,
        identity.username,
        {"method": identity.directory, **details},
        via=identity.directory,
        address=address,
    )
