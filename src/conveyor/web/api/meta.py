"""Health, version and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from conveyor import __version__
from conveyor.web.auth import User, authenticated, csrf_token
from conveyor.web.health import health_response

router = APIRouter(tags=["meta"])


class Version(BaseModel):
    version: str


class Me(BaseModel):
    username: str
    role: str
    roles: list[str] = Field(default_factory=list, description="the named roles held too")
    via_token: bool
    csrf_token: str | None = Field(
        description="send as X-CSRF-Token on writes made with the session cookie"
    )


@router.get(
    "/health",
    responses={
        200: {"description": "every check passed"},
        503: {"description": "a check failed: the body says which and why"},
    },
)
async def health(request: Request) -> Any:
    """Store, schema, broker and scheduler heartbeats; no login needed."""
    return await health_response(request)


@router.get("/version")
def version() -> Version:
    return Version(version=__version__)


@router.get("/me")
def me(request: Request, user: Annotated[User, Depends(authenticated)]) -> Me:
    """The calling user, and the CSRF token of a browser session."""
    token = None if user.via_token else csrf_token(request)
    return Me(
        username=user.username,
        role=user.role,
        roles=sorted(user.named_roles),
        via_token=user.via_token,
        csrf_token=token,
    )
