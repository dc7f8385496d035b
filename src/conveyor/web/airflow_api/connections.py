"""``/api/v2/connections``: Airflow's connection routes over Conveyor's connections.

As on ``/api/v1``: ops read (the password, fields marked secret and secret extra keys as
``***``), admins change. ``extra`` travels as JSON text, as in Airflow. A change that sends
a masked value back (``***``) keeps the stored secret, so a client that read a connection
and writes it back does not overwrite its password with the mask. Connections the server's
environment sets (``CONVEYOR_CONN_*``, ``AIRFLOW_CONN_*``) are listed but not changed here.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from conveyor.connections import repository
from conveyor.connections.masking import MASK
from conveyor.connections.models import Connection, extra_text
from conveyor.exceptions import ConfigError
from conveyor.providers import registry
from conveyor.web import strict_json
from conveyor.web.airflow_api import bulk
from conveyor.web.airflow_api.common import Administrator, NoTeam, Operator, Page, UpdateMask
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.env_entries import EnvEntries, key_path
from conveyor.web.airflow_api.keyed_entries import EntriesBulk, keyed_page
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

router = APIRouter(prefix="/connections", tags=["Connection"])

ConnectionId = Annotated[str, key_path("the connection's id")]
ConnectionPage = Annotated[Page, Depends(keyed_page("connection_id"))]
#: The fields Airflow's connection bodies and Conveyor's connections name alike; ``extra``,
#: JSON text in the bodies, is the other field a PATCH may change.
SAME_FIELDS = ("conn_type", "description", "host", "login", "schema", "port", "password")
FIELDS = (*SAME_FIELDS, "extra")
MASKED_READ = differs(
    "the op role reads connections; passwords, marked fields and secret extra keys show ***"
)
SECRETS_KEPT = differs("admins only; a field sent back as *** keeps the stored secret")


class ConnectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connection_id: str = Field(max_length=200, pattern=r"^[\w.-]+$")
    conn_type: str = Field(max_length=100, min_length=1)
    description: str | None = Field(default=None, max_length=4000)
    host: str | None = Field(default=None, max_length=500)
    login: str | None = Field(default=None, max_length=500)
    schema_: str | None = Field(default=None, alias="schema", max_length=500)
    port: int | None = Field(default=None, ge=0, le=65535)
    password: str | None = Field(default=None, max_length=4000)
    extra: str | None = Field(default=None, max_length=100_000)
    team_name: NoTeam = None

    @field_validator("extra", mode="after")
    @classmethod
    def _json_object(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return value
        try:
            found = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError("extra: give a JSON object as text, e.g. '{\"key\": 1}'") from None
        if not isinstance(found, dict):
            raise ValueError("extra: give a JSON object as text, e.g. '{\"key\": 1}'")
        if problem := strict_json.problem(found, "extra"):
            raise ValueError(problem)
        return value

    def extra_dict(self) -> dict[str, Any]:
        return json.loads(self.extra) if self.extra else {}

    def connection(self) -> Connection:
        given = self.model_dump(by_alias=True)
        same = {name: given[name] for name in SAME_FIELDS}
        return Connection(conn_id=self.connection_id, extra=self.extra_dict(), **same)


class ConnectionResponse(BaseModel):
    connection_id: str
    conn_type: str
    description: str | None
    host: str | None
    login: str | None
    schema_: str | None = Field(serialization_alias="schema", alias="schema")
    port: int | None
    password: str | None
    extra: str | None
    team_name: str | None = None

    model_config = ConfigDict(populate_by_name=True)


class ConnectionCollectionResponse(BaseModel):
    connections: list[ConnectionResponse]
    total_entries: int


class ConnectionTestResponse(BaseModel):
    status: bool
    message: str


def _response(conn: Connection) -> ConnectionResponse:
    shown = conn.masked()
    same = {name: getattr(shown, name) for name in SAME_FIELDS}
    return ConnectionResponse(connection_id=conn.conn_id, extra=shown.extra, **same)


CONNECTIONS = EnvEntries[Connection](
    noun="Connection",
    key_name="connection_id",
    key_of=lambda c: c.conn_id,
    order_fields={
        "connection_id": lambda c: c.conn_id,
        "id": lambda c: c.conn_id,
        "conn_type": lambda c: c.conn_type,
        "description": lambda c: c.description,
        "host": lambda c: c.masked().host,
        "port": lambda c: c.port,
        "team_name": lambda c: None,
    },
    read_one=repository.get_connection,
    read_all=repository.list_connections,
    stored_keys=repository.stored_connection_ids,
    remove=repository.delete_connection,
    other_key="The connection_id in the request body does not match the URL parameter",
)


def kept_secrets(new: Connection, old: Connection | None) -> Connection:
    """``new`` with ``old``'s value wherever ``new`` carries the mask (a read sent back)."""
    if old is None:
        return new
    kept = {
        name: getattr(old, name)
        for name in ("host", "login", "schema", "password")
        if getattr(new, name) == MASK
    }
    kept_extra = old.extra_dejson
    extra = {k: kept_extra.get(k) if v == MASK else v for k, v in new.extra_dejson.items()}
    return dataclasses.replace(new, extra=extra_text(extra), **kept)


