"""A run's note: the short text an op or admin writes on it (a task instance's note is a
route of its own, in tasks.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from conveyor.store import notes
from conveyor.web import schemas
from conveyor.web.api.common import AUTH, NOT_FOUND, DagId, DagOp, RunId
from conveyor.web.deps import get_store

router = APIRouter(tags=["runs"], responses=AUTH)


@router.put("/dags/{dag_id}/runs/{run_id}/note", responses=NOT_FOUND)
def set_run_note(
    request: Request, dag_id: DagId, run_id: RunId, body: schemas.NoteRequest, user: DagOp
) -> schemas.Note:
    """Write the run's note (op); an empty note removes it. Runs show it as ``user_note``."""
    with get_store(request).write() as conn:
        return schemas.Note(note=notes.set_run_note(conn, dag_id, run_id, body.note))
