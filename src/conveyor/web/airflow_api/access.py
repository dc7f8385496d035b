"""Who calls ``/api/v2``, and what they may see and do.

A caller authenticates as Airflow 3's API expects: ``Authorization: Bearer <JWT>`` from
``POST /auth/token``. Conveyor's own API tokens (``cvy_...``) work as bearer tokens too, a
browser session works as on ``/api/v1`` (with its CSRF token for changes), and, when the
setting ``api_basic_auth`` allows it, ``Authorization: Basic`` as Airflow 2's basic auth
backend took it.

The caller is the same user Conveyor's own API sees: built-in role and named roles, and an
LDAP user's token (JWT or ``cvy_...``) asked of the directory again as
``conveyor.web.directory_recheck`` does. Every DAG-scoped read or action goes through
:func:`dag_visible` / :func:`visible_dag_ids` / :func:`require_dag`, which ask
``conveyor.web.dag_access``: the one place that decides which DAGs a user may see or change.
A DAG the user may not read answers 404 as an unknown one does; one they may read but not
edit, 403 on a change.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from conveyor.exceptions import NotFoundError
from conveyor.store import users as user_rows
from conveyor.web import auth, dag_access, directory_recheck, entry_rule
from conveyor.web.airflow_api import jwt_tokens
from conveyor.web.airflow_api.passwords import check_login
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store

#: What each kind of request needs, in Conveyor's roles (admin > op > viewer).
READ, EDIT, ADMIN = "viewer", "op", "admin"
#: No DAG at all: what a user built without its scope may see (never more than granted).
_NO_DAG = dag_access.DagScope(frozenset(), frozenset(), frozenset())


@dataclass(frozen=True)
class ApiUser(User):
    """The caller of ``/api/v2`` with the DAGs they may read and edit, worked out once a
    request by ``conveyor.web.dag_access``."""

    scope: dag_access.DagScope = _NO_DAG


def _dag_action(action: str) -> dag_access.Action:
    """Conveyor's role name for an action (``READ``/``EDIT``) as ``dag_access`` names it."""
    return "read" if action == READ else "edit"


def _unauthenticated(detail: str = "Not authenticated") -> HTTPException:
    scheme = "Bearer"
    return HTTPException(401, detail, headers={"WWW-Authenticate": scheme})


async def api_user(request: Request) -> User:
    """The caller, however they authenticate; 401 with the reason when nobody is."""
    cached = getattr(request.state, "conveyor_user", None)
    if isinstance(cached, ApiUser):
        return cached
    if isinstance(cached, User):  # found earlier in this request, without its DAGs
        return await _with_dags(request, cached)
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
    return await _with_dags(request, user)


async def _with_dags(request: Request, user: User) -> ApiUser:
    """``user`` with the DAGs they may read and edit; the browser's CSRF token checked."""
    scope = await run_in_threadpool(dag_access.dag_scope, request, user)
    found_user = ApiUser(
        user.username,
        user.role,
        via_token=user.via_token,
        token_id=user.token_id,
        named_roles=user.named_roles,
        scope=scope,
    )
    request.state.conveyor_user = found_user  # the audit trail names the actor from here
    if not found_user.via_token and request.method not in auth.SAFE_METHODS:
        auth.check_csrf(request, request.headers.get(auth.CSRF_HEADER))
    return found_user


def _jwt_user(request: Request, token: str) -> User:
    try:
        claims = jwt_tokens.verify(get_settings(request), token)
    except jwt_tokens.BadToken as exc:
        raise _unauthenticated(str(exc)) from None
    store = get_store(request)
    with store.read() as conn:
        row = user_rows.get_user(conn, claims.username)
    if row is None or auth.password_fingerprint(row.password_hash) != claims.password_fingerprint:
        # Deleted, or given a new password since: the token is void.
        raise _unauthenticated("the access token is no longer valid: get a new one")
    refused = entry_rule.refusal(get_settings(request), row)
    if refused is not None:
        raise _unauthenticated(refused)
    if row.directory == "ldap":
        # A JWT lets a script act for its user as a Conveyor token does: the directory is
        # asked again, so a user removed from a group loses what the group gave.
        rechecked = directory_recheck.token_user(request, row)
        if rechecked is None:
            raise _unauthenticated("the directory no longer grants this token's user a role")
        row = rechecked
    with store.read() as conn:
        named = user_rows.named_roles(conn, row.username)
    return User(row.username, row.role, via_token=True, named_roles=named)


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
    with get_store(request).read() as conn:
        named = user_rows.named_roles(conn, outcome.row.username)
    return User(outcome.row.username, outcome.row.role, via_token=True, named_roles=named)


