"""An LDAP user's API token or browser session asks the directory again before it is
honoured.

A user removed from a group must lose what the group gave without waiting for a sign-in
they may never make: a token is the way scripts keep acting for them, a session cookie
lives for hours. So a token or session of an LDAP user is honoured only when the directory
was asked about that user within ``auth_directory_recheck_seconds`` (per web process, one
schedule for both); when it is older, the service account looks the user up, their role is
synced from their groups (recorded in the audit log), and a user the directory no longer
knows, or whom no group gives a role, is refused and loses their tokens (and the session
ends). A directory that cannot be reached then refuses the token or session (503): no
directory, no new proof.
"""

from __future__ import annotations

import threading
import time

from fastapi import HTTPException, Request

from conveyor.store import users as user_rows
from conveyor.web import directory_users, ldap_directory
from conveyor.web.deps import get_settings, get_store

_LOCK = threading.Lock()


def token_user(request: Request, row: user_rows.UserRow) -> user_rows.UserRow | None:
    """``row`` as the directory sees it now (None: refused), asking it when the last look
    is older than the setting."""
    settings = get_settings(request)
    checked: dict[str, float] = _checked(request)
    last = checked.get(row.username)
    now = time.monotonic()
    if last is not None and now - last < settings.auth_directory_recheck_seconds:
        return row
    try:
        identity = ldap_directory.lookup(settings, row.username)
    except ldap_directory.DirectoryUnavailableError as exc:
        raise HTTPException(
            503, "the directory could not be reached to check this token's user: try again"
        ) from exc
    found = directory_users.recheck(get_store(request), settings, row.username, identity)
    if found is None:
        checked.pop(row.username, None)
        return None
    checked[row.username] = now
    return found


def _checked(request: Request) -> dict[str, float]:
    state = request.app.state
    with _LOCK:
        found: dict[str, float] | None = getattr(state, "directory_checked", None)
        if found is None:
            found = state.directory_checked = {}
    return found
