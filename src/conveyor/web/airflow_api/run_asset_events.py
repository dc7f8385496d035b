"""``GET /dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents``: the asset events that
triggered a run.

A run the scheduler starts when its DAG's datasets are updated records the events it
consumed in its conf (``dataset_events``, each with its event id); those events are read
back from the store. Any other run was triggered by none: its list is empty. Events made by
a DAG the caller may not see are left out, as in the list of asset events.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from conveyor.scheduler.datasets import RUN_TYPE as DATASET_TRIGGERED
from conveyor.store.reads import assets as asset_reads
from conveyor.store.reads import runs as run_reads
from conveyor.web.airflow_api.assets import AssetEventCollectionResponse, event_response
from conveyor.web.airflow_api.common import DagIdPath, Reader, RunIdPath
from conveyor.web.airflow_api.dag_scope import hidden_dag_ids
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_store

router = APIRouter(tags=["DagRun"])


def consumed_event_ids(run_type: str, conf: dict[str, Any]) -> list[int]:
    """The ids of the dataset events a run consumed, as its conf records them (only a run
    the datasets started: a user's conf may hold anything)."""
    if run_type != DATASET_TRIGGERED:
        return []
    events = conf.get("dataset_events")
    if not isinstance(events, list):
        return []
    return [e["id"] for e in events if isinstance(e, dict) and isinstance(e.get("id"), int)]


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents",
    openapi_extra=differs("created_dagruns is empty"),
)
def get_upstream_asset_events(
    request: Request, dag_id: DagIdPath, dag_run_id: RunIdPath, user: Reader
) -> AssetEventCollectionResponse:
    """The asset events that triggered the run, oldest first."""
    with get_store(request).read() as conn:
        run = run_reads.get_run(conn, dag_id, dag_run_id)
        ids = consumed_event_ids(run.run_type, run.conf)
        if not ids:
            return AssetEventCollectionResponse(asset_events=[], total_entries=0)
        found = asset_reads.EventFilter(
            event_ids=ids, hidden_dag_ids=sorted(hidden_dag_ids(conn, user))
        )
        events, total = asset_reads.list_events(conn, found, [("id", False)], len(ids), 0)
    return AssetEventCollectionResponse(
        asset_events=[event_response(e) for e in events], total_entries=total
    )
