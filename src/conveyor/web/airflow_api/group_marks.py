"""``PATCH /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskGroupInstances/{group_id}`` (and
its ``/dry_run``): mark every task instance of a task group (its nested groups' too)
success or failed and/or set their notes, as the single task instance's PATCH does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from conveyor.engine.bulk_manual import TaskRef
from conveyor.lifecycle import Actor
from conveyor.serialized import SerializedDag
from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api import ti_marks
from conveyor.web.airflow_api.common import (
    EDIT,
    ID_PATTERN,
    DagIdPath,
    Editor,
    RunIdPath,
    dry_run,
    require_dag,
)
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.ti_shapes import PatchTaskInstanceBody, TaskInstanceCollectionResponse
from conveyor.web.auth import User
from conveyor.web.deps import get_store

router = APIRouter(tags=["Task Instance"])

BASE = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskGroupInstances/{group_id}"
GroupIdPath = Annotated[str, Path(max_length=250, pattern=ID_PATTERN)]
Mask = Annotated[list[str] | None, Query(max_length=10)]


@dataclass(frozen=True)
class GroupAt:
    """The task group of a run that the path names (a dependency)."""

    dag_id: DagIdPath
    dag_run_id: RunIdPath
    group_id: GroupIdPath


Group = Annotated[GroupAt, Depends()]


def group_tasks(dag: SerializedDag, group_id: str) -> list[str]:
    """The tasks of the group and of the groups nested in it, in the DAG's order; 404 for a
    group the DAG version does not have."""
    groups = {g["group_id"]: g for g in dag.task_groups}
    if group_id not in groups:
        raise HTTPException(404, f"Task group {group_id!r} not found in DAG {dag.dag_id!r}")
    inside, pending = set(), [group_id]
    while pending:
        group = groups.get(pending.pop(), {})
        inside.update(group.get("tasks", []))
        pending += group.get("groups", [])
    return [task_id for task_id in dag.tasks if task_id in inside]


def _group_refs(conn: Connection, group: GroupAt) -> list[TaskRef]:
    run = run_reads.get_run(conn, group.dag_id, group.dag_run_id)
    present = {r.task_id for r in task_reads.instances(conn, run.id)}
    tasks = group_tasks(serialized_dag(conn, run.version_hash), group.group_id)
    return [TaskRef(group.dag_id, group.dag_run_id, t) for t in tasks if t in present]


def _patch(
    request: Request,
    user: User,
    group: GroupAt,
    body: PatchTaskInstanceBody,
    update_mask: list[str] | None,
    preview: bool,
) -> TaskInstanceCollectionResponse:
    require_dag(user, group.dag_id, EDIT)
    how = ti_marks.marking(body, update_mask)
    store = get_store(request)
    actor = Actor(f"user:{user.username}")
    with store.read() as conn:
        refs = _group_refs(conn, group)
        named = ti_marks.named_instances(conn, refs)

    def change(conn: Connection) -> list[ti_marks.InstanceKey]:
        return ti_marks.marked_keys(ti_marks.apply(conn, refs, how, actor), how)

    # The group's instances and those the mark reaches beyond it (include_*): a preview
    # shows them as they are, the mark as it left them.
    changed = dry_run(store, change) if preview else None
    if changed is None:
        with store.write() as conn:
            changed = change(conn)
    with store.read() as conn:
        found = ti_marks.shown(conn, [*named, *changed])
    return TaskInstanceCollectionResponse(task_instances=found, total_entries=len(found))


SUCCESS_OR_FAILED = differs("new_state success or failed only, as a single task instance's")


@router.patch(BASE, openapi_extra=SUCCESS_OR_FAILED, name="mark_task")
def patch_task_group_instances(
    request: Request,
    group: Group,
    body: PatchTaskInstanceBody,
    user: Editor,
    update_mask: Mask = None,
) -> TaskInstanceCollectionResponse:
    return _patch(request, user, group, body, update_mask, preview=False)


@router.patch(BASE + "/dry_run", openapi_extra=SUCCESS_OR_FAILED)
def patch_task_group_instances_dry_run(
    request: Request, group: Group, body: PatchTaskInstanceBody, user: Editor
) -> TaskInstanceCollectionResponse:
    return _patch(request, user, group, body, None, preview=True)
