"""The task instance a ``/api/v2`` route names (``dag_id``, ``dag_run_id``, ``task_id`` and
its map index) as one FastAPI dependency, and its lookup (404 in Airflow's words).

Each class takes its route's parameters in the order Airflow's document lists them. A route
lists its own parameters before its dependencies', so one with a further parameter of the
same kind (a try number in the path) takes a class that adds it. The classes live here, as
the annotations of the fields they inherit are read in the module that declares the class.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Query, Request

from conveyor.store.engine import Connection
from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.tasks import InstanceRow
from conveyor.web.airflow_api.common import (
    DagIdPath,
    MapIndexPath,
    RunIdPath,
    TaskIdPath,
    TryNumberPath,
    require_dag,
)
from conveyor.web.airflow_api.ti_lookup import MapIndexQuery, instance_or_404
from conveyor.web.auth import User
from conveyor.web.deps import get_store


@dataclass(frozen=True)
class TaskAt:
    """A task of a run; as an instance, its unmapped one (map index -1: the route has no
    ``map_index`` parameter)."""

    dag_id: DagIdPath
    dag_run_id: RunIdPath
    task_id: TaskIdPath
    map_index: int = field(default=-1, init=False)

    def find(self, conn: Connection) -> tuple[RunListing, InstanceRow]:
        """The run and the instance; 404 when there is none (:func:`instance_or_404`)."""
        return instance_or_404(conn, self.dag_id, self.dag_run_id, self.task_id, self.map_index)


@dataclass(frozen=True)
class QueriedInstanceAt(TaskAt):
    """The instance at the ``map_index`` query parameter (-1, a task not mapped, unless
    given)."""

    map_index: MapIndexQuery = -1


@dataclass(frozen=True)
class MappedInstanceAt(QueriedInstanceAt):
    """The instance at the path's map index (``.../taskInstances/{task_id}/{map_index}``):
    a route's twin of the one taking it from the query."""

    map_index: MapIndexPath = field()  # no default: not the base's -1 (a class attribute)


@dataclass(frozen=True, kw_only=True)
class QueriedTryAt(QueriedInstanceAt):
    """A try of the instance (``.../{task_id}/tries/{task_try_number}``); keyword-only, as
    it follows the map index's default."""

    task_try_number: TryNumberPath


@dataclass(frozen=True)
class MappedTryAt(QueriedTryAt):
    """A try of the instance at the path's map index (``.../{map_index}/tries/...``)."""

    map_index: MapIndexPath = field()  # no default: not the base's -1 (a class attribute)


@dataclass(frozen=True)
class HitlTryAt(MappedInstanceAt):
    """The try whose question a route reads (``.../hitlDetails/tries/{try_number}``)."""

    try_number: TryNumberPath


@dataclass(frozen=True, kw_only=True)
class LinksAt(QueriedInstanceAt):
    """The instance whose extra links a route reads, and the try asked about (None: any)."""

    try_number: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None


@dataclass(frozen=True)
class XComAt(TaskAt):
    """An XCom key of a task's instances (``.../xcomEntries/{xcom_key}``); which instance,
    the route's query or body says (its ``map_index``)."""

    xcom_key: str


@contextmanager
def reading(
    request: Request, user: User, at: TaskAt
) -> Iterator[tuple[Connection, RunListing, InstanceRow]]:
    """A read of the store with the run and the instance ``at`` names, for ``user``: 404
    unless they may read its DAG (:func:`require_dag`) and it exists."""
    require_dag(user, at.dag_id)
    with get_store(request).read() as conn:
        run, row = at.find(conn)
        yield conn, run, row


Task = Annotated[TaskAt, Depends()]
QueriedInstance = Annotated[QueriedInstanceAt, Depends()]
MappedInstance = Annotated[MappedInstanceAt, Depends()]
QueriedTry = Annotated[QueriedTryAt, Depends()]
MappedTry = Annotated[MappedTryAt, Depends()]
HitlTry = Annotated[HitlTryAt, Depends()]
Links = Annotated[LinksAt, Depends()]
XCom = Annotated[XComAt, Depends()]
