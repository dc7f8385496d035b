"""Which runs a ``/api/v2`` list of DAG runs answers: Airflow's filters over Conveyor's
run reads.

The store filters by DAGs, state, run type and inclusive date bounds (``updated_at`` among
them) and pages by one column; a list that asks no more than that is read a page at a time.
Airflow's other filters (strict bounds, ``run_after``, durations, patterns, versions,
``conf_contains``), its orders and its keyset paging (``cursor``) are applied here, over
the runs the store's filters keep.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from conveyor.model.schedules import DatasetSchedule
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import versions as version_reads
from conveyor.store.reads.runs import RunFilter, RunListing, Window
from conveyor.store.runs import serialized_dag
from conveyor.web.airflow_api.common import Page, TextFilters, utc, visible_dag_ids
from conveyor.web.airflow_api.cursors import COUNT_LIMIT, ListPage, cursor_page, cursored
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
    "updated_at": lambda r: r.updated_at,
    "conf": lambda r: json.dumps(r.conf or {}, sort_keys=True),
    "partition_date": lambda r: r.partition_date,
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
    texts: TextFilters = field(default_factory=dict)  # by TEXT_FIELDS' names
    conf_contains: str | None = None
    dag_versions: tuple[int, ...] = ()  # the versions' numbers (see store/reads/versions.py)
    bundle_version: str | None = None  # the DAG folder has no versions: a given one matches none
    consuming_asset_pattern: str | None = None

    def store_only(self) -> bool:
        """Whether the store's filters alone answer this query."""
        strict = any(
            not k.endswith(("_gte", "_lte")) or k.startswith(("run_after", "partition_date"))
            for k in self.bounds
        )
        here = (
            self.durations,
            self.texts,
            self.conf_contains,
            self.dag_versions,
            self.bundle_version is not None,
            self.consuming_asset_pattern,
        )
        return not (strict or any(here))

    def matches_none(self) -> bool:
        """Whether a filter on what Conveyor's runs never have (a bundle version) is given:
        it keeps no run."""
        return self.bundle_version is not None


#: The run type Conveyor stores for each of Airflow's names that differs.
STORED_RUN_TYPES = {airflow: stored for stored, airflow in RUN_TYPES.items()}


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


class _Facts:
    """What a run's filters read beyond its row, read once a list."""

    def __init__(self, conn: Connection, query: RunQuery) -> None:
        self.conn = conn
        self.numbers = version_reads.version_numbers(conn) if query.dag_versions else {}

    def consumes(self, run: RunListing, text: str) -> bool:
        """An asset-triggered run consumed the updates of the assets its DAG's version is
        scheduled on: one whose URI holds ``text``, any case."""
        if run.run_type != "dataset_triggered":
            return False
        schedule = serialized_dag(self.conn, run.version_hash).schedule
        uris = schedule.uris if isinstance(schedule, DatasetSchedule) else []
        return any(text.lower() in uri.lower() for uri in uris)


#: What each of Airflow's text filters of a run list reads.
TEXT_FIELDS: dict[str, Callable[[RunListing], str | None]] = {
    "run_id": lambda run: run.run_id,
    "dag_id": lambda run: run.dag_id,
    "triggering_user_name": lambda run: triggered_by(run)[1],
    "partition_key": lambda run: run.partition_key,
}


def _texts_match(query: RunQuery, run: RunListing) -> bool:
    return all(match(TEXT_FIELDS[name](run)) for name, match in query.texts.items())


def _keeps(query: RunQuery, run: RunListing, facts: _Facts) -> bool:
    for name, bound in query.bounds.items():
        column, _, op = name.rpartition("_")
        value = run_after(run) if column == "run_after" else utc(getattr(run, column))
        if not _compare(value, op, bound):
            return False
    for name, limit in query.durations.items():
        if not _compare(duration(run.start_date, run.end_date), name.rpartition("_")[2], limit):
            return False
    if not _texts_match(query, run):
        return False
    if query.dag_versions and (
        facts.numbers.get((run.dag_id, run.version_hash)) not in query.dag_versions
    ):
        return False
    if query.consuming_asset_pattern and not facts.consumes(run, query.consuming_asset_pattern):
        return False
    return not (query.conf_contains and query.conf_contains not in json.dumps(run.conf or {}))


def list_runs(
    conn: Connection, user: User, query: RunQuery, page: Page, cursor: str | None = None
) -> ListPage[RunListing]:
    """One page of the runs that match and how many match in all: from ``page.offset``, or
    with ``cursor`` (empty: the first page) after the row it names."""
    keys = page.keys(list(RUN_FIELDS))
    if query.matches_none():
        return ListPage([], 0, COUNT_LIMIT if cursor is not None else None)
    every_dag = [r.dag_id for r in dag_reads.list_dag_rows(conn, include_inactive=True)]
    allowed = set(visible_dag_ids(user, every_dag))
    where = RunFilter(
        dag_ids=None if query.dag_ids is None else frozenset(query.dag_ids),
        states=query.states,
        window=_window(query.bounds),
        run_types=tuple(STORED_RUN_TYPES.get(t, t) for t in query.run_types),
    )
    if (
        cursor is None
        and query.store_only()
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
        return ListPage(rows, total)
    total = run_reads.count_runs(conn, where=where)
    rows = run_reads.list_runs(conn, where=where, order="-id", limit=max(total, 1), offset=0)
    facts = _Facts(conn, query)
    kept = [r for r in rows if r.dag_id in allowed and _keeps(query, r, facts)]
    if cursor is None:
        return ListPage(page.apply(kept, RUN_FIELDS), len(kept))
    # Ties newest first, as the store's pages and the offset pages order them.
    found = cursor_page(kept, RUN_FIELDS, keys, cursor, page.limit, tie=("id", True))
    return cursored(found, found.items)
