"""Airflow's database session helpers, which import and refuse when a session is used.

``provide_session``, ``create_session`` and ``settings.Session`` are in shared helpers of
many folders (a failure callback that looks a connection up, a cleanup task). Airflow 3
imports them and gives task code a session that refuses every query; Conveyor does the same:
its store is not Airflow's database, so the session a helper gets raises
:class:`AirflowNotProvidedError` naming what to use instead at its first query, add or
commit, and a helper that never touches it runs.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from conveyor.airflow_compat.fallback import AirflowNotProvidedError

__all__ = ["NEW_SESSION", "NO_SESSION", "Session", "create_session", "provide_session"]

#: Why, and what to use instead: the message of every refusal of Airflow's ORM.
NO_SESSION = (
    "Conveyor's store is not Airflow's database, and DAG code gets no ORM session on it: "
    "read runs and task states through the REST API (docs/api.md), XComs with "
    "ti.xcom_pull, variables with Variable.get, connections with BaseHook.get_connection "
    '(docs/airflow.md, "Airflow\'s database")'
)

#: Airflow's default of a ``session`` parameter that ``provide_session`` fills.
NEW_SESSION: Any = None

_F = TypeVar("_F", bound=Callable[..., Any])


class RefusingSession:
    """The session DAG code gets: closing it is fine, anything else refuses."""

    def close(self) -> None:
        """Nothing to close (``with create_session()`` closes it on the way out)."""

    def __enter__(self) -> RefusingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise AirflowNotProvidedError(f"session.{name}(): {NO_SESSION}")

    def __repr__(self) -> str:
        return "<Conveyor's refusing stand-in for an Airflow ORM session>"


class _SessionFactory:
    """``airflow.settings.Session``: calling it gives a refusing session."""

    def __call__(self, *args: Any, **kwargs: Any) -> RefusingSession:
        return RefusingSession()

    def remove(self) -> None:
        """Airflow's scoped session has it; there is nothing to remove."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise AirflowNotProvidedError(f"settings.Session.{name}: {NO_SESSION}")


Session = _SessionFactory()


@contextlib.contextmanager
def create_session(scoped: bool = True) -> Iterator[RefusingSession]:
    """Airflow's ``create_session``: a session that refuses at its first use."""
    yield RefusingSession()


def provide_session(func: _F) -> _F:
    """Airflow's ``@provide_session``: the function gets a refusing ``session`` when its
    caller gives none, so it runs until it really uses the database."""
    parameters = list(inspect.signature(func).parameters)
    if "session" not in parameters:
        raise TypeError(f"{func.__qualname__} has no 'session' parameter for @provide_session")
    position = parameters.index("session")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if len(args) <= position and kwargs.get("session") is None:
            kwargs["session"] = RefusingSession()
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
