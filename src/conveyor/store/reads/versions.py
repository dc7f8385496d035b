"""A DAG's versions: each one the store pinned a run to, when it was first seen, its file,
its source, and the runs that used it.

Every version keeps its source: ``dag_version.source_hash`` points at the ``dag_source`` row
of the file it was parsed from, written with it and never deleted (runs need it to run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select

from conveyor.exceptions import NotFoundError
from conveyor.store.reads._rows import row_as
from conveyor.store.tables import dag, dag_run, dag_source, dag_version

MIN_PREFIX = 6  # a shorter hash prefix matches too much to name one version


class VersionNotFound(NotFoundError):
    """No such version of the DAG (or a prefix that names several)."""


@dataclass(frozen=True)
class VersionRow:
    version_hash: str
    dag_id: str
    created_at: datetime  # when the store first saw it
    fileloc: str
    source_hash: str
    run_count: int
    last_run_at: datetime | None  # the newest logical date among its runs
    is_current: bool


@dataclass(frozen=True)
class VersionCode:
    version_hash: str
    dag_id: str
    created_at: datetime
    fileloc: str
    source: str


@dataclass(frozen=True)
class VersionRun:
    run_id: str
    state: str
    run_type: str
    logical_date: datetime


def current_version(conn: Connection, dag_id: str) -> str:
    """The version new runs of the DAG get; NotFoundError when the store never saw it."""
    return _current(conn, dag_id)


def _current(conn: Connection, dag_id: str) -> str:
    found = conn.execute(select(dag.c.version_hash).where(dag.c.dag_id == dag_id)).scalar()
    if found is None:
        raise NotFoundError(f"no DAG {dag_id!r}")
    return str(found)


def _version_rows(dag_id: str, only: str | None = None) -> Select[Any]:
    """The DAG's versions (or only the one with this hash), newest first, with the counts of
    their runs."""
    mine = [dag_run.c.version_hash == only] if only else []
    where = [dag_version.c.version_hash == only] if only else []
    used = (
        select(
            dag_run.c.version_hash,
            func.count().label("run_count"),
            func.max(dag_run.c.logical_date).label("last_run_at"),
        )
        .where(dag_run.c.dag_id == dag_id, *mine)
        .group_by(dag_run.c.version_hash)
        .subquery()
    )
    return (
        select(
            dag_version.c.version_hash,
            dag_version.c.created_at,
            dag_source.c.fileloc,
            dag_version.c.source_hash,
            used.c.run_count,
            used.c.last_run_at,
        )
        .join(dag_source, dag_source.c.source_hash == dag_version.c.source_hash)
        .outerjoin(used, used.c.version_hash == dag_version.c.version_hash)
        .where(dag_version.c.dag_id == dag_id, *where)
        .order_by(dag_version.c.created_at.desc(), dag_version.c.version_hash.desc())
    )


def _row(r: Any, dag_id: str, current: str) -> VersionRow:
    return row_as(
        VersionRow,
        r,
        dag_id=dag_id,
        run_count=int(r.run_count or 0),
        is_current=r.version_hash == current,
    )


def versions_of(
    conn: Connection, dag_id: str, limit: int | None = None, offset: int = 0
) -> list[VersionRow]:
    """The DAG's versions, newest first; NotFoundError when the store never saw the DAG."""
    current = _current(conn, dag_id)
    rows = conn.execute(_version_rows(dag_id).limit(limit).offset(offset))
    return [_row(r, dag_id, current) for r in rows]


def count_versions(conn: Connection, dag_id: str) -> int:
    query = select(func.count()).select_from(dag_version).where(dag_version.c.dag_id == dag_id)
    return int(conn.execute(query).scalar_one())


def version_row(conn: Connection, dag_id: str, version_hash: str) -> VersionRow:
    """One version (a full hash from :func:`resolve`) with the counts of its runs."""
    current = _current(conn, dag_id)
    query = _version_rows(dag_id, version_hash)
    return _row(conn.execute(query).one(), dag_id, current)


def previous_version(conn: Connection, row: VersionRow) -> str | None:
    """The version of the DAG first seen just before ``row`` (None: it is the first)."""
    query = (
        select(dag_version.c.version_hash)
        .where(
            dag_version.c.dag_id == row.dag_id,
            or_(
                dag_version.c.created_at < row.created_at,
                and_(
                    dag_version.c.created_at == row.created_at,
                    dag_version.c.version_hash < row.version_hash,
                ),
            ),
        )
        .order_by(dag_version.c.created_at.desc(), dag_version.c.version_hash.desc())
        .limit(1)
    )
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def resolve(conn: Connection, dag_id: str, wanted: str) -> str:
    """The full hash of the DAG's version ``wanted`` (a full hash or a unique prefix of at
    least MIN_PREFIX characters); VersionNotFound otherwise, NotFoundError for no DAG."""
    _current(conn, dag_id)
    if len(wanted) < MIN_PREFIX:
        raise VersionNotFound(
            f"version {wanted!r}: give at least {MIN_PREFIX} characters of its hash"
        )
    found = list(
        conn.execute(
            select(dag_version.c.version_hash)
            .where(
                dag_version.c.dag_id == dag_id,
                dag_version.c.version_hash.startswith(wanted.lower(), autoescape=True),
            )
            .limit(2)
        ).scalars()
    )
    if not found:
        raise VersionNotFound(f"DAG {dag_id!r} has no version {wanted!r}")
    if len(found) > 1:
        raise VersionNotFound(f"version {wanted!r} of DAG {dag_id!r} is ambiguous: give more of it")
    return str(found[0])


def version_code(conn: Connection, dag_id: str, wanted: str) -> VersionCode:
    """The file one version of the DAG was parsed from, as it was then."""
    full = resolve(conn, dag_id, wanted)
    row = conn.execute(
        select(dag_version.c.created_at, dag_source.c.fileloc, dag_source.c.source)
        .join(dag_source, dag_source.c.source_hash == dag_version.c.source_hash)
        .where(dag_version.c.version_hash == full)
    ).one()
    return row_as(VersionCode, row, version_hash=full, dag_id=dag_id)


def runs_of_version(
    conn: Connection, dag_id: str, version_hash: str, limit: int
) -> list[VersionRun]:
    """The newest ``limit`` runs (by logical date) pinned to the version."""
    rows = conn.execute(
        select(dag_run.c.run_id, dag_run.c.state, dag_run.c.run_type, dag_run.c.logical_date)
        .where(dag_run.c.dag_id == dag_id, dag_run.c.version_hash == version_hash)
        .order_by(dag_run.c.logical_date.desc(), dag_run.c.id.desc())
        .limit(limit)
    )
    return [row_as(VersionRun, r) for r in rows]


def run_version(conn: Connection, dag_id: str, run_id: str) -> str:
    """The version a run is pinned to; NotFoundError for no such run."""
    found = conn.execute(
        select(dag_run.c.version_hash).where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id)
    ).scalar()
    if found is None:
        raise NotFoundError(f"DAG {dag_id!r} has no run {run_id!r}")
    return str(found)


def version_numbers(conn: Connection) -> dict[tuple[str, str], int]:
    """Each DAG's versions numbered from 1 in the order the store first saw them, by DAG id
    and version hash (as ``/api/v2``'s ``version_number``)."""
    numbered = select(
        dag_version.c.dag_id,
        dag_version.c.version_hash,
        func.row_number()
        .over(
            partition_by=dag_version.c.dag_id,
            order_by=(dag_version.c.created_at, dag_version.c.version_hash),
        )
        .label("number"),
    )
    return {(r.dag_id, r.version_hash): int(r.number) for r in conn.execute(numbered)}
