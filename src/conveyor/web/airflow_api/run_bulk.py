"""``PATCH /api/v2/dags/{dag_id}/dagRuns``: Airflow's bulk body over a DAG's runs (``~``:
runs of the DAGs each entity names). ``update`` marks a run success or failed and/or sets
its note, as ``PATCH .../dagRuns/{dag_run_id}`` does; ``delete`` deletes finished runs, as
``DELETE .../dagRuns/{dag_run_id}`` does; ``create`` is refused (trigger a run instead).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor.engine import manual
from conveyor.exceptions import NotFoundError
from conveyor.lifecycle import Actor
from conveyor.logs import delete_try_logs
from conveyor.states import RunPatchStateName, TaskState
from conveyor.store import notes, run_deletion
from conveyor.store.reads import runs as run_reads
from conveyor.web.airflow_api import bulk
from conveyor.web.airflow_api.common import ALL, EDIT, DagIdPath, Editor, require_dag
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.run_shapes import Note
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["DagRun"])

Name = Annotated[str, Field(min_length=1, max_length=250)]


class BulkDAGRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dag_run_id: Name
    dag_id: Name | None = None
    state: RunPatchStateName | None = None
    note: Note = None


def entity_dag(user: User, path_dag: str, named: str | None, what: str) -> str:
    """The DAG an entity is about: the path's, or with ``~`` the one it names; 400 when
    that is unknown or names another DAG than the path, 404/403 as the single routes when
    the user may not see it or not edit it."""
    dag_id = named or path_dag
    if dag_id == ALL:
        raise HTTPException(400, f"{what}: with ~ for the DAG in the path, name its dag_id")
    if path_dag not in (ALL, dag_id):
        raise HTTPException(400, f"{what}: dag_id {dag_id!r} is not the path's {path_dag!r}")
    try:
        require_dag(user, dag_id, EDIT)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    return dag_id


class _RunBulk(bulk.BulkHandler[BulkDAGRunBody]):
    noun = "DAG runs"
    refused = {"create": "Conveyor creates runs by triggering: POST /api/v2/dags/{dag_id}/dagRuns"}

    def __init__(self, request: Request, user: User, dag_id: str, after: BackgroundTasks) -> None:
        super().__init__(request)
        self.user = user
        self.dag_id = dag_id
        self.after = after
        self.runs: dict[str, tuple[str, str]] = {}  # key -> (dag_id, run_id)

    def _key(self, dag_id: str, run_id: str) -> str:
        key = f"{dag_id}.{run_id}"  # Airflow's spelling of a run in the answer
        self.runs[key] = (dag_id, run_id)
        return key

    def key_of(self, entity: BulkDAGRunBody) -> str:
        dag_id = entity_dag(self.user, self.dag_id, entity.dag_id, entity.dag_run_id)
        if entity.state == "queued":
            raise HTTPException(
                400,
                f"{entity.dag_run_id}: Conveyor does not set a run back to queued alone; clear "
                "it (POST /api/v2/dags/{dag_id}/clearDagRuns) to run its tasks again",
            )
        return self._key(dag_id, entity.dag_run_id)

    def delete_key(self, entity: str | BulkDAGRunBody) -> str:
        if isinstance(entity, str):
            return self._key(entity_dag(self.user, self.dag_id, None, entity), entity)
        return self._key(
            entity_dag(self.user, self.dag_id, entity.dag_id, entity.dag_run_id),
            entity.dag_run_id,
        )

    def existing(self, keys: set[str]) -> set[str]:
        found = set()
        with get_store(self.request).read() as conn:
            for key in keys:
                try:
                    run_reads.get_run(conn, *self.runs[key])
                except NotFoundError:
                    continue
                found.add(key)
        return found

    def update(self, entity: BulkDAGRunBody, update_mask: list[str] | None) -> None:
        dag_id, run_id = self.runs[self.key_of(entity)]
        fields = set(update_mask) if update_mask else entity.model_fields_set
        with get_store(self.request).write() as conn:
            if "state" in fields and entity.state is not None:
                actor = Actor(f"user:{self.user.username}")
                manual.mark_run(conn, dag_id, run_id, TaskState(entity.state), actor)
            if "note" in fields:
                notes.set_run_note(conn, dag_id, run_id, entity.note)

    def delete(self, key: str) -> None:
        dag_id, run_id = self.runs[key]
        try:
            with get_store(self.request).write() as conn:
                gone = run_deletion.delete_run(conn, dag_id, run_id)
        except run_deletion.RunNotFinished as exc:
            raise HTTPException(409, str(exc)) from None
        self.after.add_task(delete_try_logs, get_settings(self.request), gone.log_paths)


@router.patch(
    "/dags/{dag_id}/dagRuns",
    openapi_extra=differs(
        "state queued is refused (clear the run instead); a queued or running run is not "
        "deleted (409) and stops its delete action; an entity's dag_id must be the path's"
    ),
)
def bulk_dag_runs(
    request: Request,
    dag_id: DagIdPath,
    body: bulk.BulkBody[BulkDAGRunBody],
    user: Editor,
    after: BackgroundTasks,
) -> bulk.BulkResponse:
    """Mark runs success or failed, set their notes, delete finished runs; each action's
    answer lists the runs done (``dag_id.run_id``) and its error, if it failed."""
    if dag_id != ALL:
        require_dag(user, dag_id, EDIT)
    return _RunBulk(request, user, dag_id, after).handle(body)