def refuse_unless_tests_allowed(request: Request) -> None:
    """403 unless the setting ``api_test_connection`` is on (Airflow's [core] test_connection)."""
    if not get_settings(request).api_test_connection:
        raise HTTPException(
            403,
            "Testing connections is disabled on this server: an admin may turn the setting "
            "api_test_connection on (Airflow's [core] test_connection = Enabled)",
        )


def save(request: Request, conn: Connection) -> Connection:
    """Store ``conn`` (422 for one the store refuses), noting its secret fields for the audit."""
    try:
        stored = repository.set_connection(get_store(request), get_settings(request), conn)
    except ConfigError as exc:
        raise CONNECTIONS.unstorable(exc) from None
    audit_note(request, target=conn.conn_id, secret_fields=list(stored.secret_fields))
    return stored


def _patched(old: Connection, body: ConnectionBody, update_mask: list[str] | None) -> Connection:
    new = body.connection()
    given = {name: getattr(new, name) for name in FIELDS}
    changed = CONNECTIONS.masked_changes(given, update_mask)
    return kept_secrets(dataclasses.replace(old, **changed), old)


@router.get("", openapi_extra=MASKED_READ)
def get_connections(
    request: Request, user: Operator, page: ConnectionPage
) -> ConnectionCollectionResponse:
    shown, total = CONNECTIONS.page(request, page)
    return ConnectionCollectionResponse(
        connections=[_response(c) for c in shown], total_entries=total
    )


@router.get("/{connection_id}", openapi_extra=MASKED_READ)
def get_connection(
    request: Request, connection_id: ConnectionId, user: Operator
) -> ConnectionResponse:
    return _response(CONNECTIONS.existing(request, connection_id))


# Audited as connection.set, as on /api/v1 (the route name is the audit action).
@router.post("", status_code=201, openapi_extra=differs("admins only"), name="put_connection")
def post_connection(
    request: Request, body: ConnectionBody, user: Administrator
) -> ConnectionResponse:
    CONNECTIONS.refuse_existing(request, body.connection_id)
    return _response(save(request, body.connection()))


@router.patch("/{connection_id}", openapi_extra=SECRETS_KEPT, name="put_connection")
def patch_connection(
    request: Request,
    connection_id: ConnectionId,
    body: ConnectionBody,
    user: Administrator,
    update_mask: UpdateMask = None,
) -> ConnectionResponse:
    old = CONNECTIONS.changeable(request, connection_id, body.connection_id)
    return _response(save(request, _patched(old, body, update_mask)))


@router.delete("/{connection_id}", status_code=204, openapi_extra=differs("admins only"))
def delete_connection(request: Request, connection_id: ConnectionId, user: Administrator) -> None:
    CONNECTIONS.delete(request, connection_id)


@router.post(
    "/test",
    openapi_extra=differs(
        "403 unless the setting api_test_connection is on; tests the SQL, HTTP, SSH and SFTP types"
    ),
)
def test_connection(
    request: Request, body: ConnectionBody, user: Administrator
) -> ConnectionTestResponse:
    """Run the hook of the connection's type against the connection in the body (its
    masked fields filled from the stored connection of that id). Off unless the setting
    ``api_test_connection`` is on, as Airflow's ``[core] test_connection``."""
    refuse_unless_tests_allowed(request)
    conn = kept_secrets(body.connection(), CONNECTIONS.get(request, body.connection_id))
    audit_note(request, target=body.connection_id)
    ok, message = registry.check_connection(conn)
    return ConnectionTestResponse(status=ok, message=message)


class _ConnectionBulk(EntriesBulk[ConnectionBody]):
    noun = "connections"
    entries = CONNECTIONS

    def create(self, entity: ConnectionBody) -> None:
        old = CONNECTIONS.get(self.request, entity.connection_id)
        save(self.request, kept_secrets(entity.connection(), old))

    def update(self, entity: ConnectionBody, update_mask: list[str] | None) -> None:
        old = CONNECTIONS.existing(self.request, entity.connection_id)
        save(self.request, _patched(old, entity, update_mask))


@router.patch("", openapi_extra=SECRETS_KEPT)
def bulk_connections(
    request: Request, body: bulk.BulkBody[ConnectionBody], user: Administrator
) -> bulk.BulkResponse:
    return _ConnectionBulk(request).handle(body)
