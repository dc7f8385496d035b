"""Task instances across every DAG and run: the list behind the ``/task-instances`` page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from conveyor.store.reads.runs import Window
from conveyor.store.reads.task_lists import TI_ORDERS, TaskInstanceFilter
from conveyor.web import queries, schemas
from conveyor.web.api import listing
from conveyor.web.api.common import AUTH, DagViewer
from conveyor.web.dag_access import readable_dag_ids
from conveyor.web.deps import get_store

router = APIRouter(tags=["task instances"], responses=AUTH)


@router.get("/task-instances")
def list_task_instances(
    request: Request,
    user: DagViewer,
    dates: Annotated[Window, Depends(listing.window)],
    state: listing.States = None,
    dag_id: listing.OneDag = None,
    dag_id_pattern: listing.Part = None,
    run_id: Annotated[str | None, Query(max_length=250, description="one run")] = None,
    task_id_pattern: listing.Part = None,
    order_by: Annotated[
        str,
        Query(
            max_length=20,
            description="run (newest run first with -run), start_date, end_date, dag_id, "
            "task_id or state; '-' first for descending",
        ),
    ] = "-run",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: listing.Offset = 0,
) -> schemas.ListedTaskInstances:
    """Task instances of every DAG; ``logical_date_*`` bounds are their runs' logical dates,
    ``start_date_*`` and ``end_date_*`` their own; ``total`` counts all that match."""
    where = TaskInstanceFilter(
        dag_id=dag_id,
        dag_id_pattern=dag_id_pattern,
        run_id=run_id,
        task_id_pattern=task_id_pattern,
        states=listing.states(state, listing.TASK_STATES, "task"),
        window=dates,
        dag_ids=readable_dag_ids(request, user),
    )
    order = listing.order(order_by, TI_ORDERS, "task instances")
    with get_store(request).read() as conn:
        return queries.list_all_task_instances(conn, where, order=order, limit=limit, offset=offset)
