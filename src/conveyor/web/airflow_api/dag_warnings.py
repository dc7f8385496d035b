"""``/api/v2/dagWarnings``: the DAGs whose tasks name a pool that does not exist (Airflow's
``non-existent pool`` warning). Such a task waits until an admin creates the pool; the
warning says so before it runs. Computed on each request from the DAGs' current versions
and the pools; the timestamp is when the store first saw the version that names the pool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from conveyor.store import pools, runs
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import versions as version_reads
from conveyor.web.airflow_api.common import Page, Reader, paged, utc
from conveyor.web.airflow_api.dag_scope import hidden_dag_ids
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_store

router = APIRouter(tags=["DagWarning"])

WarningType = Literal["asset conflict", "non-existent pool", "runtime varying value"]
NO_POOL: WarningType = "non-existent pool"


class DAGWarningResponse(BaseModel):
    dag_id: str
    warning_type: WarningType
    message: str
    timestamp: datetime
    dag_display_name: str


class DAGWarningCollectionResponse(BaseModel):
    dag_warnings: list[DAGWarningResponse]
    total_entries: int


def _warnings(request: Request, user: Any) -> list[DAGWarningResponse]:
    found = []
    with get_store(request).read() as conn:
        existing = {p.name for p in pools.list_pools(conn)}
        hidden = hidden_dag_ids(conn, user)
        for row in dag_reads.list_dag_rows(conn):
            if row.dag_id in hidden:
                continue
            structure = runs.serialized_dag(conn, row.version_hash)
            missing = sorted({t.pool for t in structure.tasks.values()} - existing)
            if not missing:
                continue
            seen = version_reads.version_row(conn, row.dag_id, row.version_hash).created_at
            found.append(
                DAGWarningResponse(
                    dag_id=row.dag_id,
                    warning_type=NO_POOL,
                    message=f"Dag '{row.dag_id}' references non-existent pools: {missing}",
                    timestamp=utc(seen) or seen,
                    dag_display_name=row.dag_id,
                )
            )
    return found


ORDER_FIELDS: dict[str, Any] = {
    "dag_id": lambda w: w.dag_id,
    "warning_type": lambda w: w.warning_type,
    "message": lambda w: w.message,
    "timestamp": lambda w: w.timestamp,
}


@router.get(
    "/dagWarnings",
    openapi_extra=differs("only non-existent pool warnings, worked out on each request"),
)
def list_dag_warnings(
    request: Request,
    user: Reader,
    page: Annotated[Page, Depends(paged("dag_id"))],
    dag_id: Annotated[str | None, Query(max_length=250)] = None,
    warning_type: WarningType | None = None,
) -> DAGWarningCollectionResponse:
    found = [
        w
        for w in _warnings(request, user)
        if (dag_id is None or w.dag_id == dag_id)
        and (warning_type is None or w.warning_type == warning_type)
    ]
    return DAGWarningCollectionResponse(
        dag_warnings=page.apply(found, ORDER_FIELDS), total_entries=len(found)
    )
