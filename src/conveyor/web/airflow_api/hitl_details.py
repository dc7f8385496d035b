"""``/api/v2/.../hitlDetails``: what a human-in-the-loop task asks, and answering it.

``GET`` of one task instance's question (its newest; ``/tries/{n}`` that try's), ``PATCH`` to
answer it (``chosen_options``, ``params_input``: an option not offered or several where one
is allowed is a 400, a second answer a 409), and ``GET .../dagRuns/{run}/hitlDetails`` for a
run's questions (``~`` for every DAG or run, as in Airflow). Reading needs read access to the
DAG; answering needs edit rights on it and, when the task names ``assigned_users``, to be
one of them (by user name), as Airflow decides. The answer is audited as ``task.answer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from conveyor.engine import awaiting_input
from conveyor.lifecycle import Actor
from conveyor.store import hitl
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.common import (
    ALL,
    EDIT,
    Page,
    Pattern,
    Reader,
    TextFilters,
    bounds,
    dag_visible,
    paged,
    require_dag,
    sees_every_dag,
    text_filters,
    utc,
    visible_dag_ids,
)
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.text_match import Match, search
from conveyor.web.airflow_api.ti_lookup import MapIndexQuery
from conveyor.web.airflow_api.ti_paths import HitlTry, MappedInstance, TaskAt, reading
from conveyor.web.airflow_api.ti_shapes import (
    TaskInstanceHistoryResponse,
    TaskInstanceResponse,
    ti_response,
    try_response,
)
from conveyor.web.auth import User
from conveyor.web.deps import get_store

router = APIRouter(tags=["Task Instance"])

RUN = "/dags/{dag_id}/dagRuns/{dag_run_id}"
ONE = RUN + "/taskInstances/{task_id}/{map_index}/hitlDetails"


class HITLUser(BaseModel):
    id: str
    name: str


class UpdateHITLDetailPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chosen_options: list[str] = Field(min_length=1)
    params_input: dict[str, Any] = Field(default_factory=dict)


class HITLDetailResponse(BaseModel):
    responded_by: HITLUser
    responded_at: datetime
    chosen_options: list[str]
    params_input: Mapping[str, Any] = Field(default_factory=dict)


class _Question(BaseModel):
    options: list[str]
    subject: str
    body: str | None = None
    defaults: list[str] | None = None
    multiple: bool = False
    params: Mapping[str, Any] = Field(default_factory=dict)
    assigned_users: list[HITLUser] = Field(default_factory=list)
    created_at: datetime
    responded_by_user: HITLUser | None = None
    responded_at: datetime | None = None
    chosen_options: list[str] | None = None
    params_input: dict[str, Any] = Field(default_factory=dict)
    response_received: bool = False


class HITLDetail(_Question):
    task_instance: TaskInstanceResponse


class HITLDetailHistory(_Question):
    task_instance: TaskInstanceHistoryResponse


class HITLDetailCollection(BaseModel):
    hitl_details: list[HITLDetail]
    total_entries: int


def _question_fields(q: hitl.Question) -> dict[str, Any]:
    return {
        "options": q.options,
        "subject": q.subject,
        "body": q.body,
        "defaults": q.defaults,
        "multiple": q.multiple,
        "params": q.params,
        "assigned_users": [HITLUser(**user) for user in q.assigned_users],
        "created_at": utc(q.created_at),
        "responded_by_user": HITLUser(**q.responded_by) if q.responded_by else None,
        "responded_at": utc(q.responded_at),
        "chosen_options": q.chosen_options,
        "params_input": q.params_input or {},
        "response_received": q.answered,
    }


def _no_question(ti_id: int) -> HTTPException:
    return HTTPException(404, f"Human-in-the-loop detail does not exist for Task Instance {ti_id}")


def _detail(conn: Connection, q: hitl.Question) -> HITLDetail:
    run = run_reads.get_run(conn, q.dag_id, q.run_id)
    row = task_reads.instance(conn, run.id, q.task_id, q.map_index)
    assert row is not None
    dag = serialized_dag(conn, run.version_hash)
    return HITLDetail(task_instance=ti_response(run, dag, row), **_question_fields(q))


@router.get(ONE)
def get_hitl_detail(request: Request, at: MappedInstance, user: Reader) -> HITLDetail:
    """The task instance's newest question, and its answer once given."""
    with reading(request, user, at) as (conn, _run, row):
        question = hitl.latest(conn, row.id)
        if question is None:
            raise _no_question(row.id)
        return _detail(conn, question)


