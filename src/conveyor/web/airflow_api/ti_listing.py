"""Which task instances a ``/api/v2`` list answers: one run's, or with ``~`` those of many
runs and DAGs, with Airflow's filters over Conveyor's task instance reads.

The store keeps the instances of the DAG, run, states and inclusive date bounds asked for;
the rest of Airflow's filters and its orders are applied here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from conveyor.serialized import SerializedDag
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import task_lists
from conveyor.store.reads.runs import RunFilter, RunListing, Window
from conveyor.store.reads.task_lists import TaskInstanceFilter
from conveyor.store.reads.tasks import InstanceRow
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.common import Page, contains, utc, visible_dag_ids
from conveyor.web.airflow_api.operator_names import operator_class
from conveyor.web.airflow_api.run_shapes import duration, run_after
from conveyor.web.airflow_api.ti_shapes import (
    NO_STATE,
    TaskInstanceResponse,
    airflow_state,
    ti_response,
)
from conveyor.web.auth import User


@dataclass(frozen=True)
class Found:
    """A task instance with its run and the run's DAG version."""

    run: RunListing
    dag: SerializedDag
    row: InstanceRow

    def response(self) -> TaskInstanceResponse:
        return ti_response(self.run, self.dag, self.row)


TI_FIELDS: dict[str, Callable[[Found], Any]] = {
    "id": lambda f: f.row.id,
    "state": lambda f: f.row.state,
    "duration": lambda f: duration(f.row.start_date, f.row.end_date),
    "start_date": lambda f: f.row.start_date,
    "end_date": lambda f: f.row.end_date,
    "map_index": lambda f: f.row.map_index,
    "try_number": lambda f: f.row.try_number,
    "logical_date": lambda f: f.run.logical_date,
    "run_after": lambda f: run_after(f.run),
    "data_interval_start": lambda f: f.run.data_interval_start,
    "data_interval_end": lambda f: f.run.data_interval_end,
    "rendered_map_index": lambda f: f.row.rendered_map_index,
    "operator": lambda f: _operator(f),
    "task_id": lambda f: f.row.task_id,
    "dag_id": lambda f: f.run.dag_id,
    "run_id": lambda f: f.run.run_id,
    "dag_run_id": lambda f: f.run.run_id,
    "hostname": lambda f: f.row.hostname,
    "pool": lambda f: _task(f, "pool"),
    "queue": lambda f: f.row.queue,
    "priority_weight": lambda f: _task(f, "priority_weight"),
}


def _task(found: Found, attribute: str) -> Any:
    task = found.dag.tasks.get(found.row.task_id)
    return None if task is None else getattr(task, attribute)


def _operator(found: Found) -> str | None:
    """The task's operator as Airflow names it (``operator``: its filter and order)."""
    task = found.dag.tasks.get(found.row.task_id)
    return None if task is None else operator_class(task)


@dataclass(frozen=True)
class TiQuery:
    dag_id: str | None = None  # None: every DAG
    run_id: str | None = None  # None: every run
    task_ids: tuple[str, ...] = ()
    states: tuple[str | None, ...] = ()  # Airflow's names; None: no state yet
    bounds: dict[str, datetime] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    pools: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    map_indexes: tuple[int, ...] = ()
    try_numbers: tuple[int, ...] = ()
    operators: tuple[str, ...] = ()
    dag_id_pattern: str | None = None
    run_id_pattern: str | None = None
    task_display_name_pattern: str | None = None


def _compare(value: Any, op: str, bound: Any) -> bool:
    if value is None:
        return False
    return bool(
        {"gte": value >= bound, "gt": value > bound, "lte": value <= bound, "lt": value < bound}[op]
    )


def _date(found: Found, column: str) -> datetime | None:
    if column == "run_after":
        return run_after(found.run)
    if column == "logical_date":
        return utc(found.run.logical_date)
    return utc(getattr(found.row, column))


def _keeps(query: TiQuery, found: Found) -> bool:  # noqa: C901  (one test per filter)
    row = found.row
    if query.task_ids and row.task_id not in query.task_ids:
        return False
    if query.states and airflow_state(row.state) not in query.states:
        return False
    for name, bound in query.bounds.items():
        column, _, op = name.rpartition("_")
        if not _compare(_date(found, column), op, bound):
            return False
    for name, limit in query.durations.items():
        if not _compare(duration(row.start_date, row.end_date), name.rpartition("_")[2], limit):
            return False
    if query.pools and _task(found, "pool") not in query.pools:
        return False
    if query.queues and row.queue not in query.queues:
        return False
    if query.map_indexes and row.map_index not in query.map_indexes:
        return False
    if query.try_numbers and row.try_number not in query.try_numbers:
        return False
    if query.operators and _operator(found) not in query.operators:
        return False
    if query.dag_id_pattern and not contains(query.dag_id_pattern).search(found.run.dag_id):
        return False
    if query.run_id_pattern and not contains(query.run_id_pattern).search(found.run.run_id):
        return False
    name = _task(found, "display_name") or row.task_id
    return not (
        query.task_display_name_pattern
        and not contains(query.task_display_name_pattern).search(name)
    )


