"""Which DAGs a user may read or edit: the one place every route asks.

Built-in roles keep their global meaning: admin and op read and edit every DAG, viewer reads
every DAG. Named roles (``conveyor roles``) give read or edit on the DAGs their permissions
name and on the DAGs whose ``access_control`` names them; a user holding named roles only
(built-in role ``public``) sees nothing else. A DAG a user may not read does not exist for
them: its pages and API answers are 404, as for an unknown id, and it is left out of every
list, count and search. Editing (trigger, clear, mark, pause, notes, deleting runs) a DAG
they may read but not edit is 403.

Routes call :func:`require_dags` (as their user dependency: it checks a ``dag_id`` path
parameter itself), :func:`readable_dag_ids` to filter lists, and :func:`check_dag` for DAG
ids given in a body or query. The cluster's pages (home, workers, assets) ask
:func:`cluster_reader`: whoever may read some DAG sees them, filtered to those DAGs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import HTTPException, Request

from conveyor.exceptions import NotFoundError
from conveyor.store import roles as role_rows
from conveyor.web import auth
from conveyor.web.deps import get_settings, get_store

Action = Literal["read", "edit"]
#: The DAG ids a user may read; None: every DAG (no filter needed).
Readable = frozenset[str] | None
_SCOPE = "conveyor_dag_scope"


@dataclass(frozen=True)
class DagScope:
    """What one user may do on DAGs; ``None``: every DAG."""

    readable: frozenset[str] | None
    editable: frozenset[str] | None
    #: What the named roles alone grant reading (None: every DAG): the audit entries a
    #: user below op may read are those of these DAGs.
    named: frozenset[str] | None = frozenset()

    def can(self, dag_id: str, action: Action) -> bool:
        allowed = self.readable if action == "read" else self.editable
        return allowed is None or dag_id in allowed

    def keep(self, dag_ids: Iterable[str]) -> list[str]:
        """``dag_ids`` without those the user may not read, in their order."""
        return [d for d in dag_ids if self.can(d, "read")]


EVERY_DAG = DagScope(None, None)


class HiddenPage(NotFoundError):
    """A page of a DAG the user may not read: the UI answers with its not-found page, as for
    an unknown id (without the UI, the API's 404)."""

    def __init__(self, message: str, user: auth.User) -> None:
        super().__init__(message)
        self.user = user


def dag_scope(request: Request, user: auth.User) -> DagScope:
    """``user``'s scope, worked out once a request (one query, only for named roles)."""
    cached = getattr(request.state, _SCOPE, None)
    if isinstance(cached, DagScope):
        return cached
    scope = _scope(request, user)
    setattr(request.state, _SCOPE, scope)
    return scope


def _scope(request: Request, user: auth.User) -> DagScope:
    if user.can("op"):
        return EVERY_DAG
    if not user.named_roles:
        return DagScope(None if user.can("viewer") else frozenset(), frozenset())
    with get_store(request).read() as conn:
        grants = role_rows.dag_grants(conn, user.named_roles)
    named = None if grants.read_all else grants.read
    readable = None if user.can("viewer") else named
    editable = None if grants.edit_all else grants.edit
    return DagScope(readable, editable, named)


def readable_dag_ids(request: Request, user: auth.User) -> Readable:
    """The DAG ids ``user`` may read; None: every DAG (no filter needed)."""
    return dag_scope(request, user).readable


def audit_dag_ids(request: Request, user: auth.User) -> frozenset[str] | None:
    """The DAGs whose audit entries ``user`` may read (None: every entry). The audit log is
    an op's; a user with named roles reads the entries of the DAGs those roles grant (only
    entries on a DAG); anyone else is refused (403)."""
    if user.can("op"):
        return None
    if not user.named_roles:
        raise HTTPException(403, f"user {user.username!r} has role {user.role!r}; this needs 'op'")
    named = dag_scope(request, user).named
    if named is not None:
        return named
    with get_store(request).read() as conn:  # every DAG: still only entries on a DAG
        return role_rows.every_dag_id(conn)


def check_dag(request: Request, user: auth.User, dag_id: str, action: Action) -> None:
    """Refuse ``action`` on ``dag_id``: 404 when the user may not read it (as if it did not
    exist), 403 when they may read but not edit it."""
    scope = dag_scope(request, user)
    if not scope.can(dag_id, "read"):
        raise NotFoundError(f"no DAG {dag_id!r}")
    if action == "edit" and not scope.can(dag_id, "edit"):
        raise HTTPException(403, f"user {user.username!r} may read DAG {dag_id!r} but not edit it")


def check_path(request: Request, user: auth.User, action: Action) -> None:
    """Check the request's ``dag_id`` path parameter, when it has one."""
    dag_id = request.path_params.get("dag_id")
    if isinstance(dag_id, str):
        check_dag(request, user, dag_id, action)


def may_use_dags(user: auth.User, action: Action) -> bool:
    """Whether ``user`` gets past the door of a DAG route at all (the DAG is checked next)."""
    return user.can("viewer" if action == "read" else "op") or bool(user.named_roles)


def require_dags(action: Action) -> Callable[[Request], auth.User]:
    """An API dependency for routes on DAGs and what belongs to them: 401 without a user,
    403 without a role that can ``action`` any DAG, then the ``dag_id`` path parameter
    checked (404 / 403)."""

    def dependency(request: Request) -> auth.User:
        user = auth.authenticated(request)
        if not may_use_dags(user, action):
            raise HTTPException(
                403,
                f"user {user.username!r} has role {user.role!r}; this needs "
                f"{'viewer' if action == 'read' else 'op'!r} or a role with DAG permissions",
            )
        auth.check_csrf_unless_token(request, user)
        check_path(request, user, action)
        return user

    dependency.__name__ = f"require_dags_{action}"
    return dependency


def cluster_reader(request: Request, user: auth.User) -> Readable:
    """For a page that shows the whole cluster (home, workers, assets): refuse (403) a user
    who may read no DAG at all by their roles (built-in ``public`` without named roles);
    anyone else sees it with what belongs to DAGs filtered to these, the DAGs they may
    read (None: every DAG), as Airflow shows a user with per-DAG permissions only those
    DAGs' things."""
    if not may_use_dags(user, "read"):
        raise HTTPException(
            403,
            f"user {user.username!r} has role {user.role!r}; this page needs 'viewer' or a "
            "role with DAG permissions",
        )
    return readable_dag_ids(request, user)


def page_dags(request: Request) -> auth.User:
    """A page dependency: the logged-in user (or a redirect to the login page), with the
    ``dag_id`` in the page's path checked for read."""
    user = auth.page_user(request)
    try:
        check_path(request, user, "read")
    except NotFoundError as exc:
        raise HiddenPage(str(exc), user) from None
    return user


def hidden_folder(request: Request, user: auth.User) -> Path | None:
    """The DAG folder's path where import errors show it to this user: None for an admin,
    who runs the installation; else the folder, which is shown relative to it, so its
    install path does not reach every role (as Airflow shows a bundle-relative path)."""
    return None if user.can("admin") else get_settings(request).dags_path
