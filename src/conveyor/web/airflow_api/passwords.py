"""A user name and password checked as the login page checks them: the same throttle of
failures per user and address, the same pool of argon2 checks, the same timing for a user
who does not exist, and the same rule of who may come in (``conveyor.web.entry_rule``).
``POST /auth/token`` and basic auth go through here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from conveyor.store import users as user_rows
from conveyor.web import directory_users, entry_rule, ldap_directory, login
from conveyor.web.deps import get_settings, get_store


@dataclass(frozen=True)
class LoginOutcome:
    row: user_rows.UserRow | None  # the user, when the password is right
    wait: float = 0.0  # > 0: too many failures, try again after this many seconds

    @property
    def retry_after(self) -> int:
        return math.ceil(self.wait)


async def check_login(
    request: Request, username: str, password: str, *, directory: bool = False
) -> LoginOutcome:
    """``username``'s record when ``password`` is theirs. ``directory``: a name no local
    user holds is checked against the LDAP directory (``auth_type = "ldap"``) as the login
    form checks it, and signs the user in (``POST /auth/token``; not basic auth, which
    would ask the directory at every request)."""
    store = get_store(request)
    settings = get_settings(request)
    keys = login._throttle_keys(request, username)
    wait, row = await run_in_threadpool(
        login._reserve, store, keys, login._policy(request), username
    )
    if wait > 0:
        return LoginOutcome(None, wait)
    # argon2 runs for every attempt, admitted or not: the time tells nothing.
    row = entry_rule.admitted(settings, row)
    local = row if row is not None and row.directory is None else None
    valid = await login._check_password(
        request, local.password_hash if local else login._DUMMY_HASH, password
    )
    if local is None and directory and settings.auth_type == "ldap":
        return await _directory_login(request, keys, username, password)
    if local is None or not valid:
        return LoginOutcome(None)
    local = await run_in_threadpool(login._succeeded, store, keys, local, password)
    return LoginOutcome(local)


async def _directory_login(
    request: Request, keys: list[str], username: str, password: str
) -> LoginOutcome:
    settings = get_settings(request)
    store = get_store(request)
    try:
        identity = await run_in_threadpool(
            ldap_directory.authenticate, settings, username, password
        )
    except ldap_directory.DirectoryUnavailableError as exc:
        raise HTTPException(503, "the directory could not be reached: try again later") from exc
    if identity is None:
        return LoginOutcome(None)
    address = login.client_address(request)
    try:
        row = await run_in_threadpool(directory_users.sign_in, store, settings, identity, address)
    except directory_users.SignInRefused:
        return LoginOutcome(None)
    await run_in_threadpool(login._clear, store, keys)
    return LoginOutcome(row)
