"""``/api/v2/variables``: Airflow's variable routes over Conveyor's variables.

The rules of Conveyor's own API hold: ops read (values of secret variables masked as
``***``), admins change. A value that is not a string is stored as its JSON text, as
Airflow does. Variables set in the environment (``CONVEYOR_VAR_*``, ``AIRFLOW_VAR_*``) are
listed but cannot be changed here (409, as they cannot be changed by ``/api/v1``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from conveyor.config import Settings
from conveyor.connections import repository
from conveyor.connections.repository import VariableEntry
from conveyor.exceptions import ConfigError
from conveyor.store.engine import Store
from conveyor.web import strict_json
from conveyor.web.airflow_api import bulk, small_lists
from conveyor.web.airflow_api.common import (
    Administrator,
    Limit,
    Offset,
    Operator,
    OrderBy,
    Page,
    unprocessable,
)
from conveyor.web.airflow_api.differences import differs
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

router = APIRouter(prefix="/variables", tags=["Variable"])

VariableKey = Annotated[
    str, Path(max_length=250, pattern=r"^[A-Za-z0-9_.\-]+$", description="the variable's key")
]
UpdateMask = Annotated[list[str] | None, Query(max_length=10)]


class VariableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=250)
    value: JsonValue
    description: str | None = Field(default=None, max_length=4000)
    team_name: str | None = Field(default=None, max_length=50)

    @field_validator("value", mode="after")
    @classmethod
    def _as_text(cls, value: JsonValue) -> str:
        text = value if isinstance(value, str) else json.dumps(value, indent=2)
        if found := strict_json.problem(text):
            raise ValueError(found)
        if len(text) > 1_000_000:
            raise ValueError("at most 1,000,000 characters")
        return text

    @field_validator("team_name", mode="after")
    @classmethod
    def _no_teams(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("Conveyor has no teams: leave team_name out")
        return value


class VariableResponse(BaseModel):
    key: str
    value: str | None
    description: str | None
    is_encrypted: bool
    team_name: str | None = None


class VariableCollectionResponse(BaseModel):
    variables: list[VariableResponse]
    total_entries: int


def _response(entry: VariableEntry) -> VariableResponse:
    # The store encrypts every value (Fernet), as Airflow does with a fernet key.
    return VariableResponse(
        key=entry.key, value=entry.shown, description=entry.description, is_encrypted=True
    )


def _read(request: Request) -> tuple[Store, Settings]:
    return get_store(request), get_settings(request)


def _entry(request: Request, key: str) -> VariableEntry | None:
    try:
        return repository.get_variable_entry(*_read(request), key)
    except ConfigError as exc:
        raise HTTPException(409, str(exc)) from None


def _not_found(key: str) -> HTTPException:
    return HTTPException(404, f"The Variable with key: `{key}` was not found")


def _stored_or_refuse(request: Request, key: str) -> None:
    """409 for a variable the environment sets: a stored value would never be read."""
    if key not in repository.stored_variable_keys(get_store(request)):
        raise HTTPException(
            409,
            f"variable {key!r} is set in the environment of the server; change it there",
        )


def _set(request: Request, key: str, value: str, description: str | None) -> VariableEntry:
    try:
        secret = repository.set_variable(*_read(request), key, value, description)
    except ConfigError as exc:
        raise unprocessable(str(exc), "body", "key") from None
    return VariableEntry(key, value, description, secret)


ORDER_FIELDS: dict[str, Any] = {
    "key": lambda v: v.key,
    "id": lambda v: v.key,
    "_val": lambda v: v.shown,
    "description": lambda v: v.description,
    "is_encrypted": lambda v: True,
    "team_name": lambda v: None,
}


@router.get(
    "",
    response_model=VariableCollectionResponse,
    operation_id="get_variables",
    openapi_extra=differs(
        "the op role reads variables (as on /api/v1); secret ones show ***; those set in the "
        "server's environment are listed too"
    ),
)
def get_variables(
    request: Request,
    user: Operator,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
    variable_key_pattern: small_lists.Pattern = None,
    variable_key_prefix_pattern: small_lists.PrefixPattern = None,
) -> VariableCollectionResponse:
    try:
        found = repository.list_variables(*_read(request))
    except ConfigError as exc:
        raise HTTPException(409, str(exc)) from None
    matches, starts = (
        small_lists.like(variable_key_pattern),
        small_lists.prefix(variable_key_prefix_pattern),
    )
    page = Page.of(limit, offset, order_by, "id")
    found = [v for v in found if matches(v.key) and starts(v.key)]
    return VariableCollectionResponse(
        variables=[_response(v) for v in page.apply(found, ORDER_FIELDS)],
        total_entries=len(found),
    )


@router.get(
    "/{variable_key}",
    response_model=VariableResponse,
    operation_id="get_variable",
    openapi_extra=differs("the op role reads variables; secret ones show ***"),
)
def get_variable(request: Request, variable_key: VariableKey, user: Operator) -> VariableResponse:
    entry = _entry(request, variable_key)
    if entry is None:
        raise _not_found(variable_key)
    return _response(entry)


@router.post(
    "",
    response_model=VariableResponse,
    status_code=201,
    operation_id="post_variable",
    openapi_extra=differs("admins only"),
    name="put_variable",  # audited as variable.set, as on /api/v1
)
def post_variable(request: Request, body: VariableBody, user: Administrator) -> VariableResponse:
    if _entry(request, body.key) is not None:
        raise HTTPException(409, f"The Variable with key: `{body.key}` already exists")
    audit_note(request, target=body.key)
    return _response(_set(request, body.key, str(body.value), body.description))


@router.patch(
    "/{variable_key}",
    response_model=VariableResponse,
    operation_id="patch_variable",
    openapi_extra=differs(
        "admins only; a variable set in the server's environment is refused (409)"
    ),
    name="put_variable",
)
def patch_variable(
    request: Request,
    variable_key: VariableKey,
    body: VariableBody,
    user: Administrator,
    update_mask: UpdateMask = None,
) -> VariableResponse:
    if body.key != variable_key:
        raise HTTPException(400, "Invalid body, key from request body doesn't match uri parameter")
    old = _entry(request, variable_key)
    if old is None:
        raise _not_found(variable_key)
    _stored_or_refuse(request, variable_key)
    value, description = _masked_update(old, body, update_mask)
    audit_note(request, target=variable_key)
    return _response(_set(request, variable_key, value, description))


def _masked_update(
    old: VariableEntry, body: VariableBody, update_mask: list[str] | None
) -> tuple[str, str | None]:
    """The value and description after a patch that changes only ``update_mask``'s fields."""
    fields = set(update_mask) if update_mask else {"value", "description"}
    if unknown := fields - {"value", "description", "key"}:
        raise HTTPException(400, f"update_mask: no field {sorted(unknown)[0]!r} to change")
    value = str(body.value) if "value" in fields else old.value
    description = body.description if "description" in fields else old.description
    return value, description


