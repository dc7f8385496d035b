"""``/api/v2/variables``: Airflow's variable routes over Conveyor's variables.

The rules of Conveyor's own API hold: ops read (values of secret variables masked as
``***``), admins change. A value that is not a string is stored as its JSON text, as
Airflow does. Variables set in the environment (``CONVEYOR_VAR_*``, ``AIRFLOW_VAR_*``) are
listed but cannot be changed here (409, as they cannot be changed by ``/api/v1``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from conveyor.connections import repository
from conveyor.connections.repository import VariableEntry
from conveyor.exceptions import ConfigError
from conveyor.web import strict_json
from conveyor.web.airflow_api import bulk
from conveyor.web.airflow_api.common import Administrator, NoTeam, Operator, Page, UpdateMask
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.env_entries import EnvEntries, key_path
from conveyor.web.airflow_api.keyed_entries import EntriesBulk, keyed_page
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

router = APIRouter(prefix="/variables", tags=["Variable"])

VariableKey = Annotated[str, key_path("the variable's key")]
VariablePage = Annotated[Page, Depends(keyed_page("variable_key"))]
#: What ``PATCH`` and ``DELETE`` say of a variable set in the server's environment.
ENV_REFUSED = differs("admins only; a variable set in the server's environment is refused (409)")


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

    def entry(self) -> VariableEntry:
        return VariableEntry(self.key, str(self.value), self.description)


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
    key_of=lambda v: v.key,
    order_fields={
        "key": lambda v: v.key,
        "id": lambda v: v.key,
        "_val": lambda v: v.shown,
        "description": lambda v: v.description,
        "is_encrypted": lambda v: True,
        "team_name": lambda v: None,
    },
    # Airflow's words, which differ here from its connections' and pools'.
    already_exists="The {noun} with {key_name}: `{key}` already exists",
    read_one=repository.get_variable_entry,
    read_all=repository.list_variables,
    stored_keys=repository.stored_variable_keys,
    remove=repository.delete_variable,
    other_key="Invalid body, key from request body doesn't match uri parameter",
)


def _set(request: Request, entry: VariableEntry) -> VariableEntry:
    try:
        store, settings = get_store(request), get_settings(request)
        secret = repository.set_variable(store, settings, entry.key, entry.value, entry.description)
    except ConfigError as exc:
        raise VARIABLES.unstorable(exc) from None
    return entry._replace(secret=secret)


def _patched(
    old: VariableEntry, body: VariableBody, update_mask: list[str] | None
) -> VariableEntry:
    """``old`` with ``body``'s value and description where ``update_mask`` names them."""
    new = body.entry()
    given: dict[str, Any] = {"value": new.value, "description": new.description}
    return old._replace(**VARIABLES.masked_changes(given, update_mask))


@router.get(
    "",
    openapi_extra=differs(
        "the op role reads variables (as on /api/v1); secret ones show ***; those set in the "
        "server's environment are listed too"
    ),
)
def get_variables(
    request: Request, user: Operator, page: VariablePage
) -> VariableCollectionResponse:
    shown, total = VARIABLES.page(request, page)
    return VariableCollectionResponse(variables=[_response(v) for v in shown], total_entries=total)


@router.get(
    "/{variable_key}", openapi_extra=differs("the op role reads variables; secret ones show ***")
)
def get_variable(request: Request, variable_key: VariableKey, user: Operator) -> VariableResponse:
    return _response(VARIABLES.existing(request, variable_key))


# Audited as variable.set, as on /api/v1 (the route name is the audit action).
@router.post("", status_code=201, openapi_extra=differs("admins only"), name="put_variable")
def post_variable(request: Request, body: VariableBody, user: Administrator) -> VariableResponse:
    VARIABLES.refuse_existing(request, body.key)
    audit_note(request, target=body.key)
    return _response(_set(request, body.entry()))


@router.patch("/{variable_key}", openapi_extra=ENV_REFUSED, name="put_variable")
def patch_variable(
    request: Request,
    variable_key: VariableKey,
    body: VariableBody,
    user: Administrator,
    update_mask: UpdateMask = None,
) -> VariableResponse:
    old = VARIABLES.changeable(request, variable_key, body.key)
    new = _patched(old, body, update_mask)
    audit_note(request, target=variable_key)
    return _response(_set(request, new))


@router.delete("/{variable_key}", status_code=204, openapi_extra=ENV_REFUSED)
def delete_variable(request: Request, variable_key: VariableKey, user: Administrator) -> None:
    VARIABLES.delete(request, variable_key)


class _VariableBulk(EntriesBulk[VariableBody]):
    noun = "variables"
    entries = VARIABLES

    def create(self, entity: VariableBody) -> None:
        _set(self.request, entity.entry())

    def update(self, entity: VariableBody, update_mask: list[str] | None) -> None:
        old = VARIABLES.existing(self.request, entity.key)
        _set(self.request, _patched(old, entity, update_mask))


@router.patch("", openapi_extra=differs("admins only"))
def bulk_variables(
    request: Request, body: bulk.BulkBody[VariableBody], user: Administrator
) -> bulk.BulkResponse:
    return _VariableBulk(request).handle(body)
