"""The ``/login`` and ``/logout`` pages: a plain form, a session cookie, nothing else.

A failed login says only that the name or password is wrong, never which, and takes the
same argon2 time whether or not the user exists. Failures are counted in the store per user
name and per client address: after ``login_max_failures`` a login there waits (429 with
Retry-After), the wait doubling with each failure after. An attempt is counted before its
password is checked, in a transaction committed at once, so a burst of guesses is counted as
it arrives and no login holds the store's write lock while argon2 runs. At most
``login_concurrent_checks`` argon2 checks run at once per process, so a flood of logins
cannot eat every core.

With ``auth_type = "ldap"`` the same form checks a name no local user holds against the
directory (``conveyor.web.ldap_directory``), after the same throttle and the same argon2
check, so a wrong password and an unknown name still answer alike. With ``"oidc"`` the page
offers the provider's sign-in (``conveyor.web.oidc_login``) and, while
``auth_allow_local_users`` is on, the form for local users.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader
from starlette.concurrency import run_in_threadpool

from conveyor import __version__
from conveyor.store import login_throttle
from conveyor.store import users as user_rows
from conveyor.store.engine import Store
from conveyor.web import (
    auth,
    directory_users,
    entry_rule,
    foreign_hashes,
    ldap_directory,
    oidc_provider,
    sign_in_names,
)
from conveyor.web.audit_trail import note, recorded_by_handler
from conveyor.web.deps import get_settings, get_store, prefixed
from conveyor.web.guards import external_redirect
from conveyor.web.security import hash_password, verify_password

TEMPLATES_DIR = Path(__file__).parent / "templates"
_DUMMY_HASH = hash_password("not a real password")  # verify against it when no such user
_CHECKS_LOCK = threading.Lock()
log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


def _templates(request: Request) -> Any:
    """The UI's renderer when the UI is mounted (so login looks like every page), else ours."""
    state = request.app.state
    ui = getattr(state, "ui", None)
    if ui is not None:
        env = ui.templates.env
        if not getattr(env, "_conveyor_login", False):
            env.loader = ChoiceLoader([env.loader, FileSystemLoader(str(TEMPLATES_DIR))])
            env._conveyor_login = True
        return ui
    templates = getattr(state, "login_templates", None)
    if templates is None:
        templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
        base = get_settings(request).base_url
        templates.env.globals.update(
            url=lambda path: f"{base}/{path.lstrip('/')}",
            static=lambda path: f"{base}/static/{path.lstrip('/')}",
            version=__version__,
        )
        state.login_templates = templates
    return templates