def need(role: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the caller, with at least ``role``'s rights (403 otherwise). For what
    belongs to no DAG (pools, connections, variables, providers)."""

    async def dependency(request: Request) -> User:
        user = await api_user(request)
        if not user.can(role):
            raise HTTPException(
                403, f"user {user.username!r} has role {user.role!r}; this needs {role!r}"
            )
        return user

    dependency.__name__ = f"need_{role}"
    return dependency


def need_dags(action: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency for DAGs and what belongs to them: the caller, let in with ``action``'s
    built-in role or any named role (403 otherwise), then the ``dag_id`` path parameter
    checked as :func:`require_dag` does (``~``, every DAG, is filtered by the route)."""

    async def dependency(request: Request) -> User:
        user = await api_user(request)
        if not dag_access.may_use_dags(user, _dag_action(action)):
            raise HTTPException(
                403,
                f"user {user.username!r} has role {user.role!r}; this needs {action!r} "
                "or a role with DAG permissions",
            )
        dag_id = request.path_params.get("dag_id")
        if isinstance(dag_id, str) and dag_id != "~":
            require_dag(user, dag_id, action)
        return user

    dependency.__name__ = f"need_dags_{action}"
    return dependency


#: DAG routes (DAGs, runs, task instances, XComs, logs, assets, backfills, ...).
Reader = Annotated[User, Depends(need_dags(READ))]
Editor = Annotated[User, Depends(need_dags(EDIT))]
#: Routes on what belongs to no DAG.
Viewer = Annotated[User, Depends(need(READ))]
Operator = Annotated[User, Depends(need(EDIT))]
Administrator = Annotated[User, Depends(need(ADMIN))]


def scope_of(user: User) -> dag_access.DagScope:
    """The DAGs ``user`` may read and edit: what :func:`api_user` worked out (a user built
    elsewhere without named roles: their built-in role's; with some: none, to be safe)."""
    if isinstance(user, ApiUser):
        return user.scope
    if user.can(EDIT):
        return dag_access.EVERY_DAG
    if user.named_roles:
        return _NO_DAG
    return dag_access.DagScope(None if user.can(READ) else frozenset(), frozenset())


def dag_visible(user: User, dag_id: str, action: str = READ) -> bool:
    """Whether ``user`` may see (``READ``) or act on (``EDIT``) DAG ``dag_id``. Acting needs
    seeing too."""
    scope = scope_of(user)
    if not scope.can(dag_id, "read"):
        return False
    return action == READ or scope.can(dag_id, _dag_action(action))


def visible_dag_ids(user: User, dag_ids: Iterable[str], action: str = READ) -> list[str]:
    """Those of ``dag_ids`` that ``user`` may see (or act on), in their order."""
    return [d for d in dag_ids if dag_visible(user, d, action)]


def sees_every_dag(user: User, action: str = READ) -> bool:
    """Whether ``user`` may see (or act on) every DAG: no filter needed."""
    scope = scope_of(user)
    allowed = scope.readable if action == READ else scope.editable
    return scope.readable is None and allowed is None


def require_dag(user: User, dag_id: str, action: str = READ) -> None:
    """404 unless ``user`` may see ``dag_id`` (as for an unknown DAG: it does not exist for
    them), 403 when they may see it but ``action`` is more than reading and not granted."""
    if not dag_visible(user, dag_id, READ):
        raise NotFoundError(f"no DAG {dag_id!r}")  # the words of an unknown DAG
    if action != READ and not dag_visible(user, dag_id, action):
        raise HTTPException(403, f"user {user.username!r} may read DAG {dag_id!r} but not edit it")
