"""Connections and variables over the API: ops read them (secrets masked), admins change them.

Passwords, secret extra values (by name or marked in ``secret_fields``) and secret variables
(by key or marked ``secret``) are returned as ``***``; an admin may ask for ``?reveal=true``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from conveyor.config import Settings
from conveyor.connections import repository
from conveyor.connections.masking import MASK
from conveyor.connections.models import Connection, extra_text
from conveyor.exceptions import ConfigError
from conveyor.store.engine import Store
from conveyor.web import queries, schemas, strict_json
from conveyor.web.api.common import AUTH, NOT_FOUND, Admin, Op
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store
from conveyor.web.strict_json import StrictDict, StrictText

router = APIRouter(tags=["connections"], responses={**AUTH, **NOT_FOUND})

P = ParamSpec("P")
T = TypeVar("T")
KEY_PATTERN = r"^[A-Za-z0-9_.\-]{1,250}$"
ConnId = Annotated[str, Path(pattern=KEY_PATTERN, description="the connection's id")]
VarKey = Annotated[str, Path(pattern=KEY_PATTERN, description="the variable's key")]
Reveal = Annotated[bool, Query(description="show secrets (admin only)")]


class ConnectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    uri: str | None = Field(default=None, max_length=4000, description="or the fields below")
    conn_type: str | None = Field(default=None, max_length=100)
    host: str | None = Field(default=None, max_length=500)
    port: int | None = Field(default=None, ge=0, le=65535)
    login: str | None = Field(default=None, max_length=500)
    password: str | None = Field(default=None, max_length=4000)
    schema_: str | None = Field(default=None, alias="schema", max_length=500)
    extra: StrictDict = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=4000)
    secret_fields: list[str] | None = Field(
        default=None,
        max_length=100,
        description="'login', 'host', 'schema' or extra keys to mask whatever their name; "
        "left out, a connection that exists keeps its marks (those that still apply) "
        "besides the URI's own; [] removes them",
    )
    keep_secrets: bool = Field(
        default=False,
        description="keep the stored password when 'password' is left out, and the stored "
        "value of every field or extra key sent back masked ('***'): an edit form never "
        "sees the secrets it saves",
    )

    @model_validator(mode="after")
    def _strict_text(self) -> ConnectionBody:
        found = strict_json.problem(self.model_dump(by_alias=True))
        if found:
            raise ValueError(found)
        return self


#: What a connection's body says about how to take it, not fields of the connection.
_NOT_CONNECTION_FIELDS = {"uri", "secret_fields", "keep_secrets"}


class VariableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: StrictText = Field(max_length=1_000_000)
    description: StrictText | None = Field(default=None, max_length=4000)
    secret: bool | None = Field(
        default=None,
        description="mask it whatever its key; left out, a variable keeps the mark it has",
    )


def _may_reveal(reveal: bool, user: User) -> bool:
    if reveal and user.role != "admin":
        raise HTTPException(403, "only an admin may reveal secrets")
    return reveal


def _bad_input(exc: ConfigError) -> HTTPException:
    return HTTPException(422, str(exc))


def _stored(
    request: Request,
    read: Callable[Concatenate[Store, Settings, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``read(store, settings, *args, **kwargs)``; a stored entry that cannot be read (e.g.
    kept under another key) is a 409."""
    try:
        return read(get_store(request), get_settings(request), *args, **kwargs)
    except ConfigError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/connections")
def list_connections(request: Request, user: Op, reveal: Reveal = False) -> schemas.ConnectionList:
    reveal = _may_reveal(reveal, user)
    found = _stored(request, repository.list_connections)
    return schemas.ConnectionList(connections=[queries.connection_info(c, reveal) for c in found])


@router.get("/connections/{conn_id}")
def get_connection(
    request: Request, conn_id: ConnId, user: Op, reveal: Reveal = False
) -> schemas.ConnectionInfo:
    reveal = _may_reveal(reveal, user)
    conn = _stored(request, repository.get_connection, conn_id, secrets_backend=False)
    return queries.connection_info(conn, reveal)


