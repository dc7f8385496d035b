"""``/api/v2/pools``: Airflow's pool routes over Conveyor's pools.

Everyone reads, admins change (as on ``/api/v1``). A pool without a limit of its own has
``slots`` -1, as Airflow writes an unlimited pool, and ``open_slots`` -1; ``default_pool``
without one is limited by ``parallelism`` alone (the tries in flight at once), so it reports
that many slots. Deferred tries
never hold slots in Conveyor, so ``include_deferred`` is false and asking for true is a 422.
A pool with tries scheduled, queued or running is not deleted (409), nor ``default_pool`` (400).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from conveyor.exceptions import NotFoundError
from conveyor.model.task import DEFAULT_POOL
from conveyor.store import pools
from conveyor.store.pools import PoolUsage
from conveyor.web.airflow_api import bulk
from conveyor.web.airflow_api.common import (
    Administrator,
    NoTeam,
    Page,
    UpdateMask,
    Viewer,
    mask_fields,
    unprocessable,
)
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.keyed_entries import EntriesBulk, KeyedEntries, keyed_page
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

router = APIRouter(prefix="/pools", tags=["Pool"])

PoolName = Annotated[str, Path(pattern=r"^[^\x00/]{1,250}$", description="the pool's name")]
PoolPage = Annotated[Page, Depends(keyed_page("pool_name"))]
UNLIMITED = -1
MAX_SLOTS = 2**31 - 1


def _no_deferred(value: bool | None) -> bool | None:
    if value:
        raise ValueError(
            "Conveyor's deferred tries never hold pool slots: include_deferred must be false"
        )
    return value


class PoolBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=250, pattern=r"^[^\x00/]+$")
    slots: int = Field(ge=UNLIMITED, le=MAX_SLOTS, description="-1: no limit")
    description: str | None = Field(default=None, max_length=4000)
    include_deferred: bool = False
    team_name: NoTeam = None

    _deferred = field_validator("include_deferred")(_no_deferred)


class PoolPatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pool: str | None = Field(default=None, max_length=250)
    slots: int | None = Field(default=None, ge=UNLIMITED, le=MAX_SLOTS)
    description: str | None = Field(default=None, max_length=4000)
    include_deferred: bool | None = None
    team_name: NoTeam = None

    _deferred = field_validator("include_deferred")(_no_deferred)


class PoolResponse(BaseModel):
    name: str
    slots: int
    description: str | None
    include_deferred: bool
    occupied_slots: int
    running_slots: int
    queued_slots: int
    scheduled_slots: int
    open_slots: int
    deferred_slots: int
    team_name: str | None = None


class PoolCollectionResponse(BaseModel):
    pools: list[PoolResponse]
    total_entries: int


def _sized(request: Request, usage: PoolUsage) -> PoolUsage:
    """``default_pool`` without a limit of its own holds what ``parallelism`` lets in flight:
    its real size, which Airflow's callers expect to read in ``slots``."""
    if usage.name == DEFAULT_POOL and usage.slots is None:
        return dataclasses.replace(usage, slots=get_settings(request).parallelism)
    return usage


def _response(usage: PoolUsage) -> PoolResponse:
    free = usage.free
    return PoolResponse(
        name=usage.name,
        slots=UNLIMITED if usage.slots is None else usage.slots,
        description=usage.description,
        include_deferred=False,
        occupied_slots=usage.used,
        running_slots=usage.running,
        queued_slots=usage.queued,
        scheduled_slots=usage.scheduled,
        open_slots=UNLIMITED if free is None else free,
        deferred_slots=0,
    )


def _slots(slots: int) -> int | None:
    return None if slots == UNLIMITED else slots


def _set(request: Request, name: str, slots: int | None, description: str | None) -> PoolUsage:
    try:
        with get_store(request).write() as conn:
            pools.set_pool(conn, name, slots, description)
            return pools.get_pool(conn, name)
    except pools.PoolError as exc:
        raise unprocessable(str(exc), "body", "slots" if "slots" in str(exc) else "name") from None


class _Pools(KeyedEntries[PoolUsage]):
    """The store's pools: all of them are stored, so a bulk body finds every one."""

    def get(self, request: Request, key: str) -> PoolUsage | None:
        """The pool as stored (``slots`` None without a limit of its own)."""
        with get_store(request).read() as conn:
            try:
                return pools.get_pool(conn, key)
            except NotFoundError:
                return None

    def listed(self, request: Request) -> list[PoolUsage]:
        """Every pool, ``default_pool`` sized as a list shows and orders it."""
        with get_store(request).read() as conn:
            return [_sized(request, p) for p in pools.list_pools(conn)]

    def delete(self, request: Request, key: str) -> None:
        """Delete the pool of ``key``: 404 when there is none, 409 while tries hold or wait
        for its slots, 400 for ``default_pool``."""
        try:
            with get_store(request).write() as conn:
                pools.delete_pool(conn, key)
        except NotFoundError:
            raise self.not_found(key) from None
        except pools.PoolError as exc:
            status = 400 if key == DEFAULT_POOL else 409
            raise HTTPException(status, str(exc)) from None

    #: A bulk body's delete is refused as the route's is.
    bulk_delete = delete


