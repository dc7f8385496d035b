"""A user name and password checked as the login page checks them: the same throttle of
failures per user and address, the same pool of argon2 checks, the same timing for a user
who does not exist, and the same rule of who may come in (``conveyor.web.entry_rule``).
``POST /auth/token`` and basic auth go through here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from conveyor.store import users as user_rows
from conveyor.web import entry_rule, login
from conveyor.web.deps import get_settings, get_store


@dataclass(frozen=True)
class LoginOutcome:
    row: user_rows.UserRow | None  # the user, when the password is right
    wait: float = 0.0  # > 0: too many failures, try again after this many seconds

    @property
    def retry_after(self) -> int:
        return math.ceil(self.wait)


async def check_login(request: Request, username: str, password: str) -> LoginOutcome:
    store = get_store(request)
    keys = login._throttle_keys(request, username)
    wait, row = await run_in_threadpool(
        login._reserve, store, keys, login._policy(request), username
    )
    if wait > 0:
        return LoginOutcome(None, wait)
    # argon2 runs for every attempt, admitted or not: the time tells nothing.
    row = entry_rule.admitted(get_settings(request), row)
    hashed = row.password_hash if row else login._DUMMY_HASH
    valid = await login._check_password(request, hashed, password)
    if row is None or not valid:
        return LoginOutcome(None)
    await run_in_threadpool(login._succeeded, store, keys, row.username)
    return LoginOutcome(row)
