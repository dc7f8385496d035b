"""``/api/v2/.../xcomEntries``: list (``~`` for any DAG, run or task), get, add, change
and delete XCom values. Values are as stored, what Airflow's serialization writes (strict
JSON), and shown masked where they hold a secret, as everywhere a person reads them. A value
given here may not hold the keys of that written form (``xcom_serde.RESERVED_KEYS``): a task
pulling it would read back an object of a class the request named."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from conveyor import xcom_serde
from conveyor.store import xcom as xcom_rows
from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.reads import xcom_entries
from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.xcom_entries import XComEntryFilter, XComEntryRow
from conveyor.store.runs import serialized_dag
from conveyor.strict_json import NotStrictJson
from conveyor.web.airflow_api.common import (
    ALL,
    EDIT,
    DagIdPath,
    Editor,
    Page,
    Reader,
    RunIdPath,
    TaskIdPath,
    TextFilters,
    bounds,
    paged,
    require_dag,
    text_filters,
    unprocessable,
    utc,
)
from conveyor.web.airflow_api.run_shapes import run_after
from conveyor.web.airflow_api.ti_paths import Task, TaskAt, XCom, XComAt
from conveyor.web.airflow_api.xcom_listing import TEXT_FIELDS, XComListQuery, list_xcoms
from conveyor.web.deps import get_store

router = APIRouter(tags=["XCom"])

BASE = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries"
KeyPath = Annotated[str, Field(max_length=512)]
MapIndex = Annotated[int, Query(ge=-1, le=2**31 - 1)]


def _without_reserved_keys(value: Any) -> Any:
    xcom_serde.refuse_reserved_keys(value)
    return value


#: A value given through the API: never one a pulling task would read back as an object of a
#: class the request named.
GivenValue = Annotated[Any, AfterValidator(_without_reserved_keys)]


class XComResponse(BaseModel):
    key: str
    timestamp: datetime
    logical_date: datetime | None
    map_index: int
    task_id: str
    dag_id: str
    run_id: str
    dag_display_name: str
    task_display_name: str
    run_after: datetime


class XComResponseNative(XComResponse):
    value: Any


class XComCollectionResponse(BaseModel):
    xcom_entries: list[XComResponse]
    total_entries: int


class XComCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=512)
    value: GivenValue
    map_index: int = Field(default=-1, ge=-1, le=2**31 - 1)


class XComUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: GivenValue
    map_index: int = Field(default=-1, ge=-1, le=2**31 - 1)


class _Described:
    """Runs and display names, each read once per answer."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.runs: dict[tuple[str, str], RunListing] = {}

    def response(self, row: XComEntryRow, *, with_value: bool = False) -> XComResponse:
        key = (row.dag_id, row.run_id)
        if key not in self.runs:
            self.runs[key] = run_reads.get_run(self.conn, row.dag_id, row.run_id)
        run = self.runs[key]
        dag = serialized_dag(self.conn, run.version_hash)
        task = dag.tasks.get(row.task_id)
        fields: dict[str, Any] = {
            "key": row.key,
            "timestamp": utc(row.created_at),
            "logical_date": utc(run.logical_date),
            "map_index": row.map_index,
            "task_id": row.task_id,
            "dag_id": row.dag_id,
            "run_id": row.run_id,
            "dag_display_name": dag.display_name or row.dag_id,
            "task_display_name": task.display_name if task else row.task_id,
            "run_after": run_after(run),
        }
        if with_value:
            return XComResponseNative(**fields, value=row.value)
        return XComResponse(**fields)


def _any(value: str) -> str | None:
    return None if value == ALL else value


@router.get(BASE)
def get_xcom_entries(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    task_id: TaskIdPath,
    user: Reader,
    dates: Annotated[dict[str, Any], Depends(bounds("logical_date", "run_after"))],
    page: Annotated[Page, Depends(paged("dag_id"))],
    texts: Annotated[TextFilters, Depends(text_filters(*TEXT_FIELDS))],
    xcom_key: Annotated[str | None, Query(max_length=512)] = None,
    map_index: Annotated[int | None, Query(ge=-1, le=2**31 - 1)] = None,
    map_index_filter: Annotated[int | None, Query(ge=-1, le=2**31 - 1)] = None,
) -> XComCollectionResponse:
    """XCom entries of a task instance; ``~`` for the DAG, run or task lists across them,
    with Airflow's patterns and date ranges."""
    if dag_id != ALL:
        require_dag(user, dag_id)
    query = XComListQuery(
        texts=texts,
        map_index=map_index_filter,
        bounds=dates,
    )
    where = XComEntryFilter(
        dag_id=_any(dag_id),
        run_id=_any(dag_run_id),
        task_id=_any(task_id),
        key=xcom_key,
        map_index=map_index,
    )
    with get_store(request).read() as conn:
        shown, total = list_xcoms(conn, user, where, query, page)
        described = _Described(conn)
        return XComCollectionResponse(
            xcom_entries=[described.response(r) for r in shown], total_entries=total
        )


