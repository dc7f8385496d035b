"""What ``/api/v2/connections`` and ``/api/v2/variables`` share: entries the server's
environment may set as well as the store (``CONVEYOR_CONN_*``, ``AIRFLOW_VAR_*``...).

Both are read and listed whole, environment and store together; a broken entry (an
environment value that does not parse) makes the read a 409. Only stored entries change:
one the environment sets is refused with a 409 naming where to change it, since a stored
value would never be read. The bulk body's deletes and existence checks see stored entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from fastapi import HTTPException, Request
from pydantic import BaseModel

from conveyor.config import Settings
from conveyor.exceptions import ConfigError, NotFoundError
from conveyor.store.engine import Store
from conveyor.web.airflow_api import bulk
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)


@dataclass(frozen=True)
class EnvEntries(Generic[T]):
    """One kind of entry: how it is read, listed and deleted, and the words of its errors."""

    #: Airflow's name of the kind ("Connection") and of its key ("connection_id").
    noun: str
    key_name: str
    read_one: Callable[[Store, Settings, str], T | None]
    read_all: Callable[[Store, Settings], list[T]]
    stored_keys: Callable[[Store], set[str]]
    remove: Callable[[Store, str], bool]

    def get(self, request: Request, key: str) -> T | None:
        """The entry of ``key`` (the environment's or the store's), if any."""
        try:
            return self.read_one(get_store(request), get_settings(request), key)
        except NotFoundError:
            return None
        except ConfigError as exc:
            raise HTTPException(409, str(exc)) from None

    def existing(self, request: Request, key: str) -> T:
        """The entry of ``key``; Airflow's 404 when there is none."""
        found = self.get(request, key)
        if found is None:
            raise self.not_found(key)
        return found

    def listed(self, request: Request) -> list[T]:
        try:
            return self.read_all(get_store(request), get_settings(request))
        except ConfigError as exc:
            raise HTTPException(409, str(exc)) from None

    def not_found(self, key: str) -> HTTPException:
        return HTTPException(404, f"The {self.noun} with {self.key_name}: `{key}` was not found")

    def refuse_unless_stored(self, request: Request, key: str) -> None:
        """409 for an entry the environment sets: a stored value would never be read."""
        if key not in self.stored_keys(get_store(request)):
            raise HTTPException(
                409,
                f"{self.noun.lower()} {key!r} is set in the environment of the server; "
                "change it there",
            )

    def delete(self, request: Request, key: str) -> None:
        """Delete the stored entry of ``key`` (409 for the environment's, else 404)."""
        if not self.remove(get_store(request), key):
            if self.get(request, key) is not None:
                self.refuse_unless_stored(request, key)
            raise self.not_found(key)
        audit_note(request, target=key)


class EnvEntriesBulk(bulk.BulkHandler[B]):
    """A bulk body over :class:`EnvEntries`: the existence test and the delete are theirs."""

    entries: ClassVar[EnvEntries[Any]]

    def existing(self, keys: set[str]) -> set[str]:
        return keys & self.entries.stored_keys(get_store(self.request))

    def delete(self, key: str) -> None:
        self.entries.remove(get_store(self.request), key)
