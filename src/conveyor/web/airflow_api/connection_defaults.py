"""``POST /api/v2/connections/defaults``: Conveyor's default connections created where no
connection of their id exists (see :mod:`conveyor.connections.defaults`); 204."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from conveyor.connections.defaults import create_defaults
from conveyor.web.airflow_api.common import Administrator
from conveyor.web.airflow_api.differences import differs
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

router = APIRouter(prefix="/connections", tags=["Connection"])


@router.post(
    "/defaults",
    status_code=204,
    openapi_extra=differs(
        "Conveyor's defaults: aws_default, fs_default, google_cloud_default, mysql_default, "
        "postgres_default, sftp_default, smtp_default, sqlite_default, ssh_default"
    ),
)
def create_default_connections(request: Request, user: Administrator) -> Response:
    """Create the default connections that do not exist yet; an existing one is kept."""
    created = create_defaults(get_store(request), get_settings(request))
    audit_note(request, created=created)
    return Response(status_code=204)
