"""Where else to look for a task instance: its extra links
(``GET .../taskInstances/{task_id}/links``) and the URL of an external log viewer
(``GET .../taskInstances/{task_id}/externalLogUrl/{try_number}``).

The links are the ones the try's process made once the task ran (``airflow_compat/
extra_links.py``: the operator's ``operator_extra_links``, the plugins' for its class and the
global ones), kept as an XCom: the web server imports no user code. A task instance that has
not run yet, or whose operator has no links, answers an empty object (Airflow lists a link
of a task not run yet with a null URL).
Its logs are Conveyor's own, read at ``.../logs/{try_number}``: no external viewer is
configured, which Airflow answers with 400.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel

from conveyor.airflow_compat import extra_links
from conveyor.store import xcom
from conveyor.store.reads import tasks as task_reads
from conveyor.web.airflow_api.common import DagIdPath, Reader, RunIdPath, TaskIdPath
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.ti_lookup import MapIndexQuery
from conveyor.web.airflow_api.ti_paths import Links
from conveyor.web.deps import get_store

# Airflow tags the links "Extra Links" and "Task Instance", the external log URL only the latter.
router = APIRouter()

BASE = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"


class ExtraLinkCollectionResponse(BaseModel):
    extra_links: dict[str, str | None]
    total_entries: int


class ExternalLogUrlResponse(BaseModel):
    url: str


@router.get(
    BASE + "/links",
    tags=["Extra Links", "Task Instance"],
    openapi_extra=differs(
        "the links the try made when it ran: none before (Airflow: each name, null)"
    ),
)
def get_extra_links(request: Request, at: Links, user: Reader) -> ExtraLinkCollectionResponse:
    """The task instance's extra links by name, as its try made them."""
    try_number = at.try_number
    with get_store(request).read() as conn:
        run, row = at.find(conn)
        kept = xcom.instance_xcom(conn, run.id, at.task_id, at.map_index, extra_links.XCOM_KEY)
        unknown_try = (
            try_number is not None
            and try_number != row.try_number
            and task_reads.get_try(conn, row.id, try_number) is None
        )
        if unknown_try:
            raise HTTPException(
                404, f"task instance {at.task_id!r} has no try {try_number} in this run"
            )
    links = {
        str(name): (str(url) if url else None) for name, url in sorted(dict(kept or {}).items())
    }
    return ExtraLinkCollectionResponse(extra_links=links, total_entries=len(links))


@router.get(
    BASE + "/externalLogUrl/{try_number}",
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
