"""Which XCom entries a ``/api/v2`` list answers: the store's filters (DAG, run, task, key,
map index) and, over what they keep, Airflow's patterns and date ranges.

The store orders entries as Airflow's default order (DAG, task, run, map index, key): a list
with no other filter or order is read a page at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import xcom_entries
from conveyor.store.reads.runs import RunFilter, RunListing
from conveyor.store.reads.xcom_entries import XComEntryFilter, XComEntryRow
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.common import Page, TextFilters, utc, visible_dag_ids
from conveyor.web.airflow_api.run_shapes import run_after
from conveyor.web.auth import User

DEFAULT_ORDER = ("dag_id", "task_id", "run_id", "map_index", "key")
XCOM_FIELDS: dict[str, Callable[[XComEntryRow], Any]] = {
    "dag_id": lambda r: r.dag_id,
    "task_id": lambda r: r.task_id,
    "run_id": lambda r: r.run_id,
    "map_index": lambda r: r.map_index,
    "key": lambda r: r.key,
    "timestamp": lambda r: r.created_at,
}


@dataclass(frozen=True)
class XComListQuery:
    """Airflow's filters applied here: the text filters (``<field>_pattern`` and
    ``<field>_prefix_pattern``), ``map_index_filter``, date ranges."""

    texts: TextFilters = field(default_factory=dict)  # by TEXT_FIELDS' names
    map_index: int | None = None
    bounds: dict[str, datetime] = field(default_factory=dict)  # e.g. "logical_date_gte"

    def is_empty(self) -> bool:
        return not (self.texts or self.map_index is not None or self.bounds)


def _compare(value: Any, op: str, bound: Any) -> bool:
    return bool(
        {"gte": value >= bound, "gt": value > bound, "lte": value <= bound, "lt": value < bound}[op]
    )


class _Runs:
    """The runs of the entries, read in one query when first asked for."""

    def __init__(self, conn: Connection, dag_id: str | None) -> None:
        self.conn = conn
        self.dag_id = dag_id
        self.found: dict[tuple[str, str], RunListing] | None = None

    def of(self, row: XComEntryRow) -> RunListing:
        if self.found is None:
            where = RunFilter(dag_id=self.dag_id)
            total = run_reads.count_runs(self.conn, where=where)
            found = run_reads.list_runs(self.conn, where=where, order="id", limit=max(total, 1))
            self.found = {(r.dag_id, r.run_id): r for r in found}
        key = (row.dag_id, row.run_id)
        if key not in self.found:
            self.found[key] = run_reads.get_run(self.conn, row.dag_id, row.run_id)
        return self.found[key]


#: What each of Airflow's text filters of an XCom list reads (the run's DAG version
#: names the DAG's display name).
TEXT_FIELDS: dict[str, Callable[[Connection, _Runs, XComEntryRow], str]] = {
    "xcom_key": lambda conn, runs, row: row.key,
    "dag_display_name": lambda conn, runs, row: (
        serialized_dag(conn, runs.of(row).version_hash).display_name or row.dag_id
    ),
    "run_id": lambda conn, runs, row: row.run_id,
    "task_id": lambda conn, runs, row: row.task_id,
}


def _keeps(conn: Connection, runs: _Runs, query: XComListQuery, row: XComEntryRow) -> bool:
    if query.map_index is not None and row.map_index != query.map_index:
        return False
    for name, match in query.texts.items():
        if not match(TEXT_FIELDS[name](conn, runs, row)):
            return False
    for name, bound in query.bounds.items():
        column, _, op = name.rpartition("_")
        run = runs.of(row)
        value = run_after(run) if column == "run_after" else utc(run.logical_date)
        if not _compare(value, op, bound):
            return False
    return True


def list_xcoms(
    conn: Connection, user: User, where: XComEntryFilter, query: XComListQuery, page: Page
) -> tuple[list[XComEntryRow], int]:
    """One page of the entries that match, and how many match in all."""
    page.keys(list(XCOM_FIELDS))  # 400 for an order the list does not have
    every_dag = [r.dag_id for r in dag_reads.list_dag_rows(conn, include_inactive=True)]
    sees_all = set(visible_dag_ids(user, every_dag)) >= set(every_dag)
    if sees_all and query.is_empty() and page.order_by in (("dag_id",), DEFAULT_ORDER):
        total = xcom_entries.count_entries(conn, where)
        rows = xcom_entries.list_entries(conn, where, limit=page.limit, offset=page.offset)
        return rows, total
    rows = xcom_entries.list_entries(conn, where)
    allowed = set(visible_dag_ids(user, {r.dag_id for r in rows}))
    runs = _Runs(conn, where.dag_id)
    kept = [r for r in rows if r.dag_id in allowed and _keeps(conn, runs, query, r)]
    return page.apply(kept, XCOM_FIELDS), len(kept)