@router.get(ONE + "/tries/{try_number}")
def get_hitl_detail_try_detail(request: Request, at: HitlTry, user: Reader) -> HITLDetailHistory:
    """The question try ``try_number`` asked, and its answer once given (the answer resumes
    the same try)."""
    with reading(request, user, at) as (conn, run, row):
        question = hitl.asked_in_try(conn, row.id, at.try_number)
        attempt = task_reads.get_try(conn, row.id, at.try_number) if question else None
        if question is None or attempt is None:
            raise _no_question(row.id)
        shown = try_response(run, serialized_dag(conn, run.version_hash), row, attempt)
    return HITLDetailHistory(task_instance=shown, **_question_fields(question))


def may_answer(user: User, dag_id: str, question: hitl.Question) -> str | None:
    """Why ``user`` may not answer ``question`` (None: they may), as Airflow decides: edit
    rights on the DAG, and, when the task names ``assigned_users``, being one of them (by
    user name)."""
    if not dag_visible(user, dag_id, EDIT):
        return f"user {user.username!r} may read DAG {dag_id!r} but not answer its tasks"
    assigned = {str(u.get("id")) for u in question.assigned_users}
    if assigned and user.username not in assigned:
        return f"User={user.username} (id={user.username}) is not a respondent for the task."
    return None


def answer_question(
    request: Request,
    user: User,
    at: TaskAt,
    chosen_options: list[str],
    params_input: dict[str, Any],
) -> awaiting_input.Answered:
    """Check access and answer: the one way the API and the UI's form answer."""
    dag_id = at.dag_id
    with reading(request, user, at) as (conn, _run, row):
        question = hitl.latest(conn, row.id)
    if question is None:
        raise _no_question(row.id)
    # Airflow's order: the DAG's edit rights, an answer already given, the assigned users.
    if not dag_visible(user, dag_id, EDIT):
        raise HTTPException(403, may_answer(user, dag_id, question))
    if question.answered:
        raise HTTPException(409, awaiting_input.already_answered(row.id))
    refusal = may_answer(user, dag_id, question)
    if refusal is not None:
        raise HTTPException(403, refusal)
    store = get_store(request)
    person = {"id": user.username, "name": user.username}
    try:
        return awaiting_input.answer(
            store, row.id, chosen_options, params_input, person, Actor(f"user:{user.username}")
        )
    except awaiting_input.AnswerRefused as refused:
        raise HTTPException(refused.status, refused.message) from None


@router.patch(
    ONE, openapi_extra=differs("the responder's id and name are both the Conveyor user name")
)
async def update_hitl_detail(
    request: Request, at: MappedInstance, body: UpdateHITLDetailPayload, user: Reader
) -> HITLDetailResponse:
    """Answer the question: the chosen options and the params; the task goes on."""
    answered = await run_in_threadpool(
        answer_question, request, user, at, body.chosen_options, body.params_input
    )
    assert answered.responded_by is not None
    return HITLDetailResponse(
        responded_by=HITLUser(**answered.responded_by),
        responded_at=utc(answered.responded_at) or answered.responded_at,
        chosen_options=answered.chosen_options,
        params_input=answered.params_input,
    )


