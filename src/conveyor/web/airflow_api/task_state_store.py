"""``/api/v2/.../taskInstances/{task_id}/state-store``: read, set, change and delete the
values a task instance keeps across its tries (Airflow 3.3's task state store).

Reading needs read access to the DAG, writing edit access. Reads answer what is stored (an
empty list, or the key's 404, for an instance that does not exist, as Airflow does); writes
need the instance, else 404. Keys may hold ``/``. ``expires_at`` of a PUT: ``"default"``
(``[state_store] default_retention_days`` from now, 0 for never), null (never) or a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict

from conveyor.airflow_compat.configuration import conf
from conveyor.clock import utcnow
from conveyor.exceptions import NotFoundError
from conveyor.store import state_store
from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.web.airflow_api.common import (
    Editor,
    Page,
    Reader,
    RowShape,
    UtcTime,
    fixed_order,
)
from conveyor.web.airflow_api.state_values import KeyPath, checked_value, key_not_found
from conveyor.web.airflow_api.ti_paths import QueriedInstanceAt
from conveyor.web.deps import get_store

router = APIRouter(tags=["Task State Store"])

BASE = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/state-store"
#: A key: the rest of the path, ``/`` and all (Airflow's ``{key:path}``).
KEY = BASE + "/{key:path}"


class TaskStateStoreResponse(RowShape):
    key: str
    value: Any
    updated_at: UtcTime
    expires_at: UtcTime | None


class TaskStateStoreCollectionResponse(BaseModel):
    task_state_store: list[TaskStateStoreResponse]
    total_entries: int


class TaskStateStorePatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any


class TaskStateStoreBody(TaskStateStorePatchBody):
    expires_at: AwareDatetime | Literal["default"] | None = "default"


Instance = Annotated[QueriedInstanceAt, Depends()]


def _run_pk(conn: Connection, at: QueriedInstanceAt) -> int | None:
    try:
        return run_reads.get_run(conn, at.dag_id, at.dag_run_id).id
    except NotFoundError:
        return None


def _instance_run_pk(conn: Connection, at: QueriedInstanceAt, every_index: bool = False) -> int:
    """The run of the task instance (``every_index``: of any instance of the task); 404 in
    Airflow's words when there is none."""
    map_index = None if every_index else at.map_index
    run_pk = _run_pk(conn, at)
    if run_pk is not None and task_reads.instance(conn, run_pk, at.task_id, map_index) is not None:
        return run_pk
    addressed = "all_map_indices=True" if map_index is None else f"map_index={map_index}"
    raise HTTPException(
        404,
        f"Task instance not found for dag_id={at.dag_id!r}, run_id={at.dag_run_id!r}, "
        f"task_id={at.task_id!r}, {addressed}",
    )


def _entry(
    conn: Connection, run_pk: int, at: QueriedInstanceAt, key: str
) -> state_store.TaskStateEntry:
    """The key's entry in the instance's store; Airflow's 404 when it holds none."""
    found = state_store.task_entry(conn, run_pk, at.task_id, at.map_index, key)
    if found is None:
        raise key_not_found("Task", key)
    return found


def _expiry(given: datetime | Literal["default"] | None) -> datetime | None:
    if given != "default":
        return given
    days = conf.getint("state_store", "default_retention_days")
    if days < 0:
        raise HTTPException(
            400,
            f"[state_store] default_retention_days must be >= 0, got {days}. "
            "Set to 0 to disable expiry.",
        )
    return None if days == 0 else utcnow() + timedelta(days=days)


@router.get(BASE)
def list_task_state_store(
    request: Request,
    at: Instance,
    user: Reader,
    page: Annotated[Page, Depends(fixed_order("key"))],
) -> TaskStateStoreCollectionResponse:
    """The instance's values in key order."""
    with get_store(request).read() as conn:
        run_pk = _run_pk(conn, at)
        entries, total = (
            ([], 0)
            if run_pk is None
            else state_store.task_entries(
                conn, run_pk, at.task_id, at.map_index, page.limit, page.offset
            )
        )
    return TaskStateStoreCollectionResponse(
        task_state_store=[TaskStateStoreResponse.model_validate(e) for e in entries],
        total_entries=total,
    )


@router.get(KEY)
def get_task_state_store(
    request: Request, at: Instance, key: KeyPath, user: Reader
) -> TaskStateStoreResponse:
    with get_store(request).read() as conn:
        run_pk = _run_pk(conn, at)
        if run_pk is None:
            raise key_not_found("Task", key)
        return TaskStateStoreResponse.model_validate(_entry(conn, run_pk, at, key))


@router.put(KEY, status_code=204)
def set_task_state_store(
    request: Request, at: Instance, key: KeyPath, body: TaskStateStoreBody, user: Editor
) -> Response:
    """Create or overwrite the key."""
    value = checked_value(body.value)
    expires_at = _expiry(body.expires_at)
    with get_store(request).write() as conn:
        run_pk = _instance_run_pk(conn, at)
        state_store.set_task_value(conn, run_pk, at.task_id, at.map_index, key, value, expires_at)
    return Response(status_code=204)


@router.patch(KEY)
def patch_task_state_store(
    request: Request, at: Instance, key: KeyPath, body: TaskStateStorePatchBody, user: Editor
) -> None:
    """Change the value of a key the instance has, keeping when it expires."""
    value = checked_value(body.value)
    with get_store(request).write() as conn:
        run_pk = _instance_run_pk(conn, at)
        expires_at = _entry(conn, run_pk, at, key).expires_at
        state_store.set_task_value(conn, run_pk, at.task_id, at.map_index, key, value, expires_at)


@router.delete(KEY, status_code=204)
def delete_task_state_store(request: Request, at: Instance, key: KeyPath, user: Editor) -> Response:
    """Delete one key; nothing happens when the instance has none."""
    with get_store(request).write() as conn:
        run_pk = _instance_run_pk(conn, at)
        state_store.delete_task_value(conn, run_pk, at.task_id, at.map_index, key)
    return Response(status_code=204)


@router.delete(BASE, status_code=204)
def clear_task_state_store(
    request: Request,
    at: Instance,
    user: Editor,
    all_map_indices: Annotated[bool, Query()] = False,
) -> Response:
    """Delete every key of the instance; ``all_map_indices``: of every instance of the
    task (``map_index`` is then ignored)."""
    chosen = None if all_map_indices else at.map_index
    with get_store(request).write() as conn:
        run_pk = _instance_run_pk(conn, at, every_index=all_map_indices)
        state_store.clear_task_values(conn, run_pk, at.task_id, chosen)
    return Response(status_code=204)
