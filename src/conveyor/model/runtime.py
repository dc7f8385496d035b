"""The context of the try running in this process, for code that is not handed it.

A task's callable (or code it calls) asks :func:`get_current_context` for it; the worker
makes it current with :func:`current_context` around the try. It lives with the model, below
the worker and the Airflow layer, so that both can reach it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from conveyor.exceptions import TaskError

#: The contexts of the tries running in this process (one, but a callback may nest).
_current: list[dict[str, Any]] = []


def get_current_context() -> dict[str, Any]:
    """The running task's context, from anywhere in its code (Airflow's function of this name)."""
    if not _current:
        raise TaskError(
            "get_current_context() was called outside a running task: call it inside the "
            "task's callable (or code it calls), not at the top of the DAG file"
        )
    return _current[-1]


@contextlib.contextmanager
def current_context(context: dict[str, Any]) -> Iterator[None]:
    """Make ``context`` what :func:`get_current_context` returns while the try runs."""
    _current.append(context)
    try:
        yield
    finally:
        _current.pop()