#: What the list sorts by (Airflow's names), read from each shown detail.
_ORDER: dict[str, Callable[[HITLDetail], Any]] = {
    "ti_id": lambda d: d.task_instance.id,
    "subject": lambda d: d.subject,
    "responded_at": lambda d: d.responded_at,
    "created_at": lambda d: d.created_at,
    "responded_by_user_id": lambda d: d.responded_by_user.id if d.responded_by_user else None,
    "responded_by_user_name": lambda d: d.responded_by_user.name if d.responded_by_user else None,
    "dag_id": lambda d: d.task_instance.dag_id,
    "run_id": lambda d: d.task_instance.dag_run_id,
    "task_display_name": lambda d: d.task_instance.task_display_name,
    "run_after": lambda d: d.task_instance.run_after,
    "rendered_map_index": lambda d: d.task_instance.rendered_map_index,
    "task_instance_operator": lambda d: d.task_instance.operator,
    "task_instance_state": lambda d: d.task_instance.state,
}


def _keeps(detail: HITLDetail, text: dict[str, Match | None], users: dict[str, set[str]]) -> bool:
    """Whether ``detail`` passes the text and responder filters that were given."""
    values = {
        "dag_id": detail.task_instance.dag_id,
        "task_id": detail.task_instance.task_id,
        "subject": detail.subject,
        "body": detail.body,
    }
    if any(match is not None and not match(values[name]) for name, match in text.items()):
        return False
    who = detail.responded_by_user
    if users["id"] and (who is None or who.id not in users["id"]):
        return False
    return not (users["name"] and (who is None or who.name not in users["name"]))


def _in_range(value: datetime, limits: dict[str, Any]) -> bool:
    checks = {
        "created_at_gte": lambda bound: value >= bound,
        "created_at_gt": lambda bound: value > bound,
        "created_at_lte": lambda bound: value <= bound,
        "created_at_lt": lambda bound: value < bound,
    }
    return all(checks[name](bound) for name, bound in limits.items())


@router.get(RUN + "/hitlDetails")
def get_hitl_details(
    request: Request,
    dag_id: str,
    dag_run_id: str,
    user: Reader,
    created: Annotated[dict[str, Any], Depends(bounds("created_at"))],
    ids: Annotated[TextFilters, Depends(text_filters("dag_id", "task_id"))],
    page: Annotated[Page, Depends(paged("ti_id"))],
    task_id: Annotated[str | None, Query(max_length=250)] = None,
    map_index: MapIndexQuery | None = None,
    state: Annotated[list[str] | None, Query(max_length=20)] = None,
    response_received: bool | None = None,
    responded_by_user_id: Annotated[list[str] | None, Query(max_length=50)] = None,
    responded_by_user_name: Annotated[list[str] | None, Query(max_length=50)] = None,
    subject_search: Pattern = None,
    body_search: Pattern = None,
) -> HITLDetailCollection:
    """The questions of a run (``~``: of every run, of every DAG the caller may read),
    each task instance's newest, ordered by ``order_by`` (``ti_id`` as Airflow's default)."""
    page.keys(list(_ORDER))  # 400 for an order Airflow does not offer, before reading
    if dag_id != ALL:
        require_dag(user, dag_id)
    with get_store(request).read() as conn:
        where = hitl.QuestionFilter(
            dag_id=None if dag_id == ALL else dag_id,
            run_id=None if dag_run_id == ALL else dag_run_id,
            dag_ids=None if sees_every_dag(user) else _readable(conn, user),
            task_id=task_id,
            map_index=map_index,
            response_received=response_received,
        )
        shown = [_detail(conn, q) for q in hitl.listing(conn, where)]
    text = {
        **ids,
        "subject": search(subject_search) if subject_search else None,
        "body": search(body_search) if body_search else None,
    }
    users = {"id": set(responded_by_user_id or ()), "name": set(responded_by_user_name or ())}
    kept = [
        d
        for d in shown
        if _keeps(d, text, users)
        and (not state or d.task_instance.state in state)
        and _in_range(d.created_at, created)
    ]
    return HITLDetailCollection(hitl_details=page.apply(kept, _ORDER), total_entries=len(kept))


def _readable(conn: Connection, user: User) -> frozenset[str]:
    known = [row.dag_id for row in dag_reads.list_dag_rows(conn, include_inactive=True)]
    return frozenset(visible_dag_ids(user, known))
