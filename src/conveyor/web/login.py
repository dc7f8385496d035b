"""The ``/login`` and ``/logout`` pages: a plain form, a session cookie, nothing else.

A failed login says only that the name or password is wrong, never which, and takes the
same argon2 time whether or not the user exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from conveyor import __version__
from conveyor.store import users as user_rows
from conveyor.web import auth
from conveyor.web.deps import get_settings, get_store, prefixed
from conveyor.web.security import hash_password, verify_password

TEMPLATES_DIR = Path(__file__).parent / "templates"
_DUMMY_HASH = hash_password("not a real password")  # verify against it when no such user

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
    values = {"user": None, "csrf_token": auth.csrf_token(request), **context}
    if hasattr(renderer, "render"):
        response: HTMLResponse = renderer.render(request, "login.html", values, status_code)
        return response
    values["base"] = get_settings(request).base_url
    return renderer.TemplateResponse(request, "login.html", values, status_code=status_code)  # type: ignore[no-any-return]


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    if auth.current_user(request) is not None:
        return RedirectResponse(prefixed(request, auth.safe_next(next)), status_code=303)
    return _render(request, {"next": auth.safe_next(next), "username": "", "error": None})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    target = auth.safe_next(next)
    if not auth.csrf_ok(request, csrf_token):
        return _render(
            request,
            {"next": target, "username": username, "error": "The form expired: try again."},
            status_code=403,
        )
    store = get_store(request)
    with store.read() as conn:
        row = user_rows.get_user(conn, username)
    valid = verify_password(row.password_hash if row else _DUMMY_HASH, password)
    if row is None or not valid:
        return _render(
            request,
            {"next": target, "username": username, "error": "Wrong username or password."},
            status_code=401,
        )
    with store.write() as conn:
        user_rows.record_login(conn, row.username)
    auth.start_session(request, row.username, row.password_hash)
    return RedirectResponse(prefixed(request, target), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    auth.check_csrf(request, csrf_token or request.headers.get(auth.CSRF_HEADER))
    request.session.clear()
    return RedirectResponse(prefixed(request, "/login"), status_code=303)
