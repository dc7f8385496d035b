"""What ``/api/v2``'s key → entry resources share (connections, variables, pools).

An entry is read by its key, with Airflow's 404 (and 409 for a create of a key that exists)
in the resource's words. A list takes ``<key>_pattern`` and ``<key>_prefix_pattern`` filters
with its paging (:func:`keyed_page`) and is filtered, ordered and cut by :meth:`KeyedEntries.page`.
A bulk body's existence test and deletes are the entries' (:class:`EntriesBulk`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel

from conveyor.web.airflow_api import bulk
from conveyor.web.airflow_api.common import Page, TextFilters, mask_fields, paged, text_filters
from conveyor.web.airflow_api.text_match import Match, kept

T = TypeVar("T")
V = TypeVar("V")
B = TypeVar("B", bound=BaseModel)


@dataclass(frozen=True)
class KeyedPage(Page):
    """A page of a keyed list with the text filters of its key (None: none given)."""

    match: Match | None = None


def keyed_page(key: str) -> Callable[..., Page]:
    """A dependency taking a list's ``<key>_pattern`` and ``<key>_prefix_pattern`` with its
    paging (ordered by ``id`` unless the request says otherwise), as a :class:`KeyedPage`."""

    def dependency(page: Page, texts: TextFilters) -> Page:
        return KeyedPage(page.limit, page.offset, page.order_by, texts.get(key))

    # Built here, not written as annotations: they name this call's own dependencies.
    keyword = inspect.Parameter.KEYWORD_ONLY
    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("page", keyword, annotation=Annotated[Page, Depends(paged("id"))]),
            inspect.Parameter(
                "texts",
                keyword,
                annotation=Annotated[TextFilters, Depends(text_filters(key, max_length=500))],
            ),
        ]
    )
    return dependency


@dataclass(frozen=True, kw_only=True)
class KeyedEntries(Generic[T]):
    """One kind of entry: its words in Airflow's errors and what its list is ordered by.
    A kind says how its entries are read (:meth:`get`, :meth:`listed`) and bulk-deleted."""

    #: Airflow's name of the kind ("Connection") and of its key ("connection_id"), which
    #: is also the name of the key in the kind's bodies.
    noun: str
    key_name: str
    key_of: Callable[[T], str]
    #: What ``order_by`` may name, each with how to read it from an entry.
    order_fields: dict[str, Callable[[T], Any]]
    #: Airflow's 409 to a create of a key that has an entry.
    already_exists: str = "{noun} with {key_name}: `{key}` already exists"

    def get(self, request: Request, key: str) -> T | None:
        """The entry of ``key``, if any."""
        raise NotImplementedError

    def listed(self, request: Request) -> list[T]:
        """Every entry, as a list shows them."""
        raise NotImplementedError

    def bulk_delete(self, request: Request, key: str) -> None:
        """Delete the entry of ``key`` for a bulk body's delete action."""
        raise NotImplementedError

    def bulk_existing(self, request: Request, keys: set[str]) -> set[str]:
        """The ``keys`` a bulk body's actions find."""
        return keys & {self.key_of(entry) for entry in self.listed(request)}

    def existing(self, request: Request, key: str) -> T:
        """The entry of ``key``; Airflow's 404 when there is none."""
        found = self.get(request, key)
        if found is None:
            raise self.not_found(key)
        return found

    def not_found(self, key: str) -> HTTPException:
        return HTTPException(404, f"The {self.noun} with {self.key_name}: `{key}` was not found")

    def refuse_existing(self, request: Request, key: str) -> None:
        """409 for a create of a key that has an entry."""
        if self.get(request, key) is not None:
            words = self.already_exists.format(noun=self.noun, key_name=self.key_name, key=key)
            raise HTTPException(409, words)

    def masked_changes(
        self, given: Mapping[str, V], update_mask: Sequence[str] | None
    ) -> dict[str, V]:
        """The ``given`` fields a ``PATCH`` changes: those ``update_mask`` names, else all
        (400 for a name that is neither one of them nor the key, which is never changed)."""
        fields = mask_fields(update_mask, given, ignored=(self.key_name,))
        return {name: value for name, value in given.items() if name in fields}

    def page(self, request: Request, page: Page) -> tuple[list[T], int]:
        """The entries on the page a list asks for, and how many match its filters."""
        found = self.listed(request)
        # Airflow 2's list (``airflow2``) asks with a plain Page: nothing to filter.
        if isinstance(page, KeyedPage):
            found = kept(found, self.key_of, page.match)
        return page.listed(found, self.order_fields)


class EntriesBulk(bulk.BulkHandler[B]):
    """A bulk body over :class:`KeyedEntries`: the keys, the existence test and the deletes
    are theirs; a resource says how it creates and updates."""

    entries: ClassVar[KeyedEntries[Any]]

    def key_of(self, entity: B) -> str:
        return str(getattr(entity, self.entries.key_name))

    def existing(self, keys: set[str]) -> set[str]:
        return self.entries.bulk_existing(self.request, keys)

    def delete(self, key: str) -> None:
        self.entries.bulk_delete(self.request, key)