POOLS = _Pools(
    noun="Pool",
    key_name="name",
    key_of=lambda p: p.name,
    order_fields={
        "id": lambda p: p.name,
        "pool": lambda p: p.name,
        "name": lambda p: p.name,
        "slots": lambda p: UNLIMITED if p.slots is None else p.slots,
        "description": lambda p: p.description,
        "include_deferred": lambda p: False,
    },
)
SIZES_READ = differs(
    "slots -1 is a pool without a limit of its own (default_pool's: parallelism); "
    "deferred_slots is 0 (deferred tries hold no slots)"
)


@router.get("", openapi_extra=SIZES_READ)
def get_pools(request: Request, user: Viewer, page: PoolPage) -> PoolCollectionResponse:
    shown, total = POOLS.page(request, page)
    return PoolCollectionResponse(pools=[_response(p) for p in shown], total_entries=total)


@router.get("/{pool_name}", openapi_extra=SIZES_READ)
def get_pool(request: Request, pool_name: PoolName, user: Viewer) -> PoolResponse:
    return _response(_sized(request, POOLS.existing(request, pool_name)))


@router.post(
    "",
    status_code=201,
    openapi_extra=differs("admins only; include_deferred true is refused (422)"),
    name="put_pool",
)
def post_pool(request: Request, body: PoolBody, user: Administrator) -> PoolResponse:
    POOLS.refuse_existing(request, body.name)
    audit_note(request, target=body.name)
    return _response(
        _sized(request, _set(request, body.name, _slots(body.slots), body.description))
    )


@router.patch(
    "/{pool_name}",
    openapi_extra=differs("admins only; a pool is not renamed (400)"),
    name="put_pool",
)
def patch_pool(
    request: Request,
    pool_name: PoolName,
    body: PoolPatchBody,
    user: Administrator,
    update_mask: UpdateMask = None,
) -> PoolResponse:
    old = POOLS.existing(request, pool_name)
    # team_name: a null one (airflowctl sends every field) changes nothing; a team is a 422.
    known = ("pool", "name", "slots", "description", "include_deferred", "team_name")
    fields = mask_fields(update_mask, known) if update_mask else body.model_fields_set
    if body.pool is not None and body.pool != pool_name and ({"pool", "name"} & fields):
        raise HTTPException(400, "Conveyor does not rename pools: create the new one instead")
    if pool_name == DEFAULT_POOL and fields - {"slots", "include_deferred", "description"}:
        raise HTTPException(400, "Only slots and included_deferred can be modified on Default Pool")
    slots = old.slots
    if "slots" in fields:
        if body.slots is None:
            raise unprocessable("give a whole number, -1 for no limit", "body", "slots")
        slots = _slots(body.slots)
    description = body.description if "description" in fields else old.description
    audit_note(request, target=pool_name)
    return _response(_sized(request, _set(request, pool_name, slots, description)))


@router.delete(
    "/{pool_name}",
    status_code=204,
    openapi_extra=differs(
        "admins only; a pool with tries scheduled, queued or running is refused (409)"
    ),
)
def delete_pool(request: Request, pool_name: PoolName, user: Administrator) -> None:
    POOLS.delete(request, pool_name)
    audit_note(request, target=pool_name)


class _PoolBulk(EntriesBulk[PoolBody]):
    noun = "pools"
    entries = POOLS

    def create(self, entity: PoolBody) -> None:
        _set(self.request, entity.name, _slots(entity.slots), entity.description)

    def update(self, entity: PoolBody, update_mask: list[str] | None) -> None:
        fields = set(update_mask) if update_mask else {"slots", "description"}
        old = POOLS.existing(self.request, entity.name)
        slots = _slots(entity.slots) if "slots" in fields else old.slots
        description = entity.description if "description" in fields else old.description
        _set(self.request, entity.name, slots, description)


@router.patch("", openapi_extra=differs("admins only"))
def bulk_pools(
    request: Request, body: bulk.BulkBody[PoolBody], user: Administrator
) -> bulk.BulkResponse:
    return _PoolBulk(request).handle(body)
