"""Test a stored connection from the web (ops and admins): its type's hook opens it and
runs the hook's own check (``SELECT 1`` for a database, a request for HTTP), as Airflow's
``test_connection``. The answer says whether it worked and why not, with every secret of
the connection masked, and the call is recorded in the audit log (``connection.test``).
"""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from conveyor import connections
from conveyor.connections import repository
from conveyor.connections.masking import MASK
from conveyor.connections.models import Connection
from conveyor.exceptions import ConfigError
from conveyor.providers.registry import HOOKS, OTHER_HOOKS
from conveyor.web.api.common import AUTH, NOT_FOUND, Op
from conveyor.web.api.connections import ConnId
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["connections"], responses={**AUTH, **NOT_FOUND})

#: conn_type -> "module:class" of the hooks that test a connection: the registry's, and the
#: hooks that read one type of connection themselves.
TESTERS: dict[str, str] = {
    **HOOKS,
    **OTHER_HOOKS,
    "http": "conveyor.providers.http.hook:HttpHook",
    "https": "conveyor.providers.http.hook:HttpHook",
    "ssh": "conveyor.providers.ssh.hook:SSHHook",
    "sftp": "conveyor.providers.sftp.hook:SFTPHook",
}
#: A test that has not answered by then is reported as failed (the hook may still be waiting).
TEST_SECONDS = 20.0


class ConnectionTestResult(BaseModel):
    status: bool
    message: str


@router.post("/connections/{conn_id}/test", response_model=ConnectionTestResult)
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
    target = TESTERS.get(conn.conn_type.replace("-", "_").lower())
    if target is None:
        kinds = ", ".join(sorted(TESTERS))
        message = (
            f"Conveyor has no hook that tests {conn.conn_type!r} connections (it tests {kinds})"
        )
        return ConnectionTestResult(status=False, message=message)
    with connections.bind(store, settings), ThreadPoolExecutor(1) as pool:
        running = pool.submit(_run_test, target, conn_id)
        try:
            ok, message = running.result(timeout=TEST_SECONDS)
        except FutureTimeout:
            ok, message = False, f"no answer within {TEST_SECONDS:g} s"
    return ConnectionTestResult(status=ok, message=_masked(message, conn))


def _run_test(target: str, conn_id: str) -> tuple[bool, str]:
    module, _, name = target.partition(":")
    try:
        hook_class: Any = getattr(importlib.import_module(module), name)
        hook = hook_class(**{hook_class.conn_name_attr: conn_id})
    except ImportError as exc:
        return False, f"{target} cannot be imported: {exc} (install its extra)"
    except Exception as exc:  # reported, as Airflow's test_connection does
        return False, f"{type(exc).__name__}: {exc}"
    tester = getattr(hook, "test_connection", None)
    if tester is None:
        return False, f"{name} has no test_connection"
    try:
        ok, message = tester()
    except Exception as exc:  # a hook that raises instead of answering (False, why)
        return False, f"{type(exc).__name__}: {exc}"
    return bool(ok), str(message)


def _masked(message: str, conn: Connection) -> str:
    for secret in sorted((str(v) for v in conn.secret_values()), key=len, reverse=True):
        if secret:
            message = message.replace(secret, MASK)
    return message[:2000]
