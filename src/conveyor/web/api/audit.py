"""The audit log over the API: who did what, when, from where (op and admin; a user with
named roles: the entries on the DAGs those roles grant)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel
from pydantic.dataclasses import dataclass as pydantic_dataclass

from conveyor.store import audit
from conveyor.web.api.common import AUTH, MAX_INT, DagViewer
from conveyor.web.dag_access import audit_dag_ids
from conveyor.web.deps import get_store

router = APIRouter(tags=["audit"], responses=AUTH)


@pydantic_dataclass(frozen=True)
class AuditEntryInfo(audit.AuditEntry):
    # The store's row as the API shows it, field for field (no docstring: it would become
    # the schema's description in the OpenAPI document).
    pass


class AuditList(BaseModel):
    entries: list[AuditEntryInfo]
    total: int


def audit_filter(
    actor: str | None,
    action: str | None,
    dag_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> audit.AuditFilter:
    """The filter, refusing times without a time zone (the store holds UTC)."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"{name}: give a time zone, e.g. 2026-01-01T00:00:00Z")
    return audit.AuditFilter(actor or None, action or None, dag_id or None, since, until)


@router.get("/audit")
def list_audit(
    request: Request,
    user: DagViewer,
    actor: Annotated[str | None, Query(max_length=200, description="who")] = None,
    action: Annotated[
        str | None, Query(max_length=100, description="an action, or a prefix ending in '.'")
    ] = None,
    dag_id: Annotated[str | None, Query(max_length=250)] = None,
    since: Annotated[
        datetime | None, Query(description="at or after (ISO 8601, with zone)")
    ] = None,
    until: Annotated[datetime | None, Query(description="before (ISO 8601, with zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> AuditList:
    """The audit log, newest first; ``total`` counts every entry that matches."""
    found = audit_filter(actor, action, dag_id, since, until)
    found = replace(found, dag_ids=audit_dag_ids(request, user))
    with get_store(request).read() as conn:
        entries, total = audit.list_entries(conn, found, limit, offset)
    return AuditList(entries=[AuditEntryInfo(**vars(e)) for e in entries], total=total)