@router.put("/connections/{conn_id}")
def put_connection(
    request: Request, conn_id: ConnId, body: ConnectionBody, user: Admin
) -> schemas.ConnectionInfo:
    try:
        if body.uri:
            conn = Connection.from_uri(conn_id, body.uri, body.description)
            if body.secret_fields:
                fields = (*conn.secret_fields, *body.secret_fields)
                conn = dataclasses.replace(conn, secret_fields=fields)
        elif body.conn_type:
            # The body's other fields are the connection's own, by the same names.
            given = body.model_dump(by_alias=True, exclude=_NOT_CONNECTION_FIELDS)
            conn = Connection(
                conn_id=conn_id, secret_fields=tuple(body.secret_fields or ()), **given
            )
        else:
            raise HTTPException(422, "give 'uri', or 'conn_type' and the other fields")
        if body.keep_secrets:
            conn = _kept_secrets(request, conn, body.password is None)
        if found := strict_json.problem(conn.extra_dejson, "extra"):  # also what a URI's query held
            raise HTTPException(422, found)
        conn = repository.set_connection(
            get_store(request), get_settings(request), conn, keep_marks=body.secret_fields is None
        )
        # The marks it was stored with, so the audit row masks the fields they name.
        audit_note(request, secret_fields=list(conn.secret_fields))
    except ConfigError as exc:
        raise _bad_input(exc) from None
    return queries.connection_info(conn, reveal=False)


def _kept_secrets(request: Request, conn: Connection, keep_password: bool) -> Connection:
    """``conn`` with the stored connection's secrets wherever it carries the mask."""
    if conn.conn_id not in repository.stored_connection_ids(get_store(request)):
        return conn
    stored = repository.get_connection(
        get_store(request), get_settings(request), conn.conn_id, secrets_backend=False
    )
    kept: dict[str, object] = {}
    for name in ("host", "login", "schema", "password"):
        if getattr(conn, name) == MASK or (name == "password" and keep_password):
            kept[name] = getattr(stored, name)
    kept_extra = stored.extra_dejson
    extra = {
        key: kept_extra.get(key) if value == MASK else value
        for key, value in conn.extra_dejson.items()
    }
    return dataclasses.replace(conn, extra=extra_text(extra), **kept)  # type: ignore[arg-type]


@router.delete("/connections/{conn_id}", status_code=204)
def delete_connection(request: Request, conn_id: ConnId, user: Admin) -> None:
    if not repository.delete_connection(get_store(request), conn_id):
        raise HTTPException(404, f"no connection {conn_id!r} in the store")


@router.get("/variables")
def list_variables(request: Request, user: Op, reveal: Reveal = False) -> schemas.VariableList:
    reveal = _may_reveal(reveal, user)
    found = _stored(request, repository.list_variables)
    return queries.list_variables(found, reveal)


@router.get("/variables/{key}")
def get_variable(
    request: Request, key: VarKey, user: Op, reveal: Reveal = False
) -> schemas.VariableInfo:
    reveal = _may_reveal(reveal, user)
    entry = _stored(request, repository.get_variable_entry, key, secrets_backend=False)
    if entry is None:
        raise HTTPException(404, f"no variable {key!r}")
    return queries.variable_info(entry, reveal)


@router.put("/variables/{key}")
def put_variable(
    request: Request, key: VarKey, body: VariableBody, user: Admin
) -> schemas.VariableInfo:
    try:
        secret = repository.set_variable(
            get_store(request),
            get_settings(request),
            key,
            body.value,
            body.description,
            secret=body.secret,
        )
    except ConfigError as exc:
        raise _bad_input(exc) from None
    entry = repository.VariableEntry(key, body.value, body.description, secret)
    return queries.variable_info(entry, reveal=False)


@router.delete("/variables/{key}", status_code=204)
def delete_variable(request: Request, key: VarKey, user: Admin) -> None:
    if not repository.delete_variable(get_store(request), key):
        raise HTTPException(404, f"no variable {key!r} in the store")
