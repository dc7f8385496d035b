"""``/api/v2/auth/login`` and ``/auth/logout``: where Airflow's clients send a person to
sign in and out, redirected to Conveyor's own pages (307, as Airflow answers).

``next`` is where to go after signing in: a path of this server, or a URL of this host
(taken as its path); another site's is refused with 400. Signing out by this route ends the
caller's browser session as the ``Log out`` button does (every copy of its cookie), then
shows the sign-in page.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from conveyor.store import users as user_rows
from conveyor.web import auth
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_store, prefixed

router = APIRouter(tags=["Login"])


def _local_path(request: Request, target: str) -> str:
    """``target`` as a path of this server; 400 when it leads elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.url.netloc:
            raise HTTPException(400, f"next={target!r} leads to another site; give a path")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    if auth.safe_next(target) != target:
        raise HTTPException(400, f"next={target!r} is not a path of this server")
    return target


#: A redirect's answer has no body, only where to go.
REDIRECT: dict[int | str, dict[str, Any]] = {
    307: {
        "description": "Temporary Redirect",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/auth/login",
    status_code=307,
    response_class=RedirectResponse,
    responses=REDIRECT,
    openapi_extra=differs("to Conveyor's sign-in page, /login"),
)
def login(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> RedirectResponse:
    """To Conveyor's sign-in page, which comes back to ``next``."""
    url = prefixed(request, "/login")
    if next:
        url += "?next=" + quote(_local_path(request, next), safe="/")
    return RedirectResponse(url, status_code=307)


@router.get(
    "/auth/logout",
    status_code=307,
    response_class=RedirectResponse,
    responses=REDIRECT,
    openapi_extra=differs(
        "ends the browser's session, then to /login; a JWT stays valid until it expires"
    ),
)
def logout(request: Request) -> RedirectResponse:
    """Sign the browser's session out (a token caller has none), then to the sign-in page."""
    user = auth.current_user(request)
    if user is not None and not user.via_token:
        with get_store(request).write() as conn:
            user_rows.end_sessions(conn, user.username)
    if "session" in request.scope:
        request.session.clear()
    return RedirectResponse(prefixed(request, "/login"), status_code=307)