def _render(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    renderer = _templates(request)
    settings = get_settings(request)
    sso = settings.auth_type == "oidc"
    values = {
        "user": None,
        "csrf_token": auth.csrf_token(request),
        "show_form": not sso or settings.auth_allow_local_users,
        "sso_url": _sso_url(request, context.get("next") or "/") if sso else None,
        "sso_name": "single sign-on",
        **context,
    }
    if hasattr(renderer, "render"):
        response: HTMLResponse = renderer.render(request, "login.html", values, status_code)
        return response
    values["base"] = get_settings(request).base_url
    return renderer.TemplateResponse(request, "login.html", values, status_code=status_code)  # type: ignore[no-any-return]


def _sso_url(request: Request, next_path: str) -> str:
    return prefixed(request, "/login/oidc") + "?next=" + quote(auth.safe_next(next_path), safe="/")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    if auth.current_user(request) is not None:
        return RedirectResponse(prefixed(request, auth.safe_next(next)), status_code=303)
    return _render(request, {"next": auth.safe_next(next), "username": "", "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    # Async, so that a login waiting for its turn at argon2 holds no thread of the pool that
    # every other request needs; its store work runs in that pool, briefly.
    target = auth.safe_next(next)
    if not auth.csrf_ok(request, csrf_token):
        return _render(
            request,
            {"next": target, "username": username, "error": "The form expired: try again."},
            status_code=403,
        )
    store = get_store(request)
    keys = _throttle_keys(request, username)
    wait, row = await run_in_threadpool(_reserve, store, keys, _policy(request), username)
    if wait > 0:
        seconds = math.ceil(wait)
        response = _render(
            request,
            {
                "next": target,
                "username": username,
                "error": f"Too many failed logins: try again in {seconds} seconds.",
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    settings = get_settings(request)
    local = row if row is not None and row.directory is None else None
    # argon2 runs for every attempt, local user or not: the time tells nothing.
    valid = await _check_password(request, local.password_hash if local else _DUMMY_HASH, password)
    if local is not None and entry_rule.refusal(settings, local) is not None:
        valid = False
    if local is None and settings.auth_type == "ldap":
        # A local user's name is never looked up in the directory: it cannot take it over.
        return await _ldap_sign_in(request, keys, username, password, target)
    if local is None or not valid:
        return _wrong(request, target, username)
    local = await run_in_threadpool(_succeeded, store, keys, local, password)
    auth.start_session(request, local)
    return RedirectResponse(prefixed(request, target), status_code=303)


def _wrong(request: Request, target: str, username: str) -> HTMLResponse:
    return _render(
        request,
        {"next": target, "username": username, "error": "Wrong username or password."},
        status_code=401,
    )


async def _ldap_sign_in(
    request: Request, keys: list[str], username: str, password: str, target: str
) -> Response:
    settings = get_settings(request)
    store = get_store(request)
    note(request, method="ldap")
    try:
        identity = await run_in_threadpool(
            ldap_directory.authenticate, settings, username, password
        )
    except ldap_directory.DirectoryUnavailableError as exc:
        log.error("LDAP sign-in of %r: %s", username, exc)
        return _render(
            request,
            {
                "next": target,
                "username": username,
                "error": "The directory could not be reached: try again later.",
            },
            status_code=503,
        )
    if identity is None:
        return _wrong(request, target, username)
    recorded_by_handler(request)
    try:
        row = await run_in_threadpool(
            directory_users.sign_in, store, settings, identity, client_address(request)
        )
    except directory_users.SignInRefused:
        return _render(request, refused_context(target, username), status_code=403)
    await run_in_threadpool(_clear, store, keys)
    auth.start_session(request, row)
    return RedirectResponse(prefixed(request, target), status_code=303)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def refused_context(target: str, username: str) -> dict[str, Any]:
    """The login page for a person the directory knows and Conveyor gives no role."""
    error = "Your directory account has no role in Conveyor: ask an admin."
    return {"next": target, "username": username, "error": error}


def _clear(store: Store, keys: list[str]) -> None:
    with store.write() as conn:
        login_throttle.clear(conn, keys)


def _policy(request: Request) -> login_throttle.Policy:
    settings = get_settings(request)
    return login_throttle.Policy(
        settings.login_max_failures,
        settings.login_backoff_seconds,
        settings.login_backoff_max_seconds,
    )


def _reserve(
    store: Store, keys: list[str], policy: login_throttle.Policy, username: str
) -> tuple[float, user_rows.UserRow | None]:
    """The attempt counted (committed at once, before argon2), or the wait; and the user."""
    with store.write(own=True) as conn:
        wait = login_throttle.reserve(conn, keys, policy)
    if wait > 0:
        return wait, None
    with store.read() as conn:
        return 0.0, user_rows.get_user(conn, username)


def _succeeded(
    store: Store, keys: list[str], row: user_rows.UserRow, password: str
) -> user_rows.UserRow:
    """Record the sign-in; a password hash an imported Airflow user brought is replaced by
    Conveyor's own (the same password: sessions and tokens are kept). The user as stored."""
    new_hash = hash_password(password) if foreign_hashes.is_foreign(row.password_hash) else None
    with store.write() as conn:
        login_throttle.clear(conn, keys)
        user_rows.record_login(conn, row.username)
        if new_hash is not None:
            user_rows.replace_hash(conn, row.username, row.password_hash, new_hash)
            return user_rows.get_user(conn, row.username) or row
    return row


def _throttle_keys(request: Request, username: str) -> list[str]:
    """Failures count per person and per client address (the proxy's, when uvicorn
    trusts its X-Forwarded-For, is the browser's). A person is their name as a directory
    compares it (``sign_in_names.matching_key``): ``BoB`` and a full-width ``bob`` wait
    with ``bob``."""
    address = request.client.host if request.client else "unknown"
    return [f"user:{sign_in_names.matching_key(username)}", f"addr:{address}"]


def _check_password(request: Request, password_hash: str, password: str) -> Awaitable[bool]:
    """``verify_password`` in the process's argon2 threads: at most
    ``login_concurrent_checks`` run at once (each takes ~50 ms of CPU and 64 MiB), and the
    logins waiting for a turn wait in the event loop, holding no thread."""
    state = request.app.state
    checks: ThreadPoolExecutor | None = getattr(state, "login_checks", None)
    if checks is None:
        with _CHECKS_LOCK:  # one app may serve from several event loops (test clients do)
            checks = getattr(state, "login_checks", None)
            if checks is None:
                checks = state.login_checks = ThreadPoolExecutor(
                    get_settings(request).login_concurrent_checks, "conveyor-argon2"
                )
    return asyncio.wrap_future(checks.submit(verify_password, password_hash, password))


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    auth.check_csrf(request, csrf_token or request.headers.get(auth.CSRF_HEADER))
    user = auth.current_user(request)
    row = None
    if user is not None and not user.via_token:
        # Ends this session on the server, and every copy of its cookie.
        with get_store(request).write() as conn:
            user_rows.end_sessions(conn, user.username)
            row = user_rows.get_user(conn, user.username)
    request.session.clear()
    settings = get_settings(request)
    if row is not None and row.directory == "oidc" and settings.auth_type == "oidc":
        # Signed out here; the provider's own session ends on its sign-out page.
        try:
            provider_signout = oidc_provider.end_session_url(settings)
        except oidc_provider.ProviderError as exc:
            log.warning("OpenID Connect sign-out: %s", exc)
            provider_signout = None
        if provider_signout:
            return external_redirect(request, provider_signout)
    return RedirectResponse(prefixed(request, "/login"), status_code=303)


def render_login(request: Request, error: str, status_code: int) -> HTMLResponse:
    """The login page with ``error`` (a directory sign-in that went wrong)."""
    return _render(request, {"next": "/", "username": "", "error": error}, status_code)
