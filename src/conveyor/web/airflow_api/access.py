"""Who calls ``/api/v2``, and what they may see and do.

A caller authenticates as Airflow 3's API expects: ``Authorization: Bearer <JWT>`` from
``POST /auth/token``. Conveyor's own API tokens (``cvy_...``) work as bearer tokens too, a
browser session works as on ``/api/v1`` (with its CSRF token for changes), and, when the
setting ``api_basic_auth`` allows it, ``Authorization: Basic`` as Airflow 2's basic auth
backend took it.

Every DAG-scoped read or action goes through :func:`dag_visible` / :func:`visible_dag_ids`
/ :func:`require_dag`: the one place that decides which DAGs a user may see or change.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from conveyor.store import users as user_rows
from conveyor.web import auth
from conveyor.web.airflow_api import jwt_tokens
from conveyor.web.airflow_api.passwords import check_login
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store

#: What each kind of request needs, in Conveyor's roles (admin > op > viewer).
READ, EDIT, ADMIN = "viewer", "op", "admin"


def _unauthenticated(detail: str = "Not authenticated") -> HTTPException:
    scheme = "Bearer"
    return HTTPException(401, detail, headers={"WWW-Authenticate": scheme})


async def api_user(request: Request) -> User:
    """The caller, however they authenticate; 401 with the reason when nobody is."""
    cached = getattr(request.state, "conveyor_user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value and jwt_tokens.looks_like_jwt(value):
        user = await run_in_threadpool(_jwt_user, request, value)
    elif scheme.lower() == "basic" and value:
        user = await _basic_user(request, value)
    else:
        # A Conveyor API token, or the browser's session (CSRF checked below).
        found = await run_in_threadpool(auth.current_user, request)
        if found is None:
            raise _unauthenticated()
        user = found
    request.state.conveyor_user = user  # the audit trail names the actor from here
    if not user.via_token and request.method not in auth.SAFE_METHODS:
        auth.check_csrf(request, request.headers.get(auth.CSRF_HEADER))
    return user


def _jwt_user(request: Request, token: str) -> User:
    try:
        claims = jwt_tokens.verify(get_settings(request), token)
    except jwt_tokens.BadToken as exc:
        raise _unauthenticated(str(exc)) from None
    with get_store(request).read() as conn:
        row = user_rows.get_user(conn, claims.username)
    if row is None or auth.password_fingerprint(row.password_hash) != claims.password_fingerprint:
        # Deleted, or given a new password since: the token is void.
        raise _unauthenticated("the access token is no longer valid: get a new one")
    return User(row.username, row.role, via_token=True)


async def _basic_user(request: Request, value: str) -> User:
    if not get_settings(request).api_basic_auth:
        raise _unauthenticated(
            "basic auth is off on this server (setting api_basic_auth): get a token from "
            "POST /auth/token and send it as 'Authorization: Bearer <token>'"
        )
    try:
        username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthenticated("malformed basic credentials") from None
    if not sep:
        raise _unauthenticated("malformed basic credentials")
    outcome = await check_login(request, username, password)
    if outcome.wait > 0:
        raise HTTPException(
            429,
            "too many failed logins: try again later",
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if outcome.row is None:
        raise HTTPException(
            401, "wrong username or password", headers={"WWW-Authenticate": "Basic"}
        )
    return User(outcome.row.username, outcome.row.role, via_token=True)


def need(role: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the caller, with at least ``role``'s rights (403 otherwise)."""

    async def dependency(request: Request) -> User:
        user = await api_user(request)
        if not user.can(role):
            raise HTTPException(
                403, f"user {user.username!r} has role {user.role!r}; this needs {role!r}"
            )
        return user

    dependency.__name__ = f"need_{role}"
    return dependency


Reader = Annotated[User, Depends(need(READ))]
Editor = Annotated[User, Depends(need(EDIT))]
Administrator = Annotated[User, Depends(need(ADMIN))]


def dag_visible(user: User, dag_id: str, action: str = READ) -> bool:
    """Whether ``user`` may see (``READ``) or act on (``EDIT``) DAG ``dag_id``.

    Today the role alone decides, for every DAG alike; per-DAG permissions plug in here.
    """
    return user.can(action)


def visible_dag_ids(user: User, dag_ids: Iterable[str], action: str = READ) -> list[str]:
    """Those of ``dag_ids`` that ``user`` may see (or act on), in their order."""
    return [d for d in dag_ids if dag_visible(user, d, action)]


def require_dag(user: User, dag_id: str, action: str = READ) -> None:
    """403 unless ``user`` may see (or act on) ``dag_id``."""
    if not dag_visible(user, dag_id, action):
        raise HTTPException(403, f"user {user.username!r} may not access DAG {dag_id!r}")