def _window(bounds: dict[str, datetime]) -> Window:
    names = {f.name for f in fields(Window)}
    return Window(**{k: v for k, v in bounds.items() if k in names})


def _runs(conn: Connection, query: TiQuery, window: Window) -> dict[tuple[str, str], RunListing]:
    """The runs the instances may belong to, read at once, by DAG and run id."""
    if query.dag_id is not None and query.run_id is not None:
        run = run_reads.get_run(conn, query.dag_id, query.run_id)
        return {(run.dag_id, run.run_id): run}
    dates = Window(
        logical_date_gte=window.logical_date_gte, logical_date_lte=window.logical_date_lte
    )
    where = RunFilter(dag_id=query.dag_id, window=dates)
    total = run_reads.count_runs(conn, where=where)
    found = run_reads.list_runs(conn, where=where, order="id", limit=max(total, 1))
    return {(r.dag_id, r.run_id): r for r in found if query.run_id in (None, r.run_id)}


def find_instances(conn: Connection, user: User, query: TiQuery) -> list[Found]:
    """Every task instance that matches, among the DAGs ``user`` may see."""
    where = TaskInstanceFilter(
        dag_id=query.dag_id,
        run_id=query.run_id,
        states=tuple(NO_STATE if s is None else s for s in query.states),
        window=_window(query.bounds),
    )
    total = task_lists.count_instances(conn, where)
    # The store's order of a page read (below): newest run first, then as made.
    rows = task_lists.list_instances(conn, where, limit=max(total, 1), offset=0, order="-run")
    allowed = set(visible_dag_ids(user, {r.dag_id for r in rows}))
    runs = _runs(conn, query, where.window)
    found = []
    for row in rows:
        if row.dag_id not in allowed:
            continue
        run = runs.get((row.dag_id, row.run_id))
        if run is None:  # made since the runs were read
            run = run_reads.get_run(conn, row.dag_id, row.run_id)
        item = Found(run, serialized_dag(conn, run.version_hash), row)
        if _keeps(query, item):
            found.append(item)
    return found


#: The orders the store pages by itself.
STORE_ORDERS = {"map_index", "start_date", "end_date", "dag_id", "task_id", "state"}


def _store_only(query: TiQuery) -> bool:
    """Whether the store's filters alone answer ``query``."""
    strict = any(
        not k.endswith(("_gte", "_lte")) or k.startswith("run_after") for k in query.bounds
    )
    return not (
        strict
        or query.task_ids
        or query.durations
        or query.pools
        or query.queues
        or query.map_indexes
        or query.try_numbers
        or query.operators
        or query.dag_id_pattern
        or query.run_id_pattern
        or query.task_display_name_pattern
    )


def list_instances(
    conn: Connection, user: User, query: TiQuery, page: Page
) -> tuple[list[TaskInstanceResponse], int]:
    """One page of the task instances that match, and how many match in all: read a page
    at a time when the store's filters and order answer the query, else filtered here."""
    keys = page.keys(list(TI_FIELDS))
    every_dag = [r.dag_id for r in dag_reads.list_dag_rows(conn, include_inactive=True)]
    sees_all = set(visible_dag_ids(user, every_dag)) >= set(every_dag)
    if sees_all and _store_only(query) and len(keys) == 1 and keys[0][0] in STORE_ORDERS:
        name, descending = keys[0]
        where = TaskInstanceFilter(
            dag_id=query.dag_id,
            run_id=query.run_id,
            states=tuple(NO_STATE if s is None else s for s in query.states),
            window=_window(query.bounds),
        )
        total = task_lists.count_instances(conn, where)
        rows = task_lists.list_instances(
            conn,
            where,
            limit=page.limit,
            offset=page.offset,
            order=("-" if descending else "") + name,
        )
        runs: dict[tuple[str, str], RunListing] = {}
        shown = []
        for row in rows:
            key = (row.dag_id, row.run_id)
            if key not in runs:
                runs[key] = run_reads.get_run(conn, row.dag_id, row.run_id)
            run = runs[key]
            shown.append(ti_response(run, serialized_dag(conn, run.version_hash), row))
        return shown, total
    found = find_instances(conn, user, query)
    return [f.response() for f in page.apply(found, TI_FIELDS)], len(found)
