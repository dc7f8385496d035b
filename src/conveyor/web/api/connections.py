"""Connections and variables over the API: ops read them (secrets masked), admins change them.

Passwords, secret extra values (by name or marked in ``secret_fields``) and secret variables
(by key or marked ``secret``) are returned as ``***``; an admin may ask for ``?reveal=true``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from conveyor.connections import repository
from conveyor.connections.masking import MASK
from conveyor.connections.models import Connection
from conveyor.exceptions import ConfigError
from conveyor.web.api.common import AUTH, NOT_FOUND, Admin, Op
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["connections"], responses={**AUTH, **NOT_FOUND})

KEY_PATTERN = r"^[A-Za-z0-9_.\-]{1,250}$"
ConnId = Annotated[str, Path(pattern=KEY_PATTERN, description="the connection's id")]
VarKey = Annotated[str, Path(pattern=KEY_PATTERN, description="the variable's key")]
Reveal = Annotated[bool, Query(description="show secrets (admin only)")]


class ConnectionInfo(BaseModel):
    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None = Field(description="'***' unless revealed")
    schema_: str | None = Field(alias="schema")
    extra: dict[str, Any]
    description: str | None
    uri: str
    secret_fields: list[str] = Field(description="fields masked whatever their name")

    model_config = ConfigDict(populate_by_name=True)


class ConnectionList(BaseModel):
    connections: list[ConnectionInfo]


class ConnectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    uri: str | None = Field(default=None, max_length=4000, description="or the fields below")
    conn_type: str | None = Field(default=None, max_length=100)
    host: str | None = Field(default=None, max_length=500)
    port: int | None = Field(default=None, ge=0, le=65535)
    login: str | None = Field(default=None, max_length=500)
    password: str | None = Field(default=None, max_length=4000)
    schema_: str | None = Field(default=None, alias="schema", max_length=500)
    extra: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=4000)
    secret_fields: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="'login' or extra keys to mask whatever their name",
    )


class VariableInfo(BaseModel):
    key: str
    value: str = Field(description="'***' for secret variables unless revealed")
    description: str | None
    secret: bool = Field(default=False, description="marked secret when it was set")


class VariableList(BaseModel):
    variables: list[VariableInfo]


class VariableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(max_length=1_000_000)
    description: str | None = Field(default=None, max_length=4000)
    secret: bool = Field(default=False, description="mask it whatever its key")


def _may_reveal(reveal: bool, user: User) -> bool:
    if reveal and user.role != "admin":
        raise HTTPException(403, "only an admin may reveal secrets")
    return reveal


def _info(conn: Connection, reveal: bool) -> ConnectionInfo:
    shown = conn if reveal else conn.masked()
    return ConnectionInfo(
        conn_id=conn.conn_id,
        conn_type=conn.conn_type,
        host=conn.host,
        port=conn.port,
        login=shown.login,
        password=shown.password,
        schema=conn.schema,
        extra=shown.extra,
        description=conn.description,
        uri=conn.get_uri(reveal=reveal),
        secret_fields=list(conn.secret_fields),
    )


def _bad_input(exc: ConfigError) -> HTTPException:
    return HTTPException(422, str(exc))


@router.get("/connections", response_model=ConnectionList)
def list_connections(request: Request, user: Op, reveal: Reveal = False) -> ConnectionList:
    reveal = _may_reveal(reveal, user)
    try:
        found = repository.list_connections(get_store(request), get_settings(request))
    except ConfigError as exc:
        raise HTTPException(409, str(exc)) from None  # stored under another key
    return ConnectionList(connections=[_info(c, reveal) for c in found])


@router.get("/connections/{conn_id}", response_model=ConnectionInfo)
def get_connection(
    request: Request, conn_id: ConnId, user: Op, reveal: Reveal = False
) -> ConnectionInfo:
    reveal = _may_reveal(reveal, user)
    try:
        conn = repository.get_connection(get_store(request), get_settings(request), conn_id)
    except ConfigError as exc:
        raise HTTPException(409, str(exc)) from None
    return _info(conn, reveal)


@router.put("/connections/{conn_id}", response_model=ConnectionInfo)
def put_connection(
    request: Request, conn_id: ConnId, body: ConnectionBody, user: Admin
) -> ConnectionInfo:
    try:
        if body.uri:
            conn = Connection.from_uri(conn_id, body.uri, body.description)
            if body.secret_fields:
                fields = (*conn.secret_fields, *body.secret_fields)
                conn = dataclasses.replace(conn, secret_fields=fields)
        elif body.conn_type:
            conn = Connection(
                conn_id=conn_id,
                conn_type=body.conn_type,
                host=body.host,
                port=body.port,
                login=body.login,
                password=body.password,
                schema=body.schema_,
                extra=body.extra,
                description=body.description,
                secret_fields=tuple(body.secret_fields),
            )
        else:
            raise HTTPException(422, "give 'uri', or 'conn_type' and the other fields")
        repository.set_connection(get_store(request), get_settings(request), conn)
    except ConfigError as exc:
        raise _bad_input(exc) from None
    return _info(conn, reveal=False)


@router.delete("/connections/{conn_id}", status_code=204)
def delete_connection(request: Request, conn_id: ConnId, user: Admin) -> None:
    if not repository.delete_connection(get_store(request), conn_id):
        raise HTTPException(404, f"no connection {conn_id!r} in the store")


def _shown(entry: repository.VariableEntry, reveal: bool) -> VariableInfo:
    value = entry.value if reveal or not entry.masked else MASK
    return VariableInfo(
        key=entry.key, value=value, description=entry.description, secret=entry.secret
    )


@router.get("/variables", response_model=VariableList)
def list_variables(request: Request, user: Op, reveal: Reveal = False) -> VariableList:
    reveal = _may_reveal(reveal, user)
    try:
        found = repository.list_variables(get_store(request), get_settings(request))
    except ConfigError as exc:
        raise HTTPException(409, str(exc)) from None
    return VariableList(variables=[_shown(entry, reveal) for entry in found])


@router.get("/variables/{key}", response_model=VariableInfo)
def get_variable(request: Request, key: VarKey, user: Op, reveal: Reveal = False) -> VariableInfo:
    reveal = _may_reveal(reveal, user)
    try:
        entry = repository.get_variable_entry(get_store(request), get_settings(request), key)
    except ConfigError as exc:
        raise HTTPException(409, str(exc)) from None
    if entry is None:
        raise HTTPException(404, f"no variable {key!r}")
    return _shown(entry, reveal)


@router.put("/variables/{key}", response_model=VariableInfo)
def put_variable(request: Request, key: VarKey, body: VariableBody, user: Admin) -> VariableInfo:
    try:
        repository.set_variable(
            get_store(request),
            get_settings(request),
            key,
            body.value,
            body.description,
            secret=body.secret,
        )
    except ConfigError as exc:
        raise _bad_input(exc) from None
    entry = repository.VariableEntry(key, body.value, body.description, body.secret)
    return _shown(entry, reveal=False)


@router.delete("/variables/{key}", status_code=204)
def delete_variable(request: Request, key: VarKey, user: Admin) -> None:
    if not repository.delete_variable(get_store(request), key):
        raise HTTPException(404, f"no variable {key!r} in the store")