def _entry(conn: Connection, at: XComAt, map_index: int) -> XComEntryRow:
    where = XComEntryFilter(
        dag_id=at.dag_id,
        run_id=at.dag_run_id,
        task_id=at.task_id,
        key=at.xcom_key,
        map_index=map_index,
    )
    found = xcom_entries.list_entries(conn, where)
    if not found:
        raise HTTPException(404, f"XCom entry with key: `{at.xcom_key}` not found")
    return found[0]


@router.get(BASE + "/{xcom_key:path}", response_model=XComResponseNative)
def get_xcom_entry(
    request: Request,
    at: XCom,
    user: Reader,
    map_index: MapIndex = -1,
    deserialize: bool = False,
    stringify: bool = False,
) -> Any:
    """One XCom value as Airflow's API gives it: as stored (what Airflow's serialization
    wrote), with ``deserialize`` each written object as its text (``xcom_serde.display``),
    with ``stringify`` the value as Python's ``str`` gives it."""
    require_dag(user, at.dag_id)
    with get_store(request).read() as conn:
        row = _entry(conn, at, map_index)
        answer = _Described(conn).response(row, with_value=True)
    value = xcom_serde.display(row.value) if deserialize else row.value
    if stringify:
        value = None if value is None else str(value)
    return answer.model_copy(update={"value": value})


def _instance_pk(conn: Connection, at: TaskAt, map_index: int) -> int:
    run = run_reads.get_run(conn, at.dag_id, at.dag_run_id)
    if task_reads.instance(conn, run.id, at.task_id, map_index) is None:
        raise HTTPException(
            404,
            f"Task Instance not found for dag_id={at.dag_id}, run_id={at.dag_run_id}, "
            f"task_id={at.task_id}, map_index={map_index}",
        )
    return run.id


def _put(
    request: Request, at: XComAt, value: Any, map_index: int, *, adding: bool
) -> XComResponseNative:
    """Store ``value`` under the key (``adding``: a new key, 409 when the instance has it;
    else a key it has, 404 when it has not) and answer as Airflow does, with the value."""
    store = get_store(request)
    with store.write() as conn:
        if not adding:
            _entry(conn, at, map_index)
        run_pk = _instance_pk(conn, at, map_index)
        held = xcom_rows.instance_xcom(conn, run_pk, at.task_id, map_index, at.xcom_key)
        if adding and held is not None:
            raise HTTPException(
                409,
                f"The XCom with key: `{at.xcom_key}` with mentioned task instance already exists.",
            )
        try:
            xcom_rows.upsert_xcom(conn, run_pk, at.task_id, at.xcom_key, value, map_index)
        except NotStrictJson as exc:
            raise unprocessable(str(exc), "body", "value") from None
    with store.read() as conn:
        answer = _Described(conn).response(_entry(conn, at, map_index), with_value=True)
    assert isinstance(answer, XComResponseNative)
    return answer


@router.post(BASE, status_code=201)
def create_xcom_entry(
    request: Request, task: Task, body: XComCreateBody, user: Editor
) -> XComResponseNative:
    """Add an XCom value to a task instance; 409 when it has one under the key."""
    require_dag(user, task.dag_id, EDIT)
    at = XComAt(task.dag_id, task.dag_run_id, task.task_id, body.key)
    return _put(request, at, body.value, body.map_index, adding=True)


@router.patch(BASE + "/{xcom_key:path}")
def update_xcom_entry(
    request: Request, at: XCom, body: XComUpdateBody, user: Editor
) -> XComResponseNative:
    """Replace an XCom value; 404 when there is none under the key."""
    require_dag(user, at.dag_id, EDIT)
    return _put(request, at, body.value, body.map_index, adding=False)


@router.delete(BASE + "/{xcom_key:path}", status_code=204)
def delete_xcom_entry(
    request: Request, at: XCom, user: Editor, map_index: MapIndex = -1
) -> Response:
    require_dag(user, at.dag_id, EDIT)
    with get_store(request).write() as conn:
        _entry(conn, at, map_index)
        run_pk = _instance_pk(conn, at, map_index)
        xcom_rows.delete_instance_xcom(conn, run_pk, at.task_id, map_index, at.xcom_key)
    return Response(status_code=204)
