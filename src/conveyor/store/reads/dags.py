"""DAGs as they are listed and shown: their rows, recent runs, sources and import errors."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from conveyor.exceptions import NotFoundError
from conveyor.store.reads._rows import row_as
from conveyor.store.tables import dag, dag_run, dag_source, dag_version, import_error


@dataclass(frozen=True)
class DagRow:
    dag_id: str
    fileloc: str
    version_hash: str
    is_paused: bool
    is_active: bool
    schedule: str
    description: str | None
    tags: list[str]
    next_run_after: datetime | None


@dataclass(frozen=True)
class ListedDag:
    """A DAG and the serialized form of its current version."""

    dag: DagRow
    serialized: dict[str, Any]


@dataclass(frozen=True)
class RecentRun:
    run_id: str
    state: str
    logical_date: datetime


@dataclass(frozen=True)
class DagSourceRow:
    fileloc: str
    source: str


@dataclass(frozen=True)
class ImportErrorRow:
    fileloc: str
    line: int | None
    message: str
    traceback: str | None
    created_at: datetime


def _dag_row(row: Any) -> DagRow:
    return row_as(DagRow, row, tags=list(row.tags or []))


def get_dag(conn: Connection, dag_id: str) -> DagRow:
    """The DAG's row, active or not; NotFoundError when the store never saw it."""
    row = conn.execute(select(dag).where(dag.c.dag_id == dag_id)).first()
    if row is None:
        raise NotFoundError(f"no DAG {dag_id!r}")
    return _dag_row(row)


def list_dags(conn: Connection, *, include_inactive: bool = False) -> list[ListedDag]:
    """Every DAG (only those whose file still defines them, unless ``include_inactive``) with
    its current version's serialized form, by id."""
    query = (
        select(dag, dag_version.c.serialized)
        .join(dag_version, dag_version.c.version_hash == dag.c.version_hash)
        .order_by(dag.c.dag_id)
    )
    if not include_inactive:
        query = query.where(dag.c.is_active.is_(True))
    return [ListedDag(_dag_row(r), r.serialized) for r in conn.execute(query)]


def recent_runs(conn: Connection, dag_ids: list[str], per_dag: int) -> dict[str, list[RecentRun]]:
    """The newest ``per_dag`` runs of each DAG, newest first (every id is a key)."""
    if not dag_ids:
        return {}
    ranked = (
        select(
            dag_run.c.dag_id,
            dag_run.c.run_id,
            dag_run.c.state,
            dag_run.c.logical_date,
            func.row_number()
            .over(partition_by=dag_run.c.dag_id, order_by=dag_run.c.id.desc())
            .label("n"),
        )
        .where(dag_run.c.dag_id.in_(dag_ids))
        .subquery()
    )
    found: dict[str, list[RecentRun]] = {d: [] for d in dag_ids}
    for r in conn.execute(
        select(ranked).where(ranked.c.n <= per_dag).order_by(ranked.c.dag_id, ranked.c.n)
    ):
        found[r.dag_id].append(row_as(RecentRun, r))
    return found


def version_source(conn: Connection, version_hash: str) -> DagSourceRow | None:
    """The source file a DAG version was parsed from, if the store keeps it."""
    found = conn.execute(
        select(dag_source.c.source, dag_source.c.fileloc)
        .join(dag_version, dag_version.c.source_hash == dag_source.c.source_hash)
        .where(dag_version.c.version_hash == version_hash)
    ).first()
    return None if found is None else row_as(DagSourceRow, found)


def import_errors(conn: Connection) -> list[ImportErrorRow]:
    """The DAG files that fail to load, by file."""
    rows = conn.execute(select(import_error).order_by(import_error.c.fileloc))
    return [row_as(ImportErrorRow, r) for r in rows]


def count_import_errors(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(import_error)).scalar_one())


def active_dag_ids(conn: Connection) -> list[str]:
    """The ids of the DAGs their files still define, sorted."""
    query = select(dag.c.dag_id).where(dag.c.is_active.is_(True)).order_by(dag.c.dag_id)
    return list(conn.execute(query).scalars())


def active_fileloc(conn: Connection, dag_id: str) -> str | None:
    """The file that defines the DAG now; None if no file does."""
    query = select(dag.c.fileloc).where(dag.c.dag_id == dag_id, dag.c.is_active.is_(True))
    return conn.execute(query).scalar()


def list_dag_rows(conn: Connection, *, include_inactive: bool = False) -> list[DagRow]:
    """Every DAG's row without its serialized form (a list of thousands stays light), by id."""
    columns = [dag.c[f.name] for f in fields(DagRow)]
    query = select(*columns).order_by(dag.c.dag_id)
    if not include_inactive:
        query = query.where(dag.c.is_active.is_(True))
    return [_dag_row(r) for r in conn.execute(query)]


def last_runs(conn: Connection) -> dict[str, RecentRun]:
    """The latest run of each DAG that has one: by logical date, as Airflow's DAG list shows
    it (a backfill made today of last year is not the last run); the newest made of equals.

    One probe of the (dag_id, logical_date) index per DAG: the DAG list asks this on every
    load and poll, and ranking every run of every DAG instead (a window over the whole
    table) made each answer grow with the history the store keeps."""
    latest = (
        select(dag_run.c.id)
        .where(dag_run.c.dag_id == dag.c.dag_id)
        .order_by(dag_run.c.logical_date.desc(), dag_run.c.id.desc())
        .limit(1)
        .correlate(dag)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(dag_run.c.dag_id, dag_run.c.run_id, dag_run.c.state, dag_run.c.logical_date).where(
            dag_run.c.id.in_(select(latest).select_from(dag))
        )
    )
    return {r.dag_id: row_as(RecentRun, r) for r in rows}


def serialized_versions(conn: Connection, version_hashes: list[str]) -> dict[str, dict[str, Any]]:
    """The serialized form of each of these DAG versions."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(version_hashes), 500):  # a bounded IN list per statement
        rows = conn.execute(
            select(dag_version.c.version_hash, dag_version.c.serialized).where(
                dag_version.c.version_hash.in_(version_hashes[start : start + 500])
            )
        )
        found.update({r.version_hash: r.serialized for r in rows})
    return found
