"""Which DAG an import of a DAG file is for: Airflow's ``get_parsing_context()``.

A file that generates many DAGs may build only the one a try needs, as Airflow's docs
suggest (``if ctx.dag_id is not None and ctx.dag_id != dag_id: continue``). When the DAG
processor parses a file both fields are None (every DAG is wanted); when a worker imports a
file to run a try, ``dag_id`` is the try's DAG. ``task_id`` stays None there, where Airflow
names the task: one import serves every try of the DAG in that process, so a file must build
all of the DAG's tasks (which it does whenever ``task_id`` is None).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple


class AirflowParsingContext(NamedTuple):
    """The DAG (and task) an import is for; None for each field when it is for all."""

    dag_id: str | None
    task_id: str | None


_EVERY_DAG = AirflowParsingContext(None, None)
_current: ContextVar[AirflowParsingContext] = ContextVar("parsing_context", default=_EVERY_DAG)


def get_parsing_context() -> AirflowParsingContext:
    """What the import running now is for."""
    return _current.get()


@contextmanager
def importing_for(dag_id: str) -> Iterator[None]:
    """Imports in the block are for ``dag_id`` only."""
    token = _current.set(AirflowParsingContext(dag_id, None))
    try:
        yield
    finally:
        _current.reset(token)
