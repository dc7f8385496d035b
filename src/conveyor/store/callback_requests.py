"""Requests for DAG callbacks: made once by whoever ends a run, run once by whoever claims them.

A request is unique per run, kind and task, so a second request is a no-op; claiming is a
guarded move ``pending -> running``, so two processes never run the same one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from conveyor.clock import utcnow
from conveyor.store.sql import upsert
from conveyor.store.tables import callback_request


@dataclass(frozen=True)
class CallbackRequest:
    id: int
    run_pk: int
    kind: str  # success | failure | sla_miss | deadline
    task_id: str  # sla_miss: the late task; deadline: the alert's index; else ""
    reason: str | None


def request(conn: Connection, run_pk: int, kind: str, reason: str, task_id: str = "") -> None:
    """Ask for a DAG callback; a second request for the same run, kind and task is a no-op."""
    upsert(
        conn,
        callback_request,
        {
            "run_pk": run_pk,
            "kind": kind,
            "task_id": task_id,
            "reason": reason,
            "state": "pending",
            "created_at": utcnow(),
        },
        key=["run_pk", "kind", "task_id"],
        update=[],
    )


def pending_ids(
    conn: Connection, run_pk: int | None = None, kinds: Collection[str] | None = None
) -> list[int]:
    """The requests nobody claimed yet (of one run, or all; of these kinds, or all), oldest
    first."""
    stmt = select(callback_request.c.id).where(callback_request.c.state == "pending")
    if run_pk is not None:
        stmt = stmt.where(callback_request.c.run_pk == run_pk)
    if kinds is not None:
        stmt = stmt.where(callback_request.c.kind.in_(list(kinds)))
    return list(conn.execute(stmt.order_by(callback_request.c.id)).scalars())


def claim(conn: Connection, request_id: int, by: str) -> CallbackRequest | None:
    """Take a pending request for ``by`` to run; None if another process took it first."""
    won = conn.execute(
        update(callback_request)
        .where(callback_request.c.id == request_id, callback_request.c.state == "pending")
        .values(state="running", claimed_by=by, claimed_at=utcnow())
    ).rowcount
    if won != 1:
        return None
    row = conn.execute(select(callback_request).where(callback_request.c.id == request_id)).one()
    return CallbackRequest(row.id, row.run_pk, row.kind, row.task_id, row.reason)


def finish(conn: Connection, request_id: int, errors: list[str]) -> None:
    """Record that a claimed request ran: ``done``, or ``failed`` with the callbacks' errors."""
    conn.execute(
        update(callback_request)
        .where(callback_request.c.id == request_id)
        .values(
            state="failed" if errors else "done",
            finished_at=utcnow(),
            error="\n".join(errors) or None,
        )
    )


@dataclass(frozen=True)
class FailedRequest:
    id: int
    kind: str  # success | failure | sla_miss
    error: str


def failed_of_run(conn: Connection, run_pk: int) -> list[FailedRequest]:
    """A run's DAG callbacks that raised, oldest first, with what they raised."""
    c = callback_request.c
    rows = conn.execute(
        select(c.id, c.kind, c.error).where(c.run_pk == run_pk, c.state == "failed").order_by(c.id)
    )
    return [FailedRequest(r.id, r.kind, r.error or "") for r in rows]
