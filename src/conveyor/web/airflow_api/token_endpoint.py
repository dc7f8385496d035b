"""``POST /auth/token``: a user name and password in, an access token for ``/api/v2`` out.

As Airflow 3's auth managers take it: a JSON or form body with ``username`` and
``password``, answered 201 with ``{"access_token": "<JWT>"}``. ``/auth/token/cli`` (what
``airflowctl auth login`` calls) answers the same. Failures are throttled as the login
page's are, and a local user is let in only when the login page would let them in
(``conveyor.web.entry_rule``). With ``auth_type = "ldap"`` a directory user gets one with
their directory password (signed in as at the login form); it is asked of the directory
again on the schedule of their sessions and tokens (``conveyor.web.directory_recheck``).
Each token issued is written to the audit log (``token.issue``, the user as actor and
target).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from conveyor import strict_json
from conveyor.web import auth
from conveyor.web.airflow_api import jwt_tokens
from conveyor.web.airflow_api.passwords import check_login
from conveyor.web.audit_trail import note
from conveyor.web.deps import get_settings

router = APIRouter(tags=["auth"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class LoginResponse(BaseModel):
    access_token: str


async def _login_body(request: Request) -> LoginBody:
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    fields: Any
    if kind == "application/x-www-form-urlencoded":
        fields = dict(await request.form())
    elif kind in ("application/json", ""):
        try:
            fields = strict_json.loads(await request.body() or b"null")
        except ValueError as exc:
            raise HTTPException(400, f"the body is not valid JSON: {exc}") from None
    else:
        raise HTTPException(
            415, "send the body as application/json or application/x-www-form-urlencoded"
        )
    try:
        return LoginBody.model_validate(fields)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


async def _create_token(request: Request) -> LoginResponse:
    body = await _login_body(request)
    outcome = await check_login(request, body.username, body.password, directory=True)
    if outcome.wait > 0:
        raise HTTPException(
            429,
            f"too many failed logins: try again in {outcome.retry_after} seconds",
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if outcome.row is None:
        raise HTTPException(401, "Invalid credentials")
    note(request, target=outcome.row.username, actor=outcome.row.username)
    token = jwt_tokens.issue(
        get_settings(request),
        outcome.row.username,
        auth.password_fingerprint(outcome.row.password_hash),
    )
    return LoginResponse(access_token=token)


@router.post(
    "/auth/token",
    status_code=201,
    response_model=LoginResponse,
    responses={401: {"description": "wrong username or password"}},
)
async def create_access_token(request: Request) -> LoginResponse:
    """An access token for ``/api/v2``: send it as ``Authorization: Bearer <token>``; it
    expires after ``api_jwt_expiry_seconds``."""
    return await _create_token(request)


@router.post("/auth/token/cli", status_code=201, response_model=LoginResponse)
async def create_cli_access_token(request: Request) -> LoginResponse:
    """The same as ``POST /auth/token``, where ``airflowctl auth login`` asks for it."""
    return await _create_token(request)
