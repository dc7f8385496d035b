"""An action done, or only previewed: the API's ``dry_run`` for clears and marks.

A preview makes the very same calls in the same transaction and then rolls it back, so what
it answers is what confirming it changes, and it leaves no audit entry. The bulk actions
(``web/api/bulk.py``) and the actions on one task instance or one run (``web/api/tasks.py``,
``web/api/runs.py``) all go through :func:`done_or_previewed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from fastapi import Request

from conveyor.store.engine import Connection
from conveyor.web.audit_trail import note_each
from conveyor.web.deps import get_store

T = TypeVar("T")


class _Preview(Exception, Generic[T]):
    """Raised inside the transaction of a dry run so that it rolls back, carrying what the
    action answered."""

    def __init__(self, answer: T) -> None:
        super().__init__("dry run")
        self.answer = answer


def done_or_previewed(request: Request, dry_run: bool, action: Callable[[Connection], T]) -> T:
    """``action`` in one write transaction, committed, or rolled back when ``dry_run`` (and
    then no audit entry is written for the request); its answer either way."""
    try:
        with get_store(request).write() as conn:
            answer = action(conn)
            if dry_run:
                raise _Preview(answer)
            return answer
    except _Preview as preview:
        note_each(request, [])  # a preview changes nothing: no entry
        found: T = preview.answer
        return found
