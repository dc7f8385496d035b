"""``/api/v2/dagSources/{dag_id}``: the source of the file a DAG was parsed from, as it
was at its newest version or at ``version_number`` (see :mod:`.dag_versions`). With
``Accept: text/plain`` the answer is the source itself, as in Airflow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from conveyor.store.reads import versions as version_reads
from conveyor.web.airflow_api.common import DagIdPath, Reader, require_dag
from conveyor.web.airflow_api.dag_versions import numbered
from conveyor.web.deps import get_store

router = APIRouter(tags=["DagSource"])


class DAGSourceResponse(BaseModel):
    content: str | None
    dag_id: str
    version_number: int | None
    dag_display_name: str


def _wants_text(accept: str) -> bool:
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if any(k in ("application/json", "*/*", "application/*") for k in kinds):
        return False
    if any(k in ("text/plain", "text/*") for k in kinds):
        return True
    raise HTTPException(
        406, "Content not available for Accept header: answer is JSON or text/plain"
    )


@router.get(
    "/dagSources/{dag_id}",
    response_model=DAGSourceResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_dag_source(
    request: Request,
    dag_id: DagIdPath,
    user: Reader,
    version_number: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    accept: Annotated[str, Header(max_length=1000)] = "*/*",
) -> Any:
    as_text = _wants_text(accept)
    require_dag(user, dag_id)
    with get_store(request).read() as conn:
        versions = numbered(conn, dag_id)
        if not versions:
            raise HTTPException(404, f"The Dag with ID: `{dag_id}` was not found")
        chosen = versions[-1] if version_number is None else None
        for number, row in versions:
            if number == version_number:
                chosen = (number, row)
        if chosen is None:
            raise HTTPException(
                404,
                f"The source code of DAG {dag_id!r}, version_number {version_number} was not found",
            )
        code = version_reads.version_code(conn, dag_id, chosen[1].version_hash)
    if as_text:
        return PlainTextResponse(code.source)
    return DAGSourceResponse(
        content=code.source, dag_id=dag_id, version_number=chosen[0], dag_display_name=dag_id
    )
