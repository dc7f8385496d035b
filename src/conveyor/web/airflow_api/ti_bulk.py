"""``PATCH /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances``: Airflow's bulk body
over task instances (``~`` in the path: the DAG and run each entity names). ``update``
marks each success or failed and/or sets its note, as the single PATCH does, with its
upstream, downstream, past and future instances if asked; ``create`` and ``delete`` are
refused: a run's task instances are the run's to make, and clearing runs them again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from pydantic import Field

from conveyor.engine.bulk_manual import TaskRef
from conveyor.exceptions import NotFoundError
from conveyor.lifecycle import Actor
from conveyor.web.airflow_api import bulk, ti_marks
from conveyor.web.airflow_api.common import ALL, EDIT, DagIdPath, Editor, RunIdPath, require_dag
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.run_bulk import entity_dag
from conveyor.web.airflow_api.ti_shapes import PatchTaskInstanceBody
from conveyor.web.auth import User
from conveyor.web.deps import get_store

router = APIRouter(tags=["Task Instance"])

Name = Annotated[str, Field(min_length=1, max_length=250)]


class BulkTaskInstanceBody(PatchTaskInstanceBody):
    task_id: Name
    map_index: Annotated[int | None, Field(ge=-1, le=2**31 - 1)] = None
    dag_id: Name | None = None
    dag_run_id: Name | None = None


class _TaskInstanceBulk(bulk.BulkHandler[BulkTaskInstanceBody]):
    noun = "task instances"
    refused = {
        "create": "Conveyor makes a run's task instances as the run goes",
        "delete": "Conveyor does not delete a run's task instances; clear them to run again "
        "(POST /api/v2/dags/{dag_id}/clearTaskInstances) or delete the run",
    }

    def __init__(self, request: Request, user: User, dag_id: str, run_id: str) -> None:
        super().__init__(request)
        self.user = user
        self.dag_id = dag_id
        self.run_id = run_id
        self.refs: dict[str, TaskRef] = {}

    def key_of(self, entity: BulkTaskInstanceBody) -> str:
        dag_id = entity_dag(self.user, self.dag_id, entity.dag_id, entity.task_id)
        run_id = entity.dag_run_id or self.run_id
        if run_id == ALL:
            raise HTTPException(
                400, f"{entity.task_id}: with ~ for the run in the path, name its dag_run_id"
            )
        if self.run_id not in (ALL, run_id):
            raise HTTPException(
                400, f"{entity.task_id}: dag_run_id {run_id!r} is not the path's {self.run_id!r}"
            )
        ti_marks.marking(entity, None)  # a state it cannot take fails the action first
        index = "" if entity.map_index is None else f"[{entity.map_index}]"
        key = f"{dag_id}.{run_id}.{entity.task_id}{index}"  # Airflow's spelling in the answer
        self.refs[key] = TaskRef(dag_id, run_id, entity.task_id, entity.map_index)
        return key

    def existing(self, keys: set[str]) -> set[str]:
        found = set()
        with get_store(self.request).read() as conn:
            for key in keys:
                try:
                    named = ti_marks.named_instances(conn, [self.refs[key]])
                except NotFoundError:  # an unknown run: none of its instances exist
                    named = []
                if named:
                    found.add(key)
        return found

    def update(self, entity: BulkTaskInstanceBody, update_mask: list[str] | None) -> None:
        ref = self.refs[self.key_of(entity)]
        how = ti_marks.marking(entity, update_mask)
        with get_store(self.request).write() as conn:
            ti_marks.apply(conn, [ref], how, Actor(f"user:{self.user.username}"))


@router.patch(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances",
    openapi_extra=differs(
        "new_state success or failed only; create and delete answer 405 entries (clear "
        "instead, or delete the run); an entity without map_index is listed once, as its task"
    ),
)
def bulk_task_instances(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    body: bulk.BulkBody[BulkTaskInstanceBody],
    user: Editor,
) -> bulk.BulkResponse:
    """Mark task instances success or failed and set their notes; each action's answer
    lists the instances done (``dag_id.run_id.task_id[map_index]``) and its error, if any."""
    if dag_id != ALL:
        require_dag(user, dag_id, EDIT)
    return _TaskInstanceBulk(request, user, dag_id, dag_run_id).handle(body)
