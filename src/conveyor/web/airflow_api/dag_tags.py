"""``/api/v2/dagTags``: the tags of the DAGs the caller may read whose file still defines
them, each once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from conveyor.store.reads import dags as dag_reads
from conveyor.web.airflow_api.common import (
    Page,
    Reader,
    TextFilters,
    paged,
    text_filters,
    visible_dag_ids,
)
from conveyor.web.deps import get_store

router = APIRouter(tags=["DAG"])


class DAGTagCollectionResponse(BaseModel):
    tags: list[str]
    total_entries: int


@router.get("/dagTags")
def get_dag_tags(
    request: Request,
    user: Reader,
    page: Annotated[Page, Depends(paged("name"))],
    texts: Annotated[TextFilters, Depends(text_filters("tag_name"))],
) -> DAGTagCollectionResponse:
    """Tags by name, filtered by ``tag_name_pattern`` and ``tag_name_prefix_pattern`` as
    Airflow's other lists (:mod:`.text_match`)."""
    with get_store(request).read() as conn:
        rows = dag_reads.list_dag_rows(conn)
    allowed = set(visible_dag_ids(user, [r.dag_id for r in rows]))
    names = {tag for r in rows if r.dag_id in allowed for tag in r.tags}
    if (match := texts.get("tag_name")) is not None:
        names = {n for n in names if match(n)}
    found = sorted(names)
    return DAGTagCollectionResponse(
        tags=page.apply(found, {"name": lambda n: n}), total_entries=len(found)
    )
