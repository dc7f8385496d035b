"""Which runs a ``/api/v2`` list of DAG runs answers: Airflow's filters over Conveyor's
run reads.

The store filters by DAG, state and inclusive date bounds and pages by one column; a list
that asks no more than that is read a page at a time. Airflow's other filters (strict
bounds, ``run_after``, durations, patterns, run types, ``conf_contains``) and orders are
applied here, over the runs the store's filters keep.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads.runs import RunFilter, RunListing, Window
from conveyor.web.airflow_api.common import Page, contains, utc, visible_dag_ids
from conveyor.web.airflow_api.run_shapes import RUN_TYPES, duration, run_after, triggered_by
from conveyor.web.auth import User

#: Airflow's names to order runs by -> how to read them from a run.
RUN_FIELDS: dict[str, Callable[[RunListing], Any]] = {
    "id": lambda r: r.id,
    "state": lambda r: r.state,
    "dag_id": lambda r: r.dag_id,
    "run_id": lambda r: r.run_id,
    "dag_run_id": lambda r: r.run_id,
    "logical_date": lambda r: r.logical_date,
    "run_after": run_after,
    "start_date": lambda r: r.start_date,
    "end_date": lambda r: r.end_date,
    "duration": lambda r: duration(r.start_date, r.end_date),
    "run_type": lambda r: r.run_type,
}
#: The orders the store pages by itself.
STORE_ORDERS = {"id", "logical_date", "start_date", "end_date", "dag_id"}
DATES = ("logical_date", "start_date", "end_date", "run_after")


@dataclass(frozen=True)
class RunQuery:
    """A list request's filters, as Airflow names them (bounds by ``<date>_<op>``)."""

    dag_ids: tuple[str, ...] | None = None  # None: every DAG
    states: tuple[str, ...] = ()
    bounds: dict[str, datetime] = field(default_factory=dict)  # e.g. "start_date_gte"
    durations: dict[str, float] = field(default_factory=dict)  # e.g. "duration_lt"
    run_types: tuple[str, ...] = ()
    run_id_pattern: str | None = None
    dag_id_pattern: str | None = None
    triggering_user_name_pattern: str | None = None
    conf_contains: str | None = None

    def store_only(self) -> bool:
        """Whether the store's filters alone answer this query."""
        strict = any(
            not k.endswith(("_gte", "_lte")) or k.startswith("run_after") for k in self.bounds
        )
        return not (
            strict
            or self.durations
            or self.run_types
            or self.run_id_pattern
            or self.dag_id_pattern
            or self.triggering_user_name_pattern
            or self.conf_contains
            or (self.dag_ids is not None and len(self.dag_ids) != 1)
        )


def _window(bounds: dict[str, datetime]) -> Window:
    names = {f.name for f in fields(Window)}
    return Window(**{k: v for k, v in bounds.items() if k in names})


def _compare(value: Any, op: str, bound: Any) -> bool:
    if value is None:
        return False
    return bool(
        {
            "gte": value >= bound,
            "gt": value > bound,
            "lte": value <= bound,
            "lt": value < bound,
        }[op]
    )


def _keeps(query: RunQuery, run: RunListing) -> bool:
    for name, bound in query.bounds.items():
        column, _, op = name.rpartition("_")
        value = run_after(run) if column == "run_after" else utc(getattr(run, column))
        if not _compare(value, op, bound):
            return False
    for name, limit in query.durations.items():
        if not _compare(duration(run.start_date, run.end_date), name.rpartition("_")[2], limit):
            return False
    if query.run_types and RUN_TYPES.get(run.run_type, run.run_type) not in query.run_types:
        return False
    if query.dag_ids is not None and run.dag_id not in query.dag_ids:
        return False
    if query.run_id_pattern and not contains(query.run_id_pattern).search(run.run_id):
        return False
    if query.dag_id_pattern and not contains(query.dag_id_pattern).search(run.dag_id):
        return False
    if query.triggering_user_name_pattern:
        user = triggered_by(run)[1] or ""
        if not contains(query.triggering_user_name_pattern).search(user):
            return False
    return not (query.conf_contains and query.conf_contains not in json.dumps(run.conf or {}))


def list_runs(
    conn: Connection, user: User, query: RunQuery, page: Page
) -> tuple[list[RunListing], int]:
    """One page of the runs that match, and how many match in all."""
    keys = page.keys(list(RUN_FIELDS))
    every_dag = [r.dag_id for r in dag_reads.list_dag_rows(conn, include_inactive=True)]
    allowed = set(visible_dag_ids(user, every_dag))
    where = RunFilter(
        dag_id=query.dag_ids[0] if query.dag_ids and len(query.dag_ids) == 1 else None,
        states=query.states,
        window=_window(query.bounds),
    )
    if (
        query.store_only()
        and len(keys) == 1
        and keys[0][0] in STORE_ORDERS
        and allowed >= set(every_dag)
    ):
        name, descending = keys[0]
        total = run_reads.count_runs(conn, where=where)
        rows = run_reads.list_runs(
            conn,
            where=where,
            order=("-" if descending else "") + name,
            limit=page.limit,
            offset=page.offset,
        )
        return rows, total
    total = run_reads.count_runs(conn, where=where)
    rows = run_reads.list_runs(conn, where=where, order="-id", limit=max(total, 1), offset=0)
    kept = [r for r in rows if r.dag_id in allowed and _keeps(query, r)]
    return page.apply(kept, RUN_FIELDS), len(kept)
