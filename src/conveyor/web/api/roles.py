"""Named roles (admin only): make, list, delete, grant DAG permissions, give to users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from conveyor.store import roles as role_rows
from conveyor.web import accounts, roles
from conveyor.web.api.common import AUTH, Admin
from conveyor.web.deps import get_store

router = APIRouter(tags=["roles"], responses=AUTH)

NO_ROLE: dict[int | str, dict[str, Any]] = {404: {"description": "no such role"}}
RoleName = Annotated[str, Path(max_length=100, pattern=role_rows.NAME.pattern)]


class Permission(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(max_length=50, description="can_read or can_edit")
    resource: str = Field(max_length=300, description="DAG:<dag_id>, or DAGs: every DAG")


class RoleInfo(BaseModel):
    name: str
    permissions: list[Permission]
    users: int = Field(description="how many users hold it")


class RoleList(BaseModel):
    roles: list[RoleInfo]
    built_in: list[str] = Field(description="the built-in roles, not listed above")


class NewRole(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)


class UserRoles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str] = Field(
        max_length=100,
        description="every role the user holds: at most one of admin, op and viewer (none: "
        "public, the named roles only), and named roles",
    )


class HeldRoles(BaseModel):
    username: str
    roles: list[str]


def _info(row: role_rows.RoleRow) -> RoleInfo:
    permissions = [Permission(action=a, resource=r) for a, r in row.permissions]
    return RoleInfo(name=row.name, permissions=permissions, users=row.users)


def _refused(exc: roles.RoleError) -> HTTPException:
    return HTTPException(404 if str(exc).startswith("no role") else 422, str(exc))


@router.get("/roles")
def list_roles(request: Request, user: Admin) -> RoleList:
    found = roles.list_roles(get_store(request))
    return RoleList(roles=[_info(r) for r in found], built_in=["admin", "op", "viewer", "public"])


@router.post("/roles", status_code=201, responses={409: {"description": "the role exists"}})
def create_role(request: Request, body: NewRole, user: Admin) -> RoleInfo:
    store = get_store(request)
    try:
        roles.create_role(store, body.name)
    except roles.RoleError as exc:
        status = 409 if "exists" in str(exc) else 422
        raise HTTPException(status, str(exc)) from None
    return _info(roles.get_role(store, body.name))


@router.get("/roles/{name}", responses=NO_ROLE)
def get_role(request: Request, name: RoleName, user: Admin) -> RoleInfo:
    try:
        return _info(roles.get_role(get_store(request), name))
    except roles.RoleError as exc:
        raise _refused(exc) from None


@router.delete("/roles/{name}", status_code=204, responses=NO_ROLE)
def delete_role(request: Request, name: RoleName, user: Admin) -> Response:
    """Delete a role: its users lose it at once."""
    try:
        roles.delete_role(get_store(request), name)
    except roles.RoleError as exc:
        raise _refused(exc) from None
    return Response(status_code=204)


@router.post("/roles/{name}/permissions", responses=NO_ROLE)
def add_permission(request: Request, name: RoleName, body: Permission, user: Admin) -> RoleInfo:
    """Grant the role ``can_read`` or ``can_edit`` on one DAG or on every DAG."""
    try:
        return _info(roles.add_permission(get_store(request), name, body.action, body.resource))
    except roles.RoleError as exc:
        raise _refused(exc) from None


@router.delete("/roles/{name}/permissions", responses=NO_ROLE)
def remove_permission(request: Request, name: RoleName, body: Permission, user: Admin) -> RoleInfo:
    try:
        return _info(roles.remove_permission(get_store(request), name, body.action, body.resource))
    except roles.RoleError as exc:
        raise _refused(exc) from None


@router.put(
    "/users/{username}/roles",
    responses={404: {"description": "no such user"}, 422: {"description": "unknown role"}},
)
def set_user_roles(
    request: Request,
    username: Annotated[str, Path(max_length=200, pattern=accounts.USERNAME.pattern)],
    body: UserRoles,
    user: Admin,
) -> HeldRoles:
    """Give a user exactly these roles; it holds at once, for their sessions and tokens."""
    try:
        held = accounts.set_roles(get_store(request), username, body.roles)
    except accounts.AccountError as exc:
        message = str(exc)
        status = 404 if message.startswith("no user") else 409 if "last admin" in message else 422
        raise HTTPException(status, message) from None
    return HeldRoles(username=username, roles=held)
