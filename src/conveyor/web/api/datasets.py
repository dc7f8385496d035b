"""Datasets over the API: every dataset with its newest update and the DAGs it schedules."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from conveyor.store import datasets
from conveyor.web.api.common import AUTH, DagViewer
from conveyor.web.dag_access import readable_dag_ids
from conveyor.web.deps import get_store
from conveyor.web.schemas import from_row

router = APIRouter(tags=["datasets"], responses={**AUTH})


class DatasetEventInfo(BaseModel):
    source_dag_id: str
    source_run_id: str
    source_task_id: str
    source_map_index: int = Field(description="-1 unless a mapped task's instance updated it")
    at: datetime
    extra: dict[str, Any] = Field(
        default_factory=dict, description="what the task set in outlet_events (or yielded)"
    )
    source_alias: str | None = Field(
        default=None, description="the asset alias the event was emitted through, if any"
    )


class DatasetInfo(BaseModel):
    uri: str
    created_at: datetime
    events: int = Field(description="how many updates were recorded")
    last_event: DatasetEventInfo | None
    consumers: list[str] = Field(description="DAGs scheduled on this dataset")


class DatasetList(BaseModel):
    datasets: list[DatasetInfo]


@router.get("/datasets")
def list_datasets(request: Request, user: DagViewer) -> DatasetList:
    """Every dataset; of a user who may read only some DAGs, those these DAGs consume or
    emitted events of, with only their events and their consumers."""
    readable = readable_dag_ids(request, user)
    with get_store(request).read() as conn:
        found = datasets.list_datasets(conn, readable)
    if readable is not None:
        found = [
            replace(d, consumers=[c for c in d.consumers if c in readable])
            for d in found
            if d.events or readable.intersection(d.consumers)
        ]
    return DatasetList(datasets=[from_row(DatasetInfo, d) for d in found])
