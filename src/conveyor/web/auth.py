"""Who is asking, and may they: sessions, API tokens, roles and CSRF.

Browsers log in with a form and then carry a signed, HttpOnly, SameSite=Lax session
cookie; every state-changing request made with that cookie must echo the session's CSRF
token (``X-CSRF-Token`` header from JavaScript, ``csrf_token`` field from forms). Scripts
send ``Authorization: Bearer <token>`` instead and need no CSRF token, since a browser
never adds that header by itself.

The user is read from the store on each request, so deleting a user or changing a role
takes effect at once, session or token alike. The cookie is signed, not stored, so what ends
it on the server is the user's session epoch: logging out (or a new password) bumps it, and
every cookie issued before, a copied one too, stops working. API tokens expire. An LDAP
user's token and browser session both ask the directory again on one schedule
(``conveyor.web.directory_recheck``), so a user removed from a group loses what it gave in
both within ``auth_directory_recheck_seconds``. Every way in also asks
``conveyor.web.entry_rule`` whether the user may come in at all.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request

from conveyor.store import users as user_rows
from conveyor.web import directory_recheck, entry_rule
from conveyor.web.deps import get_settings, get_store, prefixed
from conveyor.web.security import hash_token

ROLES = user_rows.ROLES
SESSION_USER = "user"
SESSION_CSRF = "csrf"
SESSION_PASSWORD = "pw"  # a fingerprint of the password hash: a new password ends old sessions
SESSION_EPOCH = "epoch"  # the user's session epoch at login: logout bumps it, ending the session
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class User:
    username: str
    role: str  # admin | op | viewer, or public: no built-in rights
    via_token: bool = False  # authenticated by an API token, not a browser session
    token_id: int | None = None  # that token's id
    named_roles: frozenset[str] = frozenset()  # roles an admin made (web/dag_access.py)

    def can(self, role: str) -> bool:
        """Whether this user's built-in role has ``role``'s rights (admin > op > viewer)."""
        return role in ROLES and self.role in ROLES and ROLES.index(self.role) >= ROLES.index(role)


class LoginRequired(Exception):
    """Raised by :func:`page_user`; the app answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def current_user(request: Request) -> User | None:
    """The user of this request (API token first, then session), or None."""
    if hasattr(request.state, "conveyor_user"):
        cached: User | None = request.state.conveyor_user
        return cached
    user = _resolve_user(request)
    request.state.conveyor_user = user
    return user


def _resolve_user(request: Request) -> User | None:
    store = get_store(request)
    settings = get_settings(request)
    token = _bearer(request)
    if token is not None:
        with store.read() as conn:
            found = user_rows.user_for_token(conn, hash_token(token))
            named = user_rows.named_roles(conn, found[0].username) if found else frozenset()
        if found is None or entry_rule.refusal(settings, found[0]) is not None:
            return None
        row, token_id, last_used = found
        if row.directory == "ldap":
            rechecked = directory_recheck.token_user(request, row)
            if rechecked is None:
                return None
            if rechecked is not row:  # the directory was asked: the roles may have moved
                row = rechecked
                with store.read() as conn:
                    named = user_rows.named_roles(conn, row.username)
        if user_rows.token_needs_touch(last_used):
            # Committed at once: a GET must not hold the write lock for its whole handler.
            with store.write(own=True) as conn:
                user_rows.touch_token(conn, token_id)
        return User(row.username, row.role, via_token=True, token_id=token_id, named_roles=named)
    username = request.session.get(SESSION_USER) if "session" in request.scope else None
    if not isinstance(username, str):
        return None
    with store.read() as conn:
        session_row = user_rows.get_user(conn, username)
        named = user_rows.named_roles(conn, username) if session_row else frozenset()
    if (
        session_row is None
        or entry_rule.refusal(settings, session_row) is not None
        or request.session.get(SESSION_PASSWORD) != password_fingerprint(session_row.password_hash)
        or request.session.get(SESSION_EPOCH) != session_row.session_epoch
    ):  # deleted, given a new password, or logged out since this session logged in
        request.session.clear()
        return None
    if session_row.directory == "ldap":  # asked again on the tokens' schedule
        rechecked = directory_recheck.token_user(request, session_row)
        if rechecked is None:
            request.session.clear()
            return None
        if rechecked is not session_row:
            session_row = rechecked
            with store.read() as conn:
                named = user_rows.named_roles(conn, session_row.username)
    return User(session_row.username, session_row.role, named_roles=named)


def password_fingerprint(password_hash: str) -> str:
    return hash_token(password_hash)[:16]


def start_session(request: Request, row: user_rows.UserRow) -> None:
    """Log ``row``'s user in: a fresh session, so a token planted before login is worthless."""
    request.session.clear()
    request.session[SESSION_USER] = row.username
    request.session[SESSION_PASSWORD] = password_fingerprint(row.password_hash)
    request.session[SESSION_EPOCH] = row.session_epoch
    csrf_token(request)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use (also before login, for the login form)."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def csrf_ok(request: Request, sent: str | None) -> bool:
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected, sent)


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a browser's state-changing request that does not echo the session's token."""
    if not csrf_ok(request, sent):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


def require(role: str) -> Callable[[Request], User]:
    """An API dependency: 401 without a user, 403 without ``role``'s rights or CSRF token."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def dependency(request: Request) -> User:
        user = authenticated(request)
        if not user.can(role):
            raise HTTPException(
                403, f"user {user.username!r} has role {user.role!r}; this needs {role!r}"
            )
        check_csrf_unless_token(request, user)
        if "dag_id" in request.path_params:  # a DAG route: the user's DAG permissions too
            from conveyor.web import dag_access  # it builds on this module

            dag_access.check_path(request, user, "read" if role == "viewer" else "edit")
        return user

    dependency.__name__ = f"require_{role}"
    return dependency


def authenticated(request: Request) -> User:
    """The request's user, or 401."""
    user = current_user(request)
    if user is None:
        raise HTTPException(
            401,
            "login required: log in or send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def check_csrf_unless_token(request: Request, user: User) -> None:
    """A browser session's state-changing request must echo the CSRF token."""
    if not user.via_token and request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))


def safe_next(path: str | None) -> str:
    """A post-login target inside this app: a relative path, never another site."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def page_user(request: Request) -> User:
    """A page dependency: the logged-in user, or a redirect to ``/login?next=<this page>``."""
    user = current_user(request)
    if user is None:
        base = request.scope.get("root_path", "")
        path = request.url.path
        if base and path.startswith(base):
            path = path[len(base) :] or "/"
        if request.url.query:
            path += "?" + request.url.query
        raise LoginRequired(path)
    return user


def require_page(role: str) -> Callable[[Request], User]:
    """A page dependency for pages only ``role`` may see: login redirect, then 403."""

    def dependency(request: Request) -> User:
        user = page_user(request)
        if not user.can(role):
            raise HTTPException(403, f"this page needs the {role!r} role")
        if "dag_id" in request.path_params:
            from conveyor.web import dag_access  # it builds on this module

            dag_access.check_path(request, user, "read")
        return user

    return dependency


def login_url(request: Request, next_path: str) -> str:
    return prefixed(request, "/login") + "?next=" + quote(safe_next(next_path), safe="/")
