"""The "API tokens" page: a user lists, creates and revokes their own tokens.

Plain forms posted with the session's CSRF token, no script: a new token is shown once on
the page that answers the form, and never again (only its hash is kept).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conveyor.clock import utcnow
from conveyor.web import accounts
from conveyor.web.api.common import MAX_INT
from conveyor.web.auth import User, check_csrf, page_user
from conveyor.web.deps import get_settings, get_store
from conveyor.web.ui.rendering import Renderer

router = APIRouter(include_in_schema=False)
PageUser = Annotated[User, Depends(page_user)]


def _render(request: Request, user: User, status_code: int = 200, **context: Any) -> HTMLResponse:
    renderer: Renderer = request.app.state.ui
    rows = accounts.list_tokens(get_store(request), user.username)
    values = {
        "user": user,
        "nav": "tokens",
        "tokens": rows,
        "now": utcnow(),
        "default_days": get_settings(request).token_expiry_days,
        "max_days": accounts.MAX_TOKEN_LIFETIME.days,
        "created": None,
        "error": None,
        **context,
    }
    return renderer.render(request, "tokens.html", values, status_code)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, user: PageUser) -> Response:
    return _render(request, user)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    user: PageUser,
    name: Annotated[str, Form(max_length=200)] = "",
    expires_in_days: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    name = name.strip()
    try:
        days = float(expires_in_days) if expires_in_days.strip() else None
    except ValueError:
        days = -1.0
    if not name:
        return _render(request, user, 422, error="Give the token a name: what is it for?")
    if days is not None and not 0 < days <= accounts.MAX_TOKEN_LIFETIME.days:
        return _render(
            request,
            user,
            422,
            error=f"Expires in: a number of days above 0, at most "
            f"{accounts.MAX_TOKEN_LIFETIME.days}.",
        )
    try:
        token, row = accounts.issue_token(
            get_store(request),
            user.username,
            name,
            timedelta(days=days) if days else None,
            made_with=user.token_id,
            default=timedelta(days=get_settings(request).token_expiry_days),
        )
    except accounts.AccountError as exc:
        return _render(request, user, 422, error=str(exc))
    response = _render(request, user, 201, created={"token": token, "row": row})
    response.headers["Cache-Control"] = "no-store"  # the token is on this page, once
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    user: PageUser,
    token_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    try:
        accounts.revoke_token(get_store(request), token_id, owner=user.username)
    except accounts.AccountError as exc:
        return _render(request, user, 404, error=str(exc))
    renderer: Renderer = request.app.state.ui
    return RedirectResponse(renderer.url("/tokens"), status_code=303)
