"""A user name and password checked as the login page checks them: the same throttle of
failures per user and address, the same pool of argon2 checks, the same timing for a user
who does not exist. ``POST /auth/token`` and basic auth go through here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from conveyor.store import users as user_rows
from conveyor.web import login
from conveyor.web.deps import get_store


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
    hashed = row.password_hash if row else login._DUMMY_HASH
    valid = await login._check_password(request, hashed, password)
    if row is None or not valid:
        return LoginOutcome(None)
    await run_in_threadpool(login._succeeded, store, keys, row.username)
    return LoginOutcome(row)
