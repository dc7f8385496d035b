"""``POST /api/v2/assets/{asset_id}/materialize``: queue a run of the one DAG with a task
whose outlets name the asset, as a person's trigger of that DAG would, with run type
``asset_materialization`` (stored as ``runs.ASSET_MATERIALIZE``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor.store import runs
from conveyor.store.engine import Connection
from conveyor.store.reads import assets as asset_reads
from conveyor.store.reads import runs as run_reads
from conveyor.web import asset_graph
from conveyor.web.airflow_api.access import dag_visible
from conveyor.web.airflow_api.assets import AssetId
from conveyor.web.airflow_api.common import EDIT, Reader
from conveyor.web.airflow_api.dag_runs import queue_on_demand_run
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.run_shapes import DAGRunResponse, Note, dag_run_response
from conveyor.web.audit_trail import note_targets
from conveyor.web.deps import get_store
from conveyor.web.strict_json import StrictDict

router = APIRouter(tags=["Asset"])

#: Airflow's run-id prefix of a materializing run.
RUN_ID_PREFIX = "asset_materialization"


class MaterializeAssetBody(BaseModel):
    """Airflow's trigger fields, all optional (``logical_date`` null: now)."""

    model_config = ConfigDict(extra="forbid")

    dag_run_id: str | None = Field(default=None, min_length=1, max_length=250)
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    logical_date: datetime | None = None
    run_after: datetime | None = None
    conf: StrictDict | None = None
    note: Note = None
    partition_key: str | None = None


def materializing_dags(conn: Connection, asset_id: int) -> list[str]:
    """The DAGs (of their current versions) with a task whose outlets name the asset; none
    for an unknown id or an alias's."""
    row = next((r for r in asset_reads.asset_rows(conn) if r.id == asset_id), None)
    if row is None or row.is_alias:
        return []
    summary = next((s for s in asset_graph.list_assets(conn).assets if s.uri == row.uri), None)
    return sorted({p.dag_id for p in summary.producers}) if summary else []


@router.post(
    "/assets/{asset_id}/materialize",
    openapi_extra=differs(
        "data_interval_start, data_interval_end and run_after are refused "
        "(400), as in a trigger: Conveyor sets them from logical_date; run_type is "
        "asset_materialization, stored as asset_materialize"
    ),
    responses={
        400: {"description": "Bad Request"},
        404: {"description": "Not Found"},
        409: {"description": "Conflict"},
    },
)
def materialize_asset(
    request: Request,
    asset_id: AssetId,
    user: Reader,
    body: Annotated[MaterializeAssetBody | None, Body()] = None,
) -> DAGRunResponse:
    """Queue a run of the DAG that produces the asset; 404 when none does, 409 when more
    than one does, 403 when the caller may not trigger it. Answers 200 with the run."""
    given = body or MaterializeAssetBody()
    store = get_store(request)
    with store.read() as conn:
        dag_ids = materializing_dags(conn, asset_id)
    if not dag_ids:
        raise HTTPException(404, f"No Dag materializes asset with ID: {asset_id}")
    if len(dag_ids) > 1:
        raise HTTPException(409, f"More than one Dag materializes asset with ID: {asset_id}")
    dag_id = dag_ids[0]
    if not dag_visible(user, dag_id, EDIT):
        raise HTTPException(
            403,
            f"User is not authorized to trigger a run for Dag: {dag_id} that materializes "
            "this asset",
        )
    run_id = queue_on_demand_run(
        request,
        dag_id,
        given,
        user,
        refused_because="Conveyor sets an on-demand run's interval and due time from its "
        "logical_date; send logical_date (and partition_key) only",
        run_type=runs.ASSET_MATERIALIZE,
        run_id_prefix=RUN_ID_PREFIX,
    )
    # The DAG is the asset's producer, not in the path: the entry names it.
    note_targets(request, [(dag_id, f"{dag_id}/{run_id}", {"asset_id": asset_id})])
    with store.read() as conn:
        return dag_run_response(conn, run_reads.get_run(conn, dag_id, run_id))
