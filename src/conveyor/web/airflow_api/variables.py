"""``/api/v2/variables``: Airflow's variable routes over Conveyor's variables.

The rules of Conveyor's own API hold: ops read (values of secret variables masked as
``***``), admins change. A value that is not a string is stored as its JSON text, as
Airflow does. Variables set in the environment (``CONVEYOR_VAR_*``, ``AIRFLOW_VAR_*``) are
listed but cannot be changed here (409, as they cannot be changed by ``/api/v1``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from conveyor.connections import repository
from conveyor.connections.repository import VariableEntry
from conveyor.exceptions import ConfigError
from conveyor.web import strict_json
from conveyor.web.airflow_api import bulk, small_lists
from conveyor.web.airflow_api.common import (
    Administrator,
    NoTeam,
    Operator,
    Page,
    UpdateMask,
    mask_fields,
    paged,
    unprocessable,
)
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.env_entries import EnvEntries, EnvEntriesBulk
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

router = APIRouter(prefix="/variables", tags=["Variable"])

VariableKey = Annotated[
    str, Path(max_length=250, pattern=r"^[A-Za-z0-9_.\-]+$", description="the variable's key")
]


class VariableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=250)
    value: JsonValue
    description: str | None = Field(default=None, max_length=4000)
    team_name: NoTeam = None

    @field_validator("value", mode="after")
    @classmethod
    def _as_text(cls, value: JsonValue) -> str:
        text = value if isinstance(value, str) else json.dumps(value, indent=2)
        if found := strict_json.problem(text):
            raise ValueError(found)
        if len(text) > 1_000_000:
            raise ValueError("at most 1,000,000 characters")
        return text


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


VARIABLES = EnvEntries[VariableEntry](
    noun="Variable",
    key_name="key",
    read_one=repository.get_variable_entry,
    read_all=repository.list_variables,
    stored_keys=repository.stored_variable_keys,
    remove=repository.delete_variable,
)


def _set(request: Request, key: str, value: str, description: str | None) -> VariableEntry:
    try:
        store, settings = get_store(request), get_settings(request)
        secret = repository.set_variable(store, settings, key, value, description)
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
    openapi_extra=differs(
        "the op role reads variables (as on /api/v1); secret ones show ***; those set in the "
        "server's environment are listed too"
    ),
)
def get_variables(
    request: Request,
    user: Operator,
    page: Annotated[Page, Depends(paged("id"))],
    variable_key_pattern: small_lists.Pattern = None,
    variable_key_prefix_pattern: small_lists.PrefixPattern = None,
) -> VariableCollectionResponse:
    found = small_lists.matching(
        VARIABLES.listed(request),
        lambda v: v.key,
        variable_key_pattern,
        variable_key_prefix_pattern,
    )
    shown, total = page.listed(found, ORDER_FIELDS)
    return VariableCollectionResponse(variables=[_response(v) for v in shown], total_entries=total)


@router.get(
    "/{variable_key}", openapi_extra=differs("the op role reads variables; secret ones show ***")
)
def get_variable(request: Request, variable_key: VariableKey, user: Operator) -> VariableResponse:
    return _response(VARIABLES.existing(request, variable_key))


@router.post("", status_code=201, openapi_extra=differs("admins only"), name="put_variable")
def post_variable(request: Request, body: VariableBody, user: Administrator) -> VariableResponse:
    if VARIABLES.get(request, body.key) is not None:
        raise HTTPException(409, f"The Variable with key: `{body.key}` already exists")
    audit_note(request, target=body.key)
    return _response(_set(request, body.key, str(body.value), body.description))


@router.patch(
    "/{variable_key}",
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
    old = VARIABLES.existing(request, variable_key)
    VARIABLES.refuse_unless_stored(request, variable_key)
    value, description = _masked_update(old, body, update_mask)
    audit_note(request, target=variable_key)
    return _response(_set(request, variable_key, value, description))


def _masked_update(
    old: VariableEntry, body: VariableBody, update_mask: list[str] | None
) -> tuple[str, str | None]:
    """The value and description after a patch that changes only ``update_mask``'s fields."""
    fields = mask_fields(update_mask, ("value", "description"), ignored=("key",))
    value = str(body.value) if "value" in fields else old.value
    description = body.description if "description" in fields else old.description
    return value, description


@router.delete(
    "/{variable_key}",
    status_code=204,
    openapi_extra=differs(
        "admins only; a variable set in the server's environment is refused (409)"
    ),
)
def delete_variable(request: Request, variable_key: VariableKey, user: Administrator) -> None:
    VARIABLES.delete(request, variable_key)


class _VariableBulk(EnvEntriesBulk[VariableBody]):
    noun = "variables"
    entries = VARIABLES

    def key_of(self, entity: VariableBody) -> str:
        return entity.key

    def create(self, entity: VariableBody) -> None:
        _set(self.request, entity.key, str(entity.value), entity.description)

    def update(self, entity: VariableBody, update_mask: list[str] | None) -> None:
        old = VARIABLES.existing(self.request, entity.key)
        _set(self.request, entity.key, *_masked_update(old, entity, update_mask))


@router.patch("", openapi_extra=differs("admins only"))
def bulk_variables(
    request: Request, body: bulk.BulkBody[VariableBody], user: Administrator
) -> bulk.BulkResponse:
    return _VariableBulk(request).handle(body)
