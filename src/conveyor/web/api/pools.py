"""Pools over the API: everyone reads them with their usage; admins create, change, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor.store import pools
from conveyor.web import queries, schemas
from conveyor.web.api.common import AUTH, MAX_INT, NOT_FOUND, Admin, Viewer
from conveyor.web.deps import get_store

router = APIRouter(tags=["pools"], responses={**AUTH, **NOT_FOUND})

PoolName = Annotated[str, Path(pattern=r"^[^\x00/]{1,250}$", description="the pool's name")]


class PoolBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slots: int | None = Field(ge=0, le=MAX_INT, description="null: no limit of its own")
    description: str | None = Field(default=None, max_length=4000)


@router.get("/pools")
def list_pools(request: Request, user: Viewer) -> schemas.PoolList:
    with get_store(request).read() as conn:
        return queries.list_pools(conn)


@router.get("/pools/{name}")
def get_pool(request: Request, name: PoolName, user: Viewer) -> schemas.PoolInfo:
    with get_store(request).read() as conn:
        return queries.pool_info(pools.get_pool(conn, name))


@router.put("/pools/{name}")
def put_pool(request: Request, name: PoolName, body: PoolBody, user: Admin) -> schemas.PoolInfo:
    """Create the pool or change its slots (and description, when given)."""
    try:
        with get_store(request).write() as conn:
            pools.set_pool(conn, name, body.slots, body.description)
            return queries.pool_info(pools.get_pool(conn, name))
    except pools.PoolError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/pools/{name}", status_code=204)
def delete_pool(request: Request, name: PoolName, user: Admin) -> None:
    """Refused (409) for default_pool and for a pool with tries scheduled or in flight."""
    try:
        with get_store(request).write() as conn:
            pools.delete_pool(conn, name)
    except pools.PoolError as exc:
        raise HTTPException(409, str(exc)) from None
