"""Users (admin only) and API tokens (each user their own)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from conveyor.store import users as user_rows
from conveyor.web import accounts, queries, schemas
from conveyor.web.api.common import AUTH, MAX_INT, Admin, Viewer
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["users"], responses=AUTH)

NO_USER: dict[int | str, dict[str, Any]] = {404: {"description": "no such user"}}
NO_TOKEN: dict[int | str, dict[str, Any]] = {404: {"description": "no such token of yours"}}
NO_STORE = "no-store"  # answers that carry a secret shown once: kept in no cache
Username = Annotated[str, Path(max_length=200, pattern=accounts.USERNAME.pattern)]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=accounts.USERNAME.pattern, max_length=200)
    role: Literal["admin", "op", "viewer"]
    password: str | None = Field(
        default=None,
        min_length=accounts.MIN_PASSWORD,
        max_length=1000,
        description="default: a generated one, returned once",
    )


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "op", "viewer"]


class CreatedUser(BaseModel):
    username: str
    role: str
    password: str = Field(description="shown once: only its hash is kept")


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="what the token is for")
    expires_in_days: float | None = Field(
        default=None,
        gt=0,
        le=accounts.MAX_TOKEN_LIFETIME.days,
        description="lifetime in days; default: the setting token_expiry_days (90)",
    )


class CreatedToken(schemas.TokenInfo):
    token: str = Field(description="send as 'Authorization: Bearer <token>'; shown once")


@router.get("/users")
def list_users(request: Request, user: Admin) -> schemas.UserList:
    with get_store(request).read() as conn:
        return queries.list_users(conn)


@router.post("/users", status_code=201, responses={409: {"description": "the user exists"}})
def create_user(request: Request, response: Response, body: NewUser, user: Admin) -> CreatedUser:
    response.headers["Cache-Control"] = NO_STORE
    try:
        password = accounts.create_user(get_store(request), body.username, body.role, body.password)
    except accounts.AccountError as exc:
        raise HTTPException(409, str(exc)) from None
    return CreatedUser(username=body.username, role=body.role, password=password)


@router.patch(
    "/users/{username}",
    responses={404: {"description": "no such user"}, 409: {"description": "the last admin"}},
)
def change_user(
    request: Request, username: Username, body: UserChange, user: Admin
) -> schemas.UserInfo:
    """Give a user another role; it holds at once, for their sessions and tokens alike."""
    store = get_store(request)
    with store.read() as conn:
        if user_rows.get_user(conn, username) is None:
            raise HTTPException(404, f"no user {username!r}")
    try:
        accounts.set_role(store, username, body.role)
    except accounts.AccountError as exc:
        raise HTTPException(409, str(exc)) from None
    with store.read() as conn:
        found = next(u for u in queries.list_users(conn).users if u.username == username)
    return found


@router.delete(
    "/users/{username}",
    status_code=204,
    responses={404: {"description": "no such user"}, 409: {"description": "the last admin"}},
)
def delete_user(request: Request, username: Username, user: Admin) -> None:
    store = get_store(request)
    with store.read() as conn:
        if user_rows.get_user(conn, username) is None:
            raise HTTPException(404, f"no user {username!r}")
    try:
        accounts.delete_user(store, username)
    except accounts.AccountError as exc:
        raise HTTPException(409, str(exc)) from None


@router.post("/tokens", status_code=201)
def create_token(
    request: Request, response: Response, body: NewToken, user: Viewer
) -> CreatedToken:
    """A new API token for the calling user, with the same role, expiring in
    ``expires_in_days`` (default: the setting ``token_expiry_days``).

    Asked with an API token, the new token never outlives that one (422 when asked to; by
    default it expires with it at the latest), and revoking that one revokes it."""
    response.headers["Cache-Control"] = NO_STORE
    asked = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    try:
        token, row = accounts.issue_token(
            get_store(request),
            user.username,
            body.name,
            asked,
            made_with=user.token_id,
            default=timedelta(days=get_settings(request).token_expiry_days),
        )
    except accounts.AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    return CreatedToken(**queries.token_info(row).model_dump(), token=token)


@router.get("/tokens", responses=NO_USER)
def list_tokens(
    request: Request,
    user: Viewer,
    username: Annotated[
        str | None,
        Query(max_length=200, description="another user's tokens (admin only); default: yours"),
    ] = None,
) -> schemas.TokenList:
    """The calling user's API tokens (never their values: those were shown once)."""
    owner = _owner(user, username)
    try:
        rows = accounts.list_tokens(get_store(request), owner)
    except accounts.AccountError as exc:
        raise HTTPException(404, str(exc)) from None
    return schemas.TokenList(tokens=[queries.token_info(r) for r in rows])


@router.delete("/tokens/{token_id}", status_code=204, responses=NO_TOKEN)
def revoke_token(
    request: Request, token_id: Annotated[int, Path(ge=1, le=MAX_INT)], user: Viewer
) -> None:
    """Revoke one of the calling user's tokens (an admin: anyone's); it stops working at once."""
    owner = None if user.can("admin") else user.username
    try:
        accounts.revoke_token(get_store(request), token_id, owner)
    except accounts.AccountError as exc:
        raise HTTPException(404, str(exc)) from None


def _owner(user: User, username: str | None) -> str:
    if username is None or username == user.username:
        return user.username
    if not user.can("admin"):
        raise HTTPException(403, "only an admin may list another user's tokens")
    return username