@router.delete(
    "/{variable_key}",
    status_code=204,
    operation_id="delete_variable",
    openapi_extra=differs(
        "admins only; a variable set in the server's environment is refused (409)"
    ),
    name="delete_variable",
)
def delete_variable(request: Request, variable_key: VariableKey, user: Administrator) -> None:
    if not repository.delete_variable(get_store(request), variable_key):
        if _entry(request, variable_key) is not None:
            _stored_or_refuse(request, variable_key)
        raise _not_found(variable_key)
    audit_note(request, target=variable_key)


class _VariableBulk(bulk.BulkHandler[VariableBody]):
    noun = "variables"

    def key_of(self, entity: VariableBody) -> str:
        return entity.key

    def existing(self, keys: set[str]) -> set[str]:
        return keys & repository.stored_variable_keys(get_store(self.request))

    def create(self, entity: VariableBody) -> None:
        _set(self.request, entity.key, str(entity.value), entity.description)

    def update(self, entity: VariableBody, update_mask: list[str] | None) -> None:
        old = _entry(self.request, entity.key)
        assert old is not None  # existing() said so
        _set(self.request, entity.key, *_masked_update(old, entity, update_mask))

    def delete(self, key: str) -> None:
        repository.delete_variable(get_store(self.request), key)


@router.patch(
    "",
    response_model=bulk.BulkResponse,
    operation_id="bulk_variables",
    openapi_extra=differs("admins only"),
    name="bulk_variables",
)
def bulk_variables(
    request: Request, body: bulk.BulkBody[VariableBody], user: Administrator
) -> bulk.BulkResponse:
    return _VariableBulk(request).handle(body)
