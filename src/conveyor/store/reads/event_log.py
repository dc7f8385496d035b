"""The audit log read as Airflow's event log: filtered by DAG, run, task, who and what,
between two times, ordered and paged in SQL.

A row's run and task are not columns of their own: the target of an action on a run is
``dag/run`` and on a task ``dag/run/task`` (``conveyor.web.audit_trail``), so they are
matched in ``target`` (a run id may hold ``/``: a task is the last part, the run the rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, not_, or_, select

from conveyor.store.audit import AuditEntry
from conveyor.store.reads.text_terms import EVERY, prefix_terms, terms
from conveyor.store.tables import audit_log

#: Order fields Airflow names -> the column.
ORDER_COLUMNS: dict[str, Any] = {
    "id": audit_log.c.id,
    "event_log_id": audit_log.c.id,
    "dttm": audit_log.c.at,
    "when": audit_log.c.at,
    "dag_id": audit_log.c.dag_id,
    "event": audit_log.c.action,
    "owner": audit_log.c.actor,
}


@dataclass(frozen=True)
class EventFilter:
    dag_ids: Sequence[str] | None = None  # only rows on these DAGs (None: every row)
    hidden_dag_ids: Sequence[str] = ()  # rows of these DAGs are left out
    dag_id: str | None = None
    task_id: str | None = None
    run_id: str | None = None
    owner: str | None = None
    event: str | None = None
    included_events: Sequence[str] = ()
    excluded_events: Sequence[str] = ()
    before: datetime | None = None
    after: datetime | None = None
    #: column name -> (substring-or-LIKE pattern, case-sensitive prefix)
    patterns: tuple[tuple[str, str | None, str | None], ...] = ()


def _like(pattern: str) -> str:
    return pattern if pattern in ("%",) else f"%{pattern}%"


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _run_clause(run_id: str) -> ColumnElement[bool]:
    run = _escaped(run_id)
    return or_(
        audit_log.c.target.like(f"%/{run}", escape="\\"),
        audit_log.c.target.like(f"%/{run}/%", escape="\\"),
    )


def _text_column(name: str) -> Any:
    return {
        "dag_id": audit_log.c.dag_id,
        "owner": audit_log.c.actor,
        "event": audit_log.c.action,
    }.get(name, audit_log.c.target)


def _pattern_clauses(found: EventFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    for name, pattern, prefix in found.patterns:
        column = _text_column(name)
        if pattern == EVERY:
            clauses.append(column.is_not(None))
        elif pattern:
            words = terms(pattern)
            clauses.append(or_(*(func.lower(column).like(_like(t.lower())) for t in words)))
        if prefix:
            starts = prefix_terms(prefix)
            if name in ("task_id", "run_id"):  # inside the target: dag/<run>[/task]
                clauses.append(
                    or_(*(column.like(f"%/{_escaped(t)}%", escape="\\") for t in starts))
                )
            else:
                clauses.append(or_(*(column.startswith(t, autoescape=True) for t in starts)))
    return clauses


def _where(found: EventFilter) -> list[ColumnElement[bool]]:
    c = audit_log.c
    clauses: list[ColumnElement[bool]] = []
    if found.dag_ids is not None:
        clauses.append(c.dag_id.in_(list(found.dag_ids)))
    if found.hidden_dag_ids:
        clauses.append(or_(c.dag_id.is_(None), not_(c.dag_id.in_(list(found.hidden_dag_ids)))))
    if found.dag_id is not None:
        clauses.append(c.dag_id == found.dag_id)
    if found.task_id is not None:
        clauses.append(
            and_(
                c.action.startswith("task."),
                c.target.like(f"%/{_escaped(found.task_id)}", escape="\\"),
            )
        )
    if found.run_id is not None:
        clauses.append(_run_clause(found.run_id))
    if found.owner is not None:
        clauses.append(c.actor == found.owner)
    if found.event is not None:
        clauses.append(c.action == found.event)
    if found.included_events:
        clauses.append(c.action.in_(list(found.included_events)))
    if found.excluded_events:
        clauses.append(not_(c.action.in_(list(found.excluded_events))))
    if found.before is not None:
        clauses.append(c.at < found.before)
    if found.after is not None:
        clauses.append(c.at > found.after)
    return clauses + _pattern_clauses(found)


def list_events(
    conn: Connection,
    found: EventFilter,
    order: Sequence[tuple[str, bool]],
    limit: int,
    offset: int,
) -> tuple[list[AuditEntry], int]:
    """The matching rows in ``order`` ((field, descending) pairs of :data:`ORDER_COLUMNS`),
    paged, and how many match in all."""
    where = _where(found)
    total = conn.execute(select(func.count()).select_from(audit_log).where(*where)).scalar_one()
    ordering = [
        ORDER_COLUMNS[name].desc() if desc else ORDER_COLUMNS[name].asc() for name, desc in order
    ]
    rows = conn.execute(
        select(audit_log)
        .where(*where)
        .order_by(*ordering, audit_log.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [AuditEntry(**row._mapping) for row in rows], int(total)


def get_event(conn: Connection, event_id: int) -> AuditEntry | None:
    row = conn.execute(select(audit_log).where(audit_log.c.id == event_id)).first()
    return None if row is None else AuditEntry(**row._mapping)
