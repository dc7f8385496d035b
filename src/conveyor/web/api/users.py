"""Users (admin only) and API tokens (each user their own)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor.store import users as user_rows
from conveyor.web import accounts, queries, schemas
from conveyor.web.api.common import AUTH, Admin, Viewer
from conveyor.web.deps import get_store

router = APIRouter(tags=["users"], responses=AUTH)

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


class CreatedUser(BaseModel):
    username: str
    role: str
    password: str = Field(description="shown once: only its hash is kept")


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="what the token is for")


class CreatedToken(BaseModel):
    name: str
    token: str = Field(description="send as 'Authorization: Bearer <token>'; shown once")


@router.get("/users", response_model=schemas.UserList)
def list_users(request: Request, user: Admin) -> schemas.UserList:
    with get_store(request).read() as conn:
        return queries.list_users(conn)


@router.post(
    "/users",
    response_model=CreatedUser,
    status_code=201,
    responses={409: {"description": "the user exists"}},
)
def create_user(request: Request, body: NewUser, user: Admin) -> CreatedUser:
    try:
        password = accounts.create_user(get_store(request), body.username, body.role, body.password)
    except accounts.AccountError as exc:
        raise HTTPException(409, str(exc)) from None
    return CreatedUser(username=body.username, role=body.role, password=password)


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


@router.post("/tokens", response_model=CreatedToken, status_code=201)
def create_token(request: Request, body: NewToken, user: Viewer) -> CreatedToken:
    """A new API token for the calling user, with the same role."""
    token = accounts.create_token(get_store(request), user.username, body.name)
    return CreatedToken(name=body.name, token=token)
