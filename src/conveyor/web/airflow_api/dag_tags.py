"""``/api/v2/dagTags``: the tags of the DAGs the caller may read whose file still defines
them, each once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from conveyor.store.reads import dags as dag_reads
from conveyor.web.airflow_api.common import Page, Pattern, Reader, contains, paged, visible_dag_ids
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
    tag_name_pattern: Pattern = None,
    tag_name_prefix_pattern: Pattern = None,
) -> DAGTagCollectionResponse:
    """Tags by name; ``tag_name_pattern``: a case-insensitive substring (``%`` and ``_``
    are wildcards), ``tag_name_prefix_pattern``: a case-sensitive prefix."""
    with get_store(request).read() as conn:
        rows = dag_reads.list_dag_rows(conn)
    allowed = set(visible_dag_ids(user, [r.dag_id for r in rows]))
    names = {tag for r in rows if r.dag_id in allowed for tag in r.tags}
    if tag_name_pattern:
        match = contains(tag_name_pattern)
        names = {n for n in names if match.search(n)}
    if tag_name_prefix_pattern:
        names = {n for n in names if n.startswith(tag_name_prefix_pattern)}
    found = sorted(names)
    return DAGTagCollectionResponse(
        tags=page.apply(found, {"name": lambda n: n}), total_entries=len(found)
    )
