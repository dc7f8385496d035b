"""The statements of human-in-the-loop tasks: what a try awaiting input asks, and the answer.

A row is written with the move ``running -> awaiting_input`` (``engine/awaiting_input.py``),
one per try that asked, and answered once: by a person (``respond``, guarded on no answer
yet, so a second answer loses) or by the response timeout's defaults. Reads give the API and
the UI each question with its task instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from conveyor.states import TaskState
from conveyor.store.reads._rows import row_as
from conveyor.store.tables import hitl_detail, task_instance, task_try
from conveyor.store.try_numbers import row_of_try

_H = hitl_detail.c
_TI = task_instance.c
_AWAITING = TaskState.AWAITING_INPUT.value


@dataclass(frozen=True)
class Question:
    """What one try asks a person (and the answer, once given), with its task instance."""

    ti_id: int
    try_number: int
    run_pk: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str  # the task instance's state now
    subject: str
    body: str | None
    options: list[str]
    defaults: list[str] | None
    multiple: bool
    params: dict[str, Any]
    assigned_users: list[dict[str, str]]
    method_name: str
    timeout_at: datetime | None
    created_at: datetime
    responded_at: datetime | None
    responded_by: dict[str, str] | None
    chosen_options: list[str] | None
    params_input: dict[str, Any] | None

    @property
    def answered(self) -> bool:
        return self.responded_at is not None


def ask(
    conn: Connection,
    ti_id: int,
    try_number: int,
    request: dict[str, Any],
    method_name: str,
    timeout_at: datetime | None,
    now: datetime,
) -> None:
    """Store the question of try ``try_number`` (a try asked again after a lost record
    replaces its own row)."""
    conn.execute(delete(hitl_detail).where(_H.ti_id == ti_id, _H.try_number == try_number))
    conn.execute(
        hitl_detail.insert().values(
            ti_id=ti_id,
            try_number=try_number,
            subject=str(request["subject"]),
            body=request.get("body"),
            options=list(request["options"]),
            defaults=request.get("defaults"),
            multiple=bool(request.get("multiple")),
            params=dict(request.get("params") or {}),
            assigned_users=list(request.get("assigned_users") or []),
            method_name=method_name,
            timeout_at=timeout_at,
            created_at=now,
        )
    )


def _questions() -> Any:
    return select(
        *hitl_detail.c,
        _TI.run_pk,
        _TI.dag_id,
        _TI.run_id,
        _TI.task_id,
        _TI.map_index,
        _TI.state,
    ).join(task_instance, _TI.id == _H.ti_id)


def _question(row: Any) -> Question:
    return row_as(Question, row)


def latest(conn: Connection, ti_id: int) -> Question | None:
    """The task instance's newest question (its latest try that asked)."""
    row = conn.execute(
        _questions().where(_H.ti_id == ti_id).order_by(_H.try_number.desc()).limit(1)
    ).first()
    return None if row is None else _question(row)


def of_try(conn: Connection, ti_id: int, try_number: int) -> Question | None:
    """The question try ``try_number`` asked, or answered: the try that asked, or the one its
    answer resumed (the next)."""
    row = conn.execute(
        _questions()
        .where(_H.ti_id == ti_id, _H.try_number.in_([try_number, try_number - 1]))
        .order_by(_H.try_number.desc())
        .limit(1)
    ).first()
    return None if row is None else _question(row)


def asked_in_try(conn: Connection, ti_id: int, try_number: int) -> Question | None:
    """The question the task instance asked in try ``try_number`` as people number it (an
    answer resumes that same try: ``store/try_numbers.py``), the newest if it asked twice."""
    row = conn.execute(
        _questions()
        .join(task_try, (task_try.c.ti_id == _H.ti_id) & (task_try.c.try_number == _H.try_number))
        .where(_H.ti_id == ti_id, row_of_try(try_number))
        .order_by(_H.try_number.desc())
        .limit(1)
    ).first()
    return None if row is None else _question(row)


def respond(
    conn: Connection,
    ti_id: int,
    try_number: int,
    chosen_options: list[str],
    params_input: dict[str, Any],
    responded_by: dict[str, str] | None,
    now: datetime,
) -> bool:
    """Record the answer unless one was recorded first; whether this one was."""
    result = conn.execute(
        update(hitl_detail)
        .where(_H.ti_id == ti_id, _H.try_number == try_number, _H.responded_at.is_(None))
        .values(
            responded_at=now,
            responded_by=responded_by,
            chosen_options=chosen_options,
            params_input=params_input,
        )
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class Overdue:
    """A try awaiting input past its response deadline."""

    ti_id: int
    try_number: int
    run_pk: int


def overdue(conn: Connection, now: datetime, limit: int = 100) -> list[Overdue]:
    """Tries still awaiting input whose deadline has passed, oldest deadline first."""
    rows = conn.execute(
        select(_H.ti_id, _H.try_number, _TI.run_pk)
        .join(task_instance, _TI.id == _H.ti_id)
        .where(
            _TI.state == _AWAITING,
            _TI.try_number == _H.try_number,
            _H.timeout_at.is_not(None),
            _H.timeout_at <= now,
        )
        .order_by(_H.timeout_at)
        .limit(limit)
    ).all()
    return [row_as(Overdue, row) for row in rows]


@dataclass(frozen=True)
class QuestionFilter:
    """What a list of questions is narrowed to (None: not narrowed)."""

    dag_id: str | None = None
    run_id: str | None = None
    dag_ids: frozenset[str] | None = None  # the DAGs the reader may see
    task_id: str | None = None
    map_index: int | None = None
    response_received: bool | None = None
    waiting_only: bool = False  # the task instance still awaits input


def listing(conn: Connection, where: QuestionFilter) -> list[Question]:
    """The questions ``where`` selects, each task instance's newest only, by task instance."""
    newest = (
        select(_H.ti_id, func.max(_H.try_number).label("try_number")).group_by(_H.ti_id).subquery()
    )
    query = _questions().join(
        newest, (newest.c.ti_id == _H.ti_id) & (newest.c.try_number == _H.try_number)
    )
    if where.dag_id is not None:
        query = query.where(_TI.dag_id == where.dag_id)
    if where.run_id is not None:
        query = query.where(_TI.run_id == where.run_id)
    if where.dag_ids is not None:
        query = query.where(_TI.dag_id.in_(sorted(where.dag_ids)))
    if where.task_id is not None:
        query = query.where(_TI.task_id == where.task_id)
    if where.map_index is not None:
        query = query.where(_TI.map_index == where.map_index)
    if where.response_received is not None:
        answered = _H.responded_at.is_not(None)
        query = query.where(answered if where.response_received else ~answered)
    if where.waiting_only:
        query = query.where(_TI.state == _AWAITING)
    return [_question(row) for row in conn.execute(query.order_by(_H.ti_id)).all()]
