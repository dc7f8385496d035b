"""``GET /api/v2/dags/{d}/dagRuns/{r}/taskInstances/{t}/logs/{try_number}``: a try's log in
Airflow's shape.

The answer's ``content`` is a list of Airflow's structured messages (``timestamp``,
``level``, ``logger``, ``event``; a failure's ``error_detail``: :mod:`.log_lines`), after
the group naming the log's source, as Airflow's; ``continuation_token`` reads on from where
this answer stopped (a running try's log grows). ``Accept: application/x-ndjson`` answers
the same messages one JSON object a line, the token in the ``Airflow-Continuation-Token``
header while the try may still write; ``Accept: text/plain`` answers the text.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel

from conveyor.web import queries
from conveyor.web.airflow_api.common import DagIdPath, Reader, RunIdPath, TaskIdPath, require_dag
from conveyor.web.airflow_api.log_lines import structured
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["Task Instance"])

#: One answer's most bytes without ``full_content`` (the next comes with the token).
CHUNK_BYTES = 256 << 10
NDJSON = "application/x-ndjson"
#: Where an NDJSON answer carries its continuation token, as Airflow's.
TOKEN_HEADER = "Airflow-Continuation-Token"


class TaskInstancesLogResponse(BaseModel):
    content: list[dict[str, Any]] | list[str]
    continuation_token: str | None


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        found = json.loads(base64.urlsafe_b64decode(token.encode() + b"=="))
        offset = found["log_pos"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise HTTPException(400, "token: not a continuation_token this API handed out") from None
    if not isinstance(offset, int) or offset < 0:
        raise HTTPException(400, "token: not a continuation_token this API handed out")
    return offset


def _token(offset: int, complete: bool) -> str:
    data = json.dumps({"log_pos": offset, "end_of_log": complete}).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}",
    response_model=TaskInstancesLogResponse,
    responses={200: {"content": {"text/plain": {}, NDJSON: {"schema": {"type": "string"}}}}},
)
def get_log(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    task_id: TaskIdPath,
    try_number: Annotated[int, Path(ge=0, le=2**31 - 1)],
    user: Reader,
    full_content: bool = False,
    map_index: Annotated[int, Query(ge=-1, le=2**31 - 1)] = -1,
    token: Annotated[str | None, Query(max_length=1000)] = None,
) -> Any:
    require_dag(user, dag_id)
    at = queries.TryAddress(
        dag_id, dag_run_id, task_id, try_number, None if map_index < 0 else map_index
    )
    offset = 0 if full_content else _offset(token)
    limit = queries.LOG_READ_CAP if full_content else CHUNK_BYTES
    with get_store(request).read() as conn:
        chunk = queries.read_log(conn, get_settings(request), at, offset=offset, limit=limit)
    accept = request.headers.get("accept", "")
    if "text/plain" in accept:
        return PlainTextResponse(chunk.text)
    content: list[dict[str, Any]] = []
    if chunk.offset == 0:
        source = f"try {try_number} of {dag_id}/{dag_run_id}/{task_id}"
        content += [
            {"event": "::group::Log message source details", "sources": [source]},
            {"event": "::endgroup::"},
        ]
    content += structured(chunk.text)
    next_token = _token(chunk.next_offset, chunk.complete)
    if accept.strip().lower().startswith(NDJSON):
        lines = "".join(json.dumps(message) + "\n" for message in content)
        headers = {} if chunk.complete else {TOKEN_HEADER: next_token}
        return Response(lines, media_type=NDJSON, headers=headers)
    return TaskInstancesLogResponse(content=content, continuation_token=next_token)
