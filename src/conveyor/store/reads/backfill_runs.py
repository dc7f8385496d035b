"""Backfills as the store knows them: the runs one backfill created carry its name in
``created_by`` (``backfill:<dag>:<from>..<to>:<reprocess>``, see ``conveyor.backfill``),
so a backfill is the group of backfill runs of a DAG with the same creator, and its id the
key of its first run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from conveyor.states import RUN_FINISHED
from conveyor.store.tables import dag_run

_FINISHED = [s.value for s in RUN_FINISHED]


@dataclass(frozen=True)
class BackfillGroup:
    id: int  # the key of its first run
    dag_id: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    runs: int
    finished: int
    last_end: datetime | None
    conf: dict[str, Any]

    @property
    def completed(self) -> bool:
        return self.finished == self.runs


def list_groups(
    conn: Connection, dag_id: str | None = None, group_id: int | None = None
) -> list[BackfillGroup]:
    """The backfills of ``dag_id`` (every DAG's: None), or the one whose id is ``group_id``."""
    r = dag_run.c
    where = [r.run_type == "backfill", r.created_by.is_not(None)]
    if dag_id is not None:
        where.append(r.dag_id == dag_id)
    if group_id is not None:
        owner = select(r.dag_id, r.created_by).where(r.id == group_id, *where).subquery()
        where += [r.dag_id == owner.c.dag_id, r.created_by == owner.c.created_by]
    finished = func.sum(case((r.state.in_(_FINISHED), 1), else_=0))
    rows = conn.execute(
        select(
            func.min(r.id).label("id"),
            r.dag_id,
            r.created_by,
            func.min(r.queued_at).label("created_at"),
            func.max(func.coalesce(r.end_date, r.start_date, r.queued_at)).label("updated_at"),
            func.count().label("runs"),
            finished.label("finished"),
            func.max(r.end_date).label("last_end"),
        )
        .where(*where)
        .group_by(r.dag_id, r.created_by)
        .order_by(func.min(r.id))
    ).all()
    firsts = {row.id for row in rows}
    confs = dict(conn.execute(select(r.id, r.conf).where(r.id.in_(firsts))).all()) if firsts else {}
    found = [
        BackfillGroup(
            id=row.id,
            dag_id=row.dag_id,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            runs=int(row.runs),
            finished=int(row.finished or 0),
            last_end=row.last_end,
            conf=dict(confs.get(row.id) or {}),
        )
        for row in rows
    ]
    if group_id is not None:
        return [g for g in found if g.id == group_id]
    return found


@dataclass(frozen=True)
class GroupRun:
    id: int
    run_id: str
    state: str


def runs_of(conn: Connection, group: BackfillGroup) -> list[GroupRun]:
    r = dag_run.c
    rows = conn.execute(
        select(r.id, r.run_id, r.state)
        .where(r.dag_id == group.dag_id, r.run_type == "backfill", r.created_by == group.created_by)
        .order_by(r.logical_date)
    )
    return [GroupRun(row.id, row.run_id, row.state) for row in rows]
