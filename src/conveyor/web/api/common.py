"""What the API routers share: the store in a read or write transaction, bounds, params."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path

from conveyor.web.auth import User, require
from conveyor.web.dag_access import require_dags

MAX_INT = 2**31 - 1  # what an INTEGER column holds: larger numbers are bad input, not a 500
ID_PATTERN = r"^[^\x00]+$"

Viewer = Annotated[User, Depends(require("viewer"))]
Op = Annotated[User, Depends(require("op"))]
Admin = Annotated[User, Depends(require("admin"))]
# Routes on DAGs and what belongs to them: named roles get in too, for the DAGs they may
# read (DagViewer) or edit (DagOp); a dag_id in the path is checked (web/dag_access.py).
DagViewer = Annotated[User, Depends(require_dags("read"))]
DagOp = Annotated[User, Depends(require_dags("edit"))]

DagId = Annotated[str, Path(max_length=250, pattern=ID_PATTERN, description="the DAG's id")]
RunId = Annotated[str, Path(max_length=250, pattern=ID_PATTERN, description="the run's id")]
TaskId = Annotated[str, Path(max_length=250, pattern=ID_PATTERN, description="the task's id")]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such DAG, run or task"}}
AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "not logged in"},
    403: {"description": "the role does not allow it, or the CSRF token is missing"},
}
