"""``/api/v2/dagStats``: how many runs each DAG has in each state, for the DAGs the caller
may read that have runs; every run state is listed, with 0 where there is none."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from conveyor.states import RunState
from conveyor.store import runs
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads.run_counts import runs_by_dag_and_state
from conveyor.web.airflow_api.common import Reader, sees_every_dag, visible_dag_ids
from conveyor.web.deps import get_store

router = APIRouter(tags=["DagStats"])


class DagStatsStateResponse(BaseModel):
    state: RunState
    count: int


class DagStatsResponse(BaseModel):
    dag_id: str
    dag_display_name: str
    stats: list[DagStatsStateResponse]


class DagStatsCollectionResponse(BaseModel):
    dags: list[DagStatsResponse]
    total_entries: int


@router.get("/dagStats")
def get_dag_stats(
    request: Request,
    user: Reader,
    dag_ids: Annotated[list[str] | None, Query(max_length=1000)] = None,
) -> DagStatsCollectionResponse:
    """Runs by state of each DAG (of ``dag_ids`` only, when given), by DAG id."""
    with get_store(request).read() as conn:
        rows = {r.dag_id: r for r in dag_reads.list_dag_rows(conn, include_inactive=True)}
        wanted: list[str] | None = None
        if dag_ids is not None or not sees_every_dag(user):
            candidates = dag_ids if dag_ids is not None else list(rows)
            wanted = visible_dag_ids(user, candidates)
        counts = runs_by_dag_and_state(conn, wanted)
        found = []
        for dag_id in sorted(counts):
            row = rows.get(dag_id)
            name = runs.serialized_dag(conn, row.version_hash).display_name if row else dag_id
            by_state = counts[dag_id]
            found.append(
                DagStatsResponse(
                    dag_id=dag_id,
                    dag_display_name=name,
                    stats=[
                        DagStatsStateResponse(state=state, count=by_state.get(state.value, 0))
                        for state in RunState
                    ],
                )
            )
    return DagStatsCollectionResponse(dags=found, total_entries=len(found))
