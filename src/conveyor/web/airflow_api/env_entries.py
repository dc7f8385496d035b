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
from typing import Any, TypeVar

from fastapi import HTTPException, Path, Request

from conveyor.config import Settings
from conveyor.exceptions import ConfigError, NotFoundError
from conveyor.store.engine import Store
from conveyor.web.airflow_api.common import unprocessable
from conveyor.web.airflow_api.keyed_entries import KeyedEntries
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_settings, get_store

T = TypeVar("T")


def key_path(description: str) -> Any:
    """The path parameter of a connection's or variable's key: the letters either takes."""
    return Path(max_length=250, pattern=r"^[A-Za-z0-9_.\-]+$", description=description)


@dataclass(frozen=True, kw_only=True)
class EnvEntries(KeyedEntries[T]):
    """A kind of entry the environment may set: how it is read, listed and deleted."""

    read_one: Callable[[Store, Settings, str], T | None]
    read_all: Callable[[Store, Settings], list[T]]
    stored_keys: Callable[[Store], set[str]]
    remove: Callable[[Store, str], bool]
    #: Airflow's 400 to a change whose body names another key than its path.
    other_key: str

    def get(self, request: Request, key: str) -> T | None:
        """The entry of ``key`` (the environment's or the store's), if any."""
        try:
            return self.read_one(get_store(request), get_settings(request), key)
        except NotFoundError:
            return None
        except ConfigError as exc:
            raise HTTPException(409, str(exc)) from None

    def listed(self, request: Request) -> list[T]:
        try:
            return self.read_all(get_store(request), get_settings(request))
        except ConfigError as exc:
            raise HTTPException(409, str(exc)) from None

    def bulk_existing(self, request: Request, keys: set[str]) -> set[str]:
        return keys & self.stored_keys(get_store(request))

    def bulk_delete(self, request: Request, key: str) -> None:
        self.remove(get_store(request), key)

    def unstorable(self, exc: ConfigError) -> HTTPException:
        """The 422 for an entry the store refuses, pointing at the body's key."""
        return unprocessable(str(exc), "body", self.key_name)

    def changeable(self, request: Request, key: str, body_key: str) -> T:
        """The entry of ``key`` to change as a body naming ``body_key`` asks: 400 when that
        is another key, 404 when there is no entry, 409 for the environment's."""
        if body_key != key:
            raise HTTPException(400, self.other_key)
        found = self.existing(request, key)
        self.refuse_unless_stored(request, key)
        return found

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
