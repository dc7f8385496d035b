"""The source a pinned DAG version was parsed from, and its shipped helper modules, by hash.

A worker whose DAG folder does not hold a run's version any more imports it from these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select

from conveyor.store.hop import prepared
from conveyor.store.tables import dag_source, dag_version


@dataclass(frozen=True)
class PinnedSource:
    source_hash: str
    fileloc: str  # where the file was parsed
    source: str
    serialized: dict[str, Any] | None  # the version's serialized DAG (with its manifest)


# Read by every process the first time it runs a version (a runner, once per DAG it meets).
_PINNED = (
    select(
        dag_source.c.source_hash,
        dag_source.c.fileloc,
        dag_source.c.source,
        dag_version.c.serialized,
    )
    .join(dag_version, dag_version.c.source_hash == dag_source.c.source_hash)
    .where(dag_version.c.version_hash == bindparam("version_hash"))
)


def pinned_source(conn: Connection, version_hash: str) -> PinnedSource | None:
    """The file a DAG version came from; None if the store does not know that version."""
    row = prepared.execute(conn, _PINNED, {"version_hash": version_hash}).first()
    return None if row is None else PinnedSource(*row)


def sources(conn: Connection, hashes: list[str]) -> dict[str, str]:
    """The stored sources among ``hashes`` (DAG files or shipped modules), by hash."""
    rows = conn.execute(
        select(dag_source.c.source_hash, dag_source.c.source).where(
            dag_source.c.source_hash.in_(hashes)
        )
    )
    return {row.source_hash: row.source for row in rows}
