"""``/api/v2/eventLogs``: Conveyor's audit log read as Airflow's event log.

Each audit row is an event: ``event`` is the action (``run.trigger``, ``variable.set``,
...), ``owner`` who did it, ``extra`` the row's details (secrets already left out) with the
way in (``via``) and the client's address. The run and task come from the row's target.
Airflow also logs task state changes there; Conveyor keeps those in each task's timeline
(``/api/v1/.../timeline``), so they are not events here. Ops and admins read it, as
``/api/v1/audit``; rows of DAGs the caller may not see are left out.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from conveyor.store.audit import AuditEntry
from conveyor.store.reads import event_log
from conveyor.web import dag_access
from conveyor.web.airflow_api.common import Editor, Page, aware, paged, utc
from conveyor.web.airflow_api.differences import differs
from conveyor.web.auth import User
from conveyor.web.deps import get_store

router = APIRouter(prefix="/eventLogs", tags=["Event Log"])

Text = Annotated[str | None, Query(max_length=250)]
Events = Annotated[list[str] | None, Query(max_length=50)]


class EventLogResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    event_log_id: int
    when: datetime
    dag_id: str | None
    task_id: str | None
    run_id: str | None
    map_index: int | None
    try_number: int | None
    event: str
    logical_date: datetime | None
    owner: str | None
    extra: str | None
    dag_display_name: str | None = None
    task_display_name: str | None = None


class EventLogCollectionResponse(BaseModel):
    event_logs: list[EventLogResponse]
    total_entries: int


def _run_and_task(entry: AuditEntry) -> tuple[str | None, str | None]:
    """The run and task an action on ``dag/run[/task]`` names (None where it names none):
    as its details say (a clear or mark names them there), else as its target reads."""
    details = entry.details or {}
    if isinstance(details.get("run_id"), str):
        task_id = details.get("task_id")
        return details["run_id"], task_id if isinstance(task_id, str) else None
    if not entry.dag_id or not entry.target or not entry.target.startswith(entry.dag_id + "/"):
        return None, None
    rest = entry.target[len(entry.dag_id) + 1 :]
    if entry.action.startswith("task."):
        run_id, _, task_id = rest.rpartition("/")
        return (run_id or None), (task_id or None)
    return (rest or None), None


def _map_index(entry: AuditEntry) -> int | None:
    found = (entry.details or {}).get("map_index")
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def _response(entry: AuditEntry) -> EventLogResponse:
    run_id, task_id = _run_and_task(entry)
    extra = {**(entry.details or {}), "via": entry.via, "address": entry.address}
    if entry.target and run_id is None:
        extra["target"] = entry.target
    return EventLogResponse(
        event_log_id=entry.id,
        when=utc(entry.at) or entry.at,
        dag_id=entry.dag_id,
        task_id=task_id,
        run_id=run_id,
        map_index=_map_index(entry),
        try_number=None,
        event=entry.action,
        logical_date=None,
        owner=entry.actor,
        extra=json.dumps(extra, default=str),
        dag_display_name=entry.dag_id,
        task_display_name=task_id,
    )


def _readable(request: Request, user: User) -> list[str] | None:
    """The DAGs whose entries ``user`` reads (None: every entry), as Conveyor's audit log
    has it: an op's, and for a user with named roles the entries on their roles' DAGs."""
    allowed = dag_access.audit_dag_ids(request, user)
    return None if allowed is None else sorted(allowed)


@router.get(
    "",
    openapi_extra=differs(
        "Conveyor's audit log (ops and admins; a user with named roles reads the entries on "
        "their roles' DAGs): what people and scripts did, not task state "
        "changes (those are in each task's timeline); map_index and try_number are null"
    ),
)
def get_event_logs(
    request: Request,
    user: Editor,
    page: Annotated[Page, Depends(paged("id"))],
    dag_id: Text = None,
    task_id: Text = None,
    run_id: Text = None,
    map_index: Annotated[int | None, Query(ge=-1, le=2**31 - 1)] = None,
    try_number: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    owner: Text = None,
    event: Text = None,
    excluded_events: Events = None,
    included_events: Events = None,
    before: datetime | None = None,
    after: datetime | None = None,
    dag_id_pattern: Text = None,
    task_id_pattern: Text = None,
    run_id_pattern: Text = None,
    owner_pattern: Text = None,
    event_pattern: Text = None,
    dag_id_prefix_pattern: Text = None,
    task_id_prefix_pattern: Text = None,
    run_id_prefix_pattern: Text = None,
    owner_prefix_pattern: Text = None,
    event_prefix_pattern: Text = None,
) -> EventLogCollectionResponse:
    order = page.keys(list(event_log.ORDER_COLUMNS))
    if (map_index is not None and map_index != -1) or try_number is not None:
        # Audit rows name no map index or try: a filter on them matches none.
        return EventLogCollectionResponse(event_logs=[], total_entries=0)
    found = event_log.EventFilter(
        dag_ids=_readable(request, user),
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        owner=owner,
        event=event,
        included_events=included_events or (),
        excluded_events=excluded_events or (),
        before=aware("before", before),
        after=aware("after", after),
        patterns=(
            ("dag_id", dag_id_pattern, dag_id_prefix_pattern),
            ("task_id", task_id_pattern, task_id_prefix_pattern),
            ("run_id", run_id_pattern, run_id_prefix_pattern),
            ("owner", owner_pattern, owner_prefix_pattern),
            ("event", event_pattern, event_prefix_pattern),
        ),
    )
    with get_store(request).read() as conn:
        entries, total = event_log.list_events(conn, found, order, page.limit, page.offset)
    return EventLogCollectionResponse(
        event_logs=[_response(e) for e in entries], total_entries=total
    )


@router.get("/{event_log_id}", openapi_extra=differs("an entry of Conveyor's audit log"))
def get_event_log(
    request: Request,
    user: Editor,
    event_log_id: Annotated[int, Path(ge=0, le=2**31 - 1)],
) -> EventLogResponse:
    allowed = _readable(request, user)
    with get_store(request).read() as conn:
        entry = event_log.get_event(conn, event_log_id)
    if entry is None or (allowed is not None and entry.dag_id not in allowed):
        raise HTTPException(404, f"The Event Log with id: `{event_log_id}` not found")
    return _response(entry)
