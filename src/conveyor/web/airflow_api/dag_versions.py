"""``/api/v2/dags/{dag_id}/dagVersions``: the versions of a DAG the store saw.

Conveyor names a version by the hash of its serialized DAG; Airflow numbers a DAG's
versions from 1 and gives each a UUID. Here ``version_number`` counts the versions in the
order the store first saw them, and ``id`` is the hash's first 128 bits written as a UUID,
so both are the same on every read. The versions come from the DAG folder: the bundle is
``dags-folder``, without a bundle version, as in Airflow's local folder bundle.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from conveyor.exceptions import NotFoundError
from conveyor.store.engine import Connection
from conveyor.store.reads import versions as version_reads
from conveyor.store.reads.versions import VersionRow
from conveyor.web.airflow_api.common import (
    DagIdPath,
    Page,
    Reader,
    paged,
    require_dag,
    utc,
)
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_store

router = APIRouter(tags=["DagVersion"])

BUNDLE = "dags-folder"


class DagVersionResponse(BaseModel):
    id: uuid.UUID
    version_number: int
    dag_id: str
    bundle_name: str | None
    bundle_version: str | None
    created_at: datetime
    dag_display_name: str
    bundle_url: str | None


class DAGVersionCollectionResponse(BaseModel):
    dag_versions: list[DagVersionResponse]
    total_entries: int


def numbered(conn: Connection, dag_id: str) -> list[tuple[int, VersionRow]]:
    """The DAG's versions, oldest first, each with its number; 404 for an unknown DAG."""
    try:
        newest_first = version_reads.versions_of(conn, dag_id)
    except NotFoundError:
        raise HTTPException(404, f"The Dag with ID: `{dag_id}` was not found") from None
    return list(enumerate(reversed(newest_first), start=1))


def version_uuid(version_hash: str) -> uuid.UUID:
    return uuid.UUID(hex=version_hash[:32].ljust(32, "0"))


def _response(number: int, row: VersionRow) -> DagVersionResponse:
    return DagVersionResponse(
        id=version_uuid(row.version_hash),
        version_number=number,
        dag_id=row.dag_id,
        bundle_name=BUNDLE,
        bundle_version=None,
        created_at=utc(row.created_at) or row.created_at,
        dag_display_name=row.dag_id,
        bundle_url=None,
    )


ORDER_FIELDS: dict[str, Any] = {
    "id": lambda v: v[0],
    "version_number": lambda v: v[0],
    "bundle_name": lambda v: BUNDLE,
    "bundle_version": lambda v: None,
    "created_at": lambda v: v[1].created_at,
}


@router.get(
    "/dags/{dag_id}/dagVersions",
    openapi_extra=differs(
        "version_number counts the versions in the order the store saw them; id is derived "
        "from the version's hash"
    ),
)
def get_dag_versions(
    request: Request,
    dag_id: DagIdPath,
    user: Reader,
    page: Annotated[Page, Depends(paged("id"))],
    version_number: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    bundle_name: Annotated[str | None, Query(max_length=250)] = None,
    bundle_version: Annotated[str | None, Query(max_length=250)] = None,
) -> DAGVersionCollectionResponse:
    """``dag_id`` ``~`` (every DAG) is not served: name the DAG."""
    require_dag(user, dag_id)
    with get_store(request).read() as conn:
        found = numbered(conn, dag_id)
    found = [
        v
        for v in found
        if (version_number is None or v[0] == version_number)
        and (bundle_name is None or bundle_name == BUNDLE)
        and bundle_version is None
    ]
    return DAGVersionCollectionResponse(
        dag_versions=[_response(*v) for v in page.apply(found, ORDER_FIELDS)],
        total_entries=len(found),
    )


@router.get(
    "/dags/{dag_id}/dagVersions/{version_number}",
    openapi_extra=differs("version_number counts the versions in the order the store saw them"),
)
def get_dag_version(
    request: Request,
    dag_id: DagIdPath,
    version_number: Annotated[int, Path(ge=0, le=2**31 - 1)],
    user: Reader,
) -> DagVersionResponse:
    require_dag(user, dag_id)
    with get_store(request).read() as conn:
        found = numbered(conn, dag_id)
    for number, row in found:
        if number == version_number:
            return _response(number, row)
    raise HTTPException(
        404,
        f"The DagVersion with dag_id: `{dag_id}` and version_number: `{version_number}` "
        "was not found",
    )
