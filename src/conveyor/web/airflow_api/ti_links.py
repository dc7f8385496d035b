"""Where else to look for a task instance: its extra links
(``GET .../taskInstances/{task_id}/links``) and the URL of an external log viewer
(``GET .../taskInstances/{task_id}/externalLogUrl/{try_number}``).

Conveyor's operators define no extra links (a plugin's ``operator_extra_links`` change only
Airflow's UI and are not loaded): a task instance has none, answered as an empty object.
Its logs are Conveyor's own, read at ``.../logs/{try_number}``: no external viewer is
configured, which Airflow answers with 400.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel

from conveyor.store.reads import tasks as task_reads
from conveyor.web.airflow_api.common import DagIdPath, Reader, RunIdPath, TaskIdPath
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.ti_lookup import MapIndexQuery, instance_or_404
from conveyor.web.deps import get_store

router = APIRouter(tags=["Extra Links"])

BASE = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"


class ExtraLinkCollectionResponse(BaseModel):
    extra_links: dict[str, str | None]
    total_entries: int


class ExternalLogUrlResponse(BaseModel):
    url: str


@router.get(
    BASE + "/links",
    response_model=ExtraLinkCollectionResponse,
    openapi_extra=differs("always empty: Conveyor's operators define no extra links"),
)
def get_extra_links(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    task_id: TaskIdPath,
    user: Reader,
    map_index: MapIndexQuery = -1,
    try_number: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
) -> ExtraLinkCollectionResponse:
    """The task instance's extra links by name: none, as no Conveyor operator has any."""
    with get_store(request).read() as conn:
        _, row = instance_or_404(conn, dag_id, dag_run_id, task_id, map_index)
        unknown_try = (
            try_number is not None
            and try_number != row.try_number
            and task_reads.get_try(conn, row.id, try_number) is None
        )
        if unknown_try:
            raise HTTPException(
                404, f"task instance {task_id!r} has no try {try_number} in this run"
            )
    return ExtraLinkCollectionResponse(extra_links={}, total_entries=0)


@router.get(
    BASE + "/externalLogUrl/{try_number}",
    response_model=ExternalLogUrlResponse,
    tags=["Task Instance"],
    openapi_extra=differs("always 400: Conveyor's logs have no external viewer"),
)
def get_external_log_url(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    task_id: TaskIdPath,
    try_number: Annotated[int, Path(gt=0, le=2**31 - 1)],
    user: Reader,
    map_index: MapIndexQuery = -1,
) -> ExternalLogUrlResponse:
    """Refused with 400 as Airflow refuses it when its log handler has no external viewer."""
    raise HTTPException(
        400,
        "Conveyor keeps task logs itself and has no external log viewer: read this try's log "
        f"at GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/"
        f"{try_number}",
    )
