"""The one decision every way in asks: may this user's credentials be honoured here?

A password at the login form, ``POST /auth/token`` or basic auth, a browser session, a
Conveyor API token, an ``/api/v2`` access token: each finds the user's record, then asks
:func:`refusal` before it lets the request act as them. So turning local users off
(``auth_allow_local_users = false`` with a directory) shuts every door a local password or
what it issued opens, at once, and a directory user whose directory is no longer the one
configured (``auth_type`` changed) is refused the same way.
"""

from __future__ import annotations

from conveyor.config import Settings
from conveyor.store.users import UserRow


def refusal(settings: Settings, row: UserRow) -> str | None:
    """Why ``row``'s user may not come in under ``settings`` (None: they may)."""
    directory = row.directory
    if directory is None:
        if settings.auth_type == "local" or settings.auth_allow_local_users:
            return None
        return (
            f"local user {row.username!r} may not sign in: auth_type is "
            f"{settings.auth_type!r} and auth_allow_local_users is off (docs/security.md, "
            "'Every way in')"
        )
    if directory != settings.auth_type:
        return (
            f"user {row.username!r} signs in through {directory}, and auth_type is "
            f"{settings.auth_type!r} (docs/security.md, 'Every way in')"
        )
    return None


def admitted(settings: Settings, row: UserRow | None) -> UserRow | None:
    """``row`` when its user may come in, else None."""
    return row if row is not None and refusal(settings, row) is None else None
