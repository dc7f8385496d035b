"""Test a stored connection from the web (ops and admins): its type's hook opens it and
runs the hook's own check (``SELECT 1`` for a database, a request for HTTP), as Airflow's
``test_connection``. The answer says whether it worked and why not, with every secret of
the connection masked, and the call is recorded in the audit log (``connection.test``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from conveyor import connections
from conveyor.connections import repository
from conveyor.connections.masking import MASK
from conveyor.connections.models import Connection
from conveyor.exceptions import ConfigError
from conveyor.providers import registry
from conveyor.web.api.common import AUTH, NOT_FOUND, Op
from conveyor.web.api.connections import ConnId
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["connections"], responses={**AUTH, **NOT_FOUND})

#: A test that has not answered by then is reported as failed (the hook may still be waiting).
TEST_SECONDS = 20.0


class ConnectionTestResult(BaseModel):
    status: bool
    message: str


@router.post("/connections/{conn_id}/test")
def test_connection(request: Request, conn_id: ConnId, user: Op) -> ConnectionTestResult:
    """Open the stored connection with its type's hook and run the hook's check (op), when
    the setting ``api_test_connection`` is on (off by default, as Airflow's ``[core]
    test_connection``: a test runs a hook inside the web server). ``status`` false with the
    reason when it fails; secrets never appear in ``message``."""
    store, settings = get_store(request), get_settings(request)
    if not settings.api_test_connection:
        raise HTTPException(
            403,
            "testing connections is off on this server: an admin turns the setting "
            "api_test_connection on (Airflow's [core] test_connection = Enabled)",
        )
    try:
        conn = repository.get_connection(store, settings, conn_id)
    except ConfigError as exc:
        return ConnectionTestResult(status=False, message=str(exc))
    with connections.bind(store, settings), ThreadPoolExecutor(1) as pool:
        running = pool.submit(registry.check_connection, conn)
        try:
            ok, message = running.result(timeout=TEST_SECONDS)
        except FutureTimeout:
            ok, message = False, f"no answer within {TEST_SECONDS:g} s"
    return ConnectionTestResult(status=ok, message=_masked(message, conn))


def _masked(message: str, conn: Connection) -> str:
    for secret in sorted((str(v) for v in conn.secret_values()), key=len, reverse=True):
        if secret:
            message = message.replace(secret, MASK)
    return message[:2000]
