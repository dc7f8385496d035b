"""Which task instances a ``/api/v2`` list answers: one run's, or with ``~`` those of many
runs and DAGs, with Airflow's filters over Conveyor's task instance reads.

The store keeps the instances of the DAG, run, states and inclusive date bounds asked for
(``updated_at`` among them), and of the task ids, queues, map indexes and try numbers asked
for; the rest of Airflow's filters, its orders and its keyset paging (``cursor``) are
applied here.
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
from conveyor.store.reads import versions as version_reads
from conveyor.store.reads.runs import RunFilter, RunListing, Window
from conveyor.store.reads.task_lists import TaskInstanceFilter
from conveyor.store.reads.tasks import InstanceRow
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.common import Page, TextFilters, utc, visible_dag_ids
from conveyor.web.airflow_api.cursors import ListPage, cursor_page, cursored
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
    "updated_at": lambda f: f.row.updated_at,
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
    texts: TextFilters = field(default_factory=dict)  # by TEXT_FIELDS' names
    task_group_id: str | None = None  # the instances of the group's tasks, nested ones too
    version_numbers: tuple[int, ...] = ()  # of the run's DAG version
    executors: tuple[str, ...] = ()  # no task names its executor: a given one matches none
    mapped_only: bool = False  # listMapped: only the instances of a mapped task


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


def _group_tasks(dag: SerializedDag, group_id: str) -> set[str] | None:
    """The tasks of the group and of the groups within it; None: the DAG has no such group."""
    groups = {str(g.get("group_id")): g for g in dag.task_groups}
    if group_id not in groups:
        return None
    found: set[str] = set()
    wanted = [group_id]
    while wanted:
        current = wanted.pop()
        found.update(groups[current].get("tasks", ()))
        wanted += [g for g, group in groups.items() if group.get("parent") == current]
        wanted += [g for g in groups[current].get("groups", ()) if g in groups]
    return found


#: What each of Airflow's text filters of a task instance list reads.
TEXT_FIELDS: dict[str, Callable[[Found], str | None]] = {
    "dag_id": lambda found: found.run.dag_id,
    "run_id": lambda found: found.run.run_id,
    "task_display_name": lambda found: _task(found, "display_name") or found.row.task_id,
    "pool_name": lambda found: _task(found, "pool"),
    "queue_name": lambda found: found.row.queue,
    "operator_name": lambda found: _task(found, "operator_name"),
    "rendered_map_index": lambda found: found.row.rendered_map_index,
}


def _texts_match(query: TiQuery, found: Found) -> bool:
    return all(match(TEXT_FIELDS[name](found)) for name, match in query.texts.items())


def _keeps(query: TiQuery, found: Found, numbers: dict[tuple[str, str], int]) -> bool:
    row = found.row
    if query.mapped_only and row.map_index < 0:
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
    if query.operators and _operator(found) not in query.operators:
        return False
    if query.version_numbers and (
        numbers.get((found.run.dag_id, found.run.version_hash)) not in query.version_numbers
    ):
        return False
    if query.task_group_id is not None:
        members = _group_tasks(found.dag, query.task_group_id)
        if members is None or row.task_id not in members:
            return False
    return _texts_match(query, found)


def _window(bounds: dict[str, datetime]) -> Window:
    names = {f.name for f in fields(Window)}
    return Window(**{k: v for k, v in bounds.items() if k in names})


def _where(query: TiQuery) -> TaskInstanceFilter:
    """What the store filters by itself: the DAG, run, states, inclusive date bounds and
    the filters on one column of the instance (task ids, queues, map indexes, tries)."""
    return TaskInstanceFilter(
        dag_id=query.dag_id,
        run_id=query.run_id,
        states=tuple(NO_STATE if s is None else s for s in query.states),
        window=_window(query.bounds),
        task_ids=query.task_ids,
        queues=query.queues,
        map_indexes=query.map_indexes,
        try_numbers=query.try_numbers,
    )


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
    if query.executors:
        return []
    where = _where(query)
    total = task_lists.count_instances(conn, where)
    # The store's order of a page read (below): newest run first, then as made.
    rows = task_lists.list_instances(conn, where, limit=max(total, 1), offset=0, order="-run")
    allowed = set(visible_dag_ids(user, {r.dag_id for r in rows}))
    runs = _runs(conn, query, where.window)
    numbers = version_reads.version_numbers(conn) if query.version_numbers else {}
    found = []
    for row in rows:
        if row.dag_id not in allowed:
            continue
        run = runs.get((row.dag_id, row.run_id))
        if run is None:  # made since the runs were read
            run = run_reads.get_run(conn, row.dag_id, row.run_id)
        item = Found(run, serialized_dag(conn, run.version_hash), row)
        if _keeps(query, item, numbers):
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
        or query.durations
        or query.pools
        or query.operators
        or query.version_numbers
        or query.executors
        or query.mapped_only
        or query.task_group_id is not None
        or bool(query.texts)
    )


def list_instances(
    conn: Connection, user: User, query: TiQuery, page: Page, cursor: str | None = None
) -> ListPage[TaskInstanceResponse]:
    """One page of the task instances that match, and how many match in all: read a page
    at a time when the store's filters and order answer the query, else filtered here;
    with ``cursor`` (empty: the first page), the page after the row it names."""
    keys = page.keys(list(TI_FIELDS))
    every_dag = [r.dag_id for r in dag_reads.list_dag_rows(conn, include_inactive=True)]
    sees_all = set(visible_dag_ids(user, every_dag)) >= set(every_dag)
    if (
        cursor is None
        and sees_all
        and _store_only(query)
        and len(keys) == 1
        and keys[0][0] in STORE_ORDERS
    ):
        name, descending = keys[0]
        where = _where(query)
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
        return ListPage(shown, total)
    found = find_instances(conn, user, query)
    if cursor is None:
        return ListPage([f.response() for f in page.apply(found, TI_FIELDS)], len(found))
    chosen = cursor_page(found, TI_FIELDS, keys, cursor, page.limit)
    return cursored(chosen, [f.response() for f in chosen.items])
