"""``PUT /api/v2/parseDagFile/{file_token}``: parse a DAG file now, not at its next change.

The token is one a DAG answer carried (``file_token``: the file's path, signed by this
server; see ``file_tokens``). The request is written to the store and the schedulers' DAG
file processors parse the file at their next scan (``dag_scan_seconds``), changed or not. It
needs the right to edit every DAG the file defines, as a change to those DAGs would; a file
none of whose DAGs the caller may read is unknown to them (404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response

from conveyor.exceptions import NotFoundError
from conveyor.store import parse_requests
from conveyor.store.reads import dags as dag_reads
from conveyor.web import audit_trail
from conveyor.web.airflow_api import file_tokens
from conveyor.web.airflow_api.common import EDIT, READ, Editor, dag_visible
from conveyor.web.airflow_api.differences import differs
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["DAG Parsing"])

FileToken = Annotated[str, Path(max_length=3000)]


@router.put(
    "/parseDagFile/{file_token}",
    status_code=201,
    openapi_extra=differs(
        "parsed at the schedulers' next scan (dag_scan_seconds); needs edit rights on every "
        "DAG the file defines"
    ),
)
def reparse_dag_file(request: Request, file_token: FileToken, user: Editor) -> Response:
    """Ask for the file to be parsed now; 201 with no body, as Airflow answers."""
    try:
        fileloc = file_tokens.read(get_settings(request), file_token)
    except file_tokens.BadFileToken as exc:
        raise HTTPException(400, str(exc)) from None
    store = get_store(request)
    with store.read() as conn:
        dag_ids = [
            r.dag_id
            for r in dag_reads.list_dag_rows(conn, include_inactive=True)
            if r.fileloc == fileloc
        ]
    if not any(dag_visible(user, d, READ) for d in dag_ids):
        raise NotFoundError("no DAG file is known for this file_token")
    refused = [d for d in dag_ids if not dag_visible(user, d, EDIT)]
    if refused:
        raise HTTPException(
            403,
            f"user {user.username!r} may not edit DAG {refused[0]!r}, which the file defines",
        )
    with store.write() as conn:
        parse_requests.request_parse(conn, fileloc)
    audit_trail.note(request, target=",".join(dag_ids), fileloc=fileloc)
    return Response(status_code=201)
