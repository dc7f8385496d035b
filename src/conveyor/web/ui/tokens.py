"""The "API tokens" page: a user lists, creates and revokes their own tokens.

Plain forms posted with the session's CSRF token, no script: a new token is shown once on
the page that answers the form, and never again (only its hash is kept).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conveyor.clock import utcnow
from conveyor.web import accounts
from conveyor.web.api.common import MAX_INT
from conveyor.web.auth import User, check_csrf
from conveyor.web.deps import get_settings, get_store
from conveyor.web.ui.page import PageResult, Pages, PageUser, nav_entry, render

pages = Pages()
router = pages.router
nav_entry("Tokens", "/tokens", order=80)


def _context(request: Request, user: User, **context: Any) -> dict[str, Any]:
    rows = accounts.list_tokens(get_store(request), user.username)
    return {
        "tokens": rows,
        "now": utcnow(),
        "default_days": get_settings(request).token_expiry_days,
        "max_days": accounts.MAX_TOKEN_LIFETIME.days,
        "created": None,
        "error": None,
        **context,
    }


def _render(request: Request, user: User, status: int, **context: Any) -> HTMLResponse:
    """The page answering a form: the list again, with what the form made or why not."""
    return render(
        request, "tokens.html", user, status, nav="tokens", **_context(request, user, **context)
    )


@pages.page("/tokens", "tokens.html", nav="tokens")
def tokens_page(request: Request, user: PageUser) -> PageResult:
    return _context(request, user)


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
    return RedirectResponse(request.app.state.ui.url("/tokens"), status_code=303)
