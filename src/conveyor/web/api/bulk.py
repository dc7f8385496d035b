"""Clear or mark many task instances or runs at once, or preview what that would do.

Each action runs in one transaction. With ``dry_run`` it makes the same calls and is then
rolled back, so the preview lists exactly what confirming it changes (op). The audit log
gets one entry per run the action was asked about, naming the run and its task(s)
(``audit_targets``), and none for a preview.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, HTTPException, Request

from conveyor.engine import bulk_manual
from conveyor.engine.bulk_manual import Outcome, RunRef, TaskRef
from conveyor.lifecycle import Actor
from conveyor.states import TaskState
from conveyor.store.engine import Connection
from conveyor.web import audit_targets
from conveyor.web import bulk_schemas as shapes
from conveyor.web.api.common import AUTH, NOT_FOUND, DagOp
from conveyor.web.api.previews import done_or_previewed
from conveyor.web.audit_trail import note_targets
from conveyor.web.auth import User
from conveyor.web.dag_access import check_dag
from conveyor.web.schemas import from_row

router = APIRouter(tags=["bulk actions"], responses={**AUTH, **NOT_FOUND})
TOO_MANY: dict[int | str, dict[str, str]] = {
    422: {"description": "bad input, or the action would change too many runs at once"}
}


def _act(
    request: Request,
    user: User,
    dry_run: bool,
    refs: Sequence[RunRef],
    action: Callable[[Connection, Actor], Outcome],
) -> shapes.BulkResult:
    """``action`` on ``user``'s behalf in one transaction, rolled back when ``dry_run``; the
    answer lists what it changed (or would change)."""
    actor = Actor(f"user:{user.username}")

    def act(conn: Connection) -> Outcome:
        outcome = action(conn, actor)
        if not dry_run:
            note_targets(request, audit_targets.of_refs(refs, outcome))
        return outcome

    try:
        outcome = done_or_previewed(request, dry_run, act)
    except bulk_manual.TooManyRuns as exc:
        raise HTTPException(422, str(exc)) from None
    return result(outcome, dry_run)


def result(outcome: Outcome, dry_run: bool) -> shapes.BulkResult:
    """The answer to an action: what it changed (or, a preview, would change)."""
    return shapes.BulkResult(
        dry_run=dry_run,
        changed=[from_row(shapes.InstanceChange, c) for c in outcome.changed],
        stopped=[from_row(shapes.InstanceChange, c) for c in outcome.stopped],
        runs=[from_row(shapes.RunStateChange, r) for r in outcome.runs],
    )


def _tasks(
    request: Request, user: User, body: shapes.ClearTaskInstances | shapes.MarkTaskInstances
) -> list[TaskRef]:
    for dag_id in sorted({t.dag_id for t in body.task_instances}):
        check_dag(request, user, dag_id, "edit")
    return [TaskRef(t.dag_id, t.run_id, t.task_id, t.map_index) for t in body.task_instances]


def _runs(request: Request, user: User, body: shapes.ClearRuns | shapes.MarkRuns) -> list[RunRef]:
    for dag_id in sorted({r.dag_id for r in body.runs}):
        check_dag(request, user, dag_id, "edit")
    return [RunRef(r.dag_id, r.run_id) for r in body.runs]


@router.post("/task-instances/clear", responses=TOO_MANY)
def clear_task_instances(
    request: Request, body: shapes.ClearTaskInstances, user: DagOp
) -> shapes.BulkResult:
    """Clear task instances so they run again (op): with ``upstream``/``downstream`` their
    relatives in each run, with ``past``/``future`` the same tasks in earlier or later runs."""
    refs = _tasks(request, user, body)
    return _act(
        request,
        user,
        body.dry_run,
        refs,
        lambda conn, actor: bulk_manual.clear_task_instances(
            conn,
            refs,
            actor,
            upstream=body.upstream,
            downstream=body.downstream,
            past=body.past,
            future=body.future,
            only_failed=body.only_failed,
            only_running=body.only_running,
        ),
    )


@router.post("/task-instances/mark", responses=TOO_MANY)
def mark_task_instances(
    request: Request, body: shapes.MarkTaskInstances, user: DagOp
) -> shapes.BulkResult:
    """Mark task instances success or failed (op): with ``upstream``/``downstream`` their
    relatives in each run, with ``past``/``future`` the same instances in earlier or later
    runs."""
    refs = _tasks(request, user, body)
    return _act(
        request,
        user,
        body.dry_run,
        refs,
        lambda conn, actor: bulk_manual.mark_task_instances(
            conn,
            refs,
            TaskState(body.state),
            actor,
            upstream=body.upstream,
            downstream=body.downstream,
            past=body.past,
            future=body.future,
        ),
    )


@router.post("/runs/clear", responses=TOO_MANY)
def clear_runs(request: Request, body: shapes.ClearRuns, user: DagOp) -> shapes.BulkResult:
    """Clear every task instance of these runs, or only the failed ones (op)."""
    refs = _runs(request, user, body)
    return _act(
        request,
        user,
        body.dry_run,
        refs,
        lambda conn, actor: bulk_manual.clear_runs(conn, refs, actor, only_failed=body.only_failed),
    )


@router.post("/runs/mark", responses=TOO_MANY)
def mark_runs(request: Request, body: shapes.MarkRuns, user: DagOp) -> shapes.BulkResult:
    """Mark runs success (every task) or failed (every unfinished task) (op)."""
    refs = _runs(request, user, body)
    return _act(
        request,
        user,
        body.dry_run,
        refs,
        lambda conn, actor: bulk_manual.mark_runs(conn, refs, TaskState(body.state), actor),
    )
