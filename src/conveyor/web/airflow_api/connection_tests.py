"""``POST /api/v2/connections/enqueue-test`` and ``GET /api/v2/connections/enqueue-test``:
a connection test a caller polls for by token.

Airflow queues the test for a worker; Conveyor tests connections in the web server, as
``POST /connections/test`` does (and under the same setting, ``api_test_connection``): the
test runs when it is asked for, its outcome is recorded, and the answer's ``state`` is
already ``success`` or ``failed``. Polling with the token reads the recorded outcome (kept a
day). ``commit_on_success`` stores the connection when the test succeeded.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field

from conveyor.clock import utcnow
from conveyor.connections.masking import MASK, secrets_in
from conveyor.connections.models import Connection
from conveyor.providers import registry
from conveyor.store import connection_tests
from conveyor.store.connection_tests import ConnectionTestRow
from conveyor.web.airflow_api.common import Administrator, Operator, utc
from conveyor.web.airflow_api.connections import (
    CONNECTIONS,
    ConnectionBody,
    kept_secrets,
    refuse_unless_tests_allowed,
    save,
)
from conveyor.web.airflow_api.differences import differs
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_store

router = APIRouter(prefix="/connections", tags=["Connection"])

TOKEN_HEADER = "Airflow-Connection-Test-Token"


class ConnectionTestRequestBody(ConnectionBody):
    commit_on_success: bool = False
    executor: str | None = Field(default=None, max_length=200)
    queue: str | None = Field(default=None, max_length=200)


class ConnectionTestQueuedResponse(BaseModel):
    token: str
    connection_id: str
    state: str


class AsyncConnectionTestResponse(BaseModel):
    token: str
    connection_id: str
    state: str
    result_message: str | None = None
    created_at: datetime


def _without_secrets(message: str, conn: Connection) -> str:
    """The hook's message with the connection's secrets masked: it is kept in the store."""
    for secret in [conn.password, *secrets_in(conn.extra_dejson)]:
        if isinstance(secret, str) and secret:
            message = message.replace(secret, MASK)
    return message


@router.post(
    "/enqueue-test",
    status_code=202,
    openapi_extra=differs(
        "tested in the web server when asked (state is already success or failed), under "
        "the setting api_test_connection; executor and queue refused (400)"
    ),
)
def enqueue_connection_test(
    request: Request, body: ConnectionTestRequestBody, user: Administrator
) -> ConnectionTestQueuedResponse:
    """Test the connection in the body now, record how it ended, answer the poll token."""
    refuse_unless_tests_allowed(request)
    for name in ("executor", "queue"):
        if getattr(body, name) is not None:
            raise HTTPException(
                400,
                f"{name}: Conveyor tests connections in the web server, on no executor or "
                f"queue; leave {name} out",
            )
    conn = kept_secrets(body.connection(), CONNECTIONS.get(request, body.connection_id))
    ok, message = registry.check_connection(conn)
    row = ConnectionTestRow(
        token=secrets.token_urlsafe(32),
        connection_id=body.connection_id,
        state="success" if ok else "failed",
        result_message=_without_secrets(message, conn),
        created_at=utcnow(),
    )
    with get_store(request).write() as db:
        connection_tests.record(db, row)
    if ok and body.commit_on_success:
        save(request, conn)
    audit_note(request, target=body.connection_id, state=row.state)
    return ConnectionTestQueuedResponse(
        token=row.token, connection_id=row.connection_id, state=row.state
    )


@router.get("/enqueue-test")
def get_connection_test(
    request: Request,
    user: Operator,
    token: Annotated[str, Header(alias=TOKEN_HEADER, max_length=200)],
) -> AsyncConnectionTestResponse:
    """How the test of this token ended; 404 for a token never given (or older than a day)."""
    with get_store(request).read() as db:
        found = connection_tests.find(db, token)
    if found is None:
        raise HTTPException(404, f"No connection test found for token: `{token}`")
    return AsyncConnectionTestResponse(
        token=found.token,
        connection_id=found.connection_id,
        state=found.state,
        result_message=found.result_message,
        created_at=utc(found.created_at) or found.created_at,
    )
