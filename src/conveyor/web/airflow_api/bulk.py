"""Airflow's bulk body (``PATCH /variables``, ``/connections``, ``/pools``): a list of
create, update and delete actions, each with what to do when an entity exists (or does
not). The answer lists, per kind of action, the keys done and the errors; an action that
fails for one key fails whole, as Airflow's does, and the others still run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

E = TypeVar("E", bound=BaseModel)

MAX_ENTITIES = 1000


class BulkActionOnExistence(StrEnum):
    fail = "fail"
    skip = "skip"
    overwrite = "overwrite"


class BulkActionNotOnExistence(StrEnum):
    fail = "fail"
    skip = "skip"


class BulkCreateAction(BaseModel, Generic[E]):
    model_config = ConfigDict(extra="forbid")
    action: Literal["create"]
    entities: list[E] = Field(max_length=MAX_ENTITIES)
    action_on_existence: BulkActionOnExistence = BulkActionOnExistence.fail


class BulkUpdateAction(BaseModel, Generic[E]):
    model_config = ConfigDict(extra="forbid")
    action: Literal["update"]
    entities: list[E] = Field(max_length=MAX_ENTITIES)
    update_mask: list[str] | None = Field(default=None, max_length=10)
    action_on_non_existence: BulkActionNotOnExistence = BulkActionNotOnExistence.fail


class BulkDeleteAction(BaseModel, Generic[E]):
    model_config = ConfigDict(extra="forbid")
    action: Literal["delete"]
    entities: list[Annotated[str, Field(max_length=250)] | E] = Field(max_length=MAX_ENTITIES)
    action_on_non_existence: BulkActionNotOnExistence = BulkActionNotOnExistence.fail


class BulkBody(BaseModel, Generic[E]):
    model_config = ConfigDict(extra="forbid")
    actions: list[
        Annotated[
            BulkCreateAction[E] | BulkUpdateAction[E] | BulkDeleteAction[E],
            Field(discriminator="action"),
        ]
    ] = Field(max_length=100)


class BulkActionResponse(BaseModel):
    success: list[str] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BulkResponse(BaseModel):
    create: BulkActionResponse | None = None
    update: BulkActionResponse | None = None
    delete: BulkActionResponse | None = None


class BulkHandler(Generic[E]):
    """What a resource says to take part: its entities' keys, which exist, and the three
    writes. The order of the actions and of the entities in each is kept."""

    noun = "entities"
    #: Kinds of action the resource does not take ("create": ...), with the reason its
    #: error entry gives (405, as Airflow answers a bulk create of runs).
    refused: ClassVar[dict[str, str]] = {}

    def __init__(self, request: Request) -> None:
        self.request = request

    def key_of(self, entity: E) -> str:
        raise NotImplementedError

    def delete_key(self, entity: str | E) -> str:
        """The key of an entity to delete, given as its key or whole."""
        return entity if isinstance(entity, str) else self.key_of(entity)

    def existing(self, keys: set[str]) -> set[str]:
        raise NotImplementedError

    def create(self, entity: E) -> None:
        raise NotImplementedError

    def update(self, entity: E, update_mask: list[str] | None) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def handle(self, body: BulkBody[E]) -> BulkResponse:
        answer = BulkResponse()
        for action in body.actions:
            kind = action.action
            results = getattr(answer, kind) or BulkActionResponse()
            setattr(answer, kind, results)
            try:
                if kind in self.refused:
                    raise HTTPException(405, self.refused[kind])
                if isinstance(action, BulkCreateAction):
                    self._create(action, results)
                elif isinstance(action, BulkUpdateAction):
                    self._update(action, results)
                else:
                    self._delete(action, results)
            except HTTPException as exc:
                results.errors.append(
                    {"error": _reason(exc.detail), "status_code": exc.status_code}
                )
        return answer

    def _create(self, action: BulkCreateAction[E], results: BulkActionResponse) -> None:
        keys = [self.key_of(e) for e in action.entities]
        found = self.existing(set(keys))
        if found and action.action_on_existence == BulkActionOnExistence.fail:
            raise HTTPException(
                409, f"The {self.noun} with these keys: {sorted(found)} already exist."
            )
        for entity, key in zip(action.entities, keys, strict=True):
            if key in found and action.action_on_existence == BulkActionOnExistence.skip:
                continue
            self.create(entity)
            results.success.append(key)

    def _update(self, action: BulkUpdateAction[E], results: BulkActionResponse) -> None:
        keys = [self.key_of(e) for e in action.entities]
        found = self._found(keys, action.action_on_non_existence)
        for entity, key in zip(action.entities, keys, strict=True):
            if key in found:
                self.update(entity, action.update_mask)
                results.success.append(key)

    def _delete(self, action: BulkDeleteAction[E], results: BulkActionResponse) -> None:
        keys = [self.delete_key(e) for e in action.entities]
        found = self._found(keys, action.action_on_non_existence)
        for key in keys:
            if key in found:
                self.delete(key)
                results.success.append(key)

    def _found(self, keys: list[str], on_missing: BulkActionNotOnExistence) -> set[str]:
        """The ``keys`` that exist; 404 naming the others unless the action skips them."""
        found = self.existing(set(keys))
        missing = set(keys) - found
        if missing and on_missing == BulkActionNotOnExistence.fail:
            raise HTTPException(
                404, f"The {self.noun} with these keys: {sorted(missing)} were not found."
            )
        return found


def _reason(detail: Any) -> str:
    """An error's words: a 422's list of errors (``common.unprocessable``) as its messages."""
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg')}".lstrip(": ")
            for e in detail
            if isinstance(e, dict)
        )
    return str(detail)
