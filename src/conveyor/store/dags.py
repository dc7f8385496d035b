"""Saving what the DAG file processor found: sources, versions, DAG rows, import errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from conveyor.clock import utcnow
from conveyor.store import asset_watchers
from conveyor.store.sql import upsert
from conveyor.store.tables import dag, dag_file, dag_source, dag_version, import_error
from conveyor.version_hashes import source_hash, version_hash


@dataclass
class ParsedFile:
    """What parsing one file produced: its DAGs (serialized) or the error that stopped it."""

    fileloc: str
    source: str
    dags: list[dict[str, Any]]
    error: dict[str, Any] | None  # {"line", "message", "traceback"}
    seconds: float
    #: Helper modules the file loaded from its folder: path -> text (loading.shipping).
    helpers: dict[str, str] = field(default_factory=dict)


def save_parsed_file(
    conn: Connection, parsed: ParsedFile, *, paused_at_creation: bool | None
) -> list[str]:
    """Store one file's parse; returns the DAG ids now defined by it.

    ``paused_at_creation`` is a new DAG's first ``is_paused`` (the setting
    ``dags_are_paused_at_creation``), which the DAG's own ``is_paused_upon_creation`` overrides;
    None: never paused, for a throwaway store that runs what it is told (``conveyor run``,
    ``conveyor.testing``). A DAG already stored keeps its pause state whatever the file says.
    """
    now = utcnow()
    src_hash = source_hash(parsed.source)
    if _parsed_the_same(conn, parsed, src_hash):
        # Parsed again (min_file_process_interval) to what is stored: only the parse's time
        # is new. Three reads and a write where saving it whole took seven statements.
        conn.execute(
            update(dag_file)
            .where(dag_file.c.fileloc == parsed.fileloc)
            .values(parsed_at=now, parse_seconds=parsed.seconds)
        )
        return [data["dag_id"] for data in parsed.dags]
    error = parsed.error
    kept: list[str] = []
    if error is None:
        upsert(
            conn,
            dag_source,
            {"source_hash": src_hash, "fileloc": parsed.fileloc, "source": parsed.source},
            key=["source_hash"],
            update=[],
        )
        for path, text in parsed.helpers.items():  # shipped to workers by hash
            upsert(
                conn,
                dag_source,
                {"source_hash": source_hash(text), "fileloc": path, "source": text},
                key=["source_hash"],
                update=[],
            )
        for data in parsed.dags:
            clash = conn.execute(
                select(dag.c.fileloc).where(
                    dag.c.dag_id == data["dag_id"],
                    dag.c.is_active.is_(True),
                    dag.c.fileloc != parsed.fileloc,
                )
            ).scalar()
            if clash is not None:
                error = {
                    "line": None,
                    "traceback": None,
                    "message": f"DAG id {data['dag_id']!r} is already defined in {clash}",
                }
                continue
            paused = _first_pause(data, paused_at_creation)
            _save_dag(conn, data, parsed.fileloc, src_hash, now, paused)
            kept.append(data["dag_id"])
    previous = (
        conn.execute(
            select(dag_file.c.dag_ids).where(dag_file.c.fileloc == parsed.fileloc)
        ).scalar()
        or []
    )
    if parsed.error is None:
        # The file loaded: DAGs it no longer defines are gone. A file that fails to load
        # keeps its DAGs running on their last good version instead.
        gone = [d for d in previous if d not in kept]
        if gone:
            conn.execute(
                update(dag)
                .where(dag.c.dag_id.in_(gone), dag.c.fileloc == parsed.fileloc)
                .values(is_active=False, updated_at=now)
            )
            asset_watchers.forget_dags(conn, gone)
    else:
        kept = list(previous)
    if error is not None:
        upsert(
            conn,
            import_error,
            {
                "fileloc": parsed.fileloc,
                "line": error.get("line"),
                "message": error["message"],
                "traceback": error.get("traceback"),
                "created_at": now,
            },
            key=["fileloc"],
        )
    else:
        conn.execute(delete(import_error).where(import_error.c.fileloc == parsed.fileloc))
    upsert(
        conn,
        dag_file,
        {
            "fileloc": parsed.fileloc,
            "source_hash": src_hash,
            "dag_ids": kept,
            "parsed_at": now,
            "parse_seconds": parsed.seconds,
        },
        key=["fileloc"],
    )
    return kept


def _parsed_the_same(conn: Connection, parsed: ParsedFile, src_hash: str) -> bool:
    """Whether the store holds this parse already: the same source, no import error, and
    the same DAGs, each active, of this file and at the version the parse makes of it."""
    if parsed.error is not None:
        return False
    stored = conn.execute(
        select(dag_file.c.source_hash, dag_file.c.dag_ids, import_error.c.fileloc.label("error"))
        .outerjoin(import_error, import_error.c.fileloc == dag_file.c.fileloc)
        .where(dag_file.c.fileloc == parsed.fileloc)
    ).first()
    dag_ids = [data["dag_id"] for data in parsed.dags]
    if stored is None or stored.source_hash != src_hash or stored.error is not None:
        return False
    if sorted(stored.dag_ids or []) != sorted(dag_ids):
        return False
    if not dag_ids:
        return True
    rows = conn.execute(
        select(dag.c.dag_id, dag.c.version_hash, dag.c.fileloc, dag.c.is_active).where(
            dag.c.dag_id.in_(dag_ids)
        )
    )
    versions = {row.dag_id: (row.version_hash, row.fileloc, row.is_active) for row in rows}
    return all(
        versions.get(data["dag_id"]) == (version_hash(data, src_hash), parsed.fileloc, True)
        for data in parsed.dags
    )


def _first_pause(data: dict[str, Any], paused_at_creation: bool | None) -> bool:
    if paused_at_creation is None:
        return False
    own = data.get("is_paused_upon_creation")
    return paused_at_creation if own is None else bool(own)


def _save_dag(
    conn: Connection,
    data: dict[str, Any],
    fileloc: str,
    src_hash: str,
    now: Any,
    paused: bool,
) -> None:
    v_hash = version_hash(data, src_hash)
    stored = conn.execute(
        select(dag.c.version_hash, dag.c.fileloc, dag.c.is_active).where(
            dag.c.dag_id == data["dag_id"]
        )
    ).first()
    if stored is not None and tuple(stored) == (v_hash, fileloc, True):
        # Parsed again (min_file_process_interval) to the same DAG: nothing to write, and
        # nothing for the scheduler to work out again.
        return
    upsert(
        conn,
        dag_version,
        {
            "version_hash": v_hash,
            "dag_id": data["dag_id"],
            "source_hash": src_hash,
            "serialized": data,
            "created_at": now,
        },
        key=["version_hash"],
        update=[],
    )
    upsert(
        conn,
        dag,
        {
            "dag_id": data["dag_id"],
            "fileloc": fileloc,
            "version_hash": v_hash,
            "is_paused": paused,  # only on insert: a known DAG keeps its state
            "is_active": True,
            # The column keeps 200 characters (a timetable's summary may be longer); the
            # DAG list shows the whole text from the serialized DAG.
            "schedule": data["schedule_description"][:200],
            "description": data.get("description"),
            "tags": data.get("tags") or [],
            "access_control": data.get("access_control"),
            "updated_at": now,
            # New or changed: due now, so the scheduler works out its runs in the next loop.
            "next_dagrun_create_after": now,
        },
        key=["dag_id"],
        update=[
            "fileloc",
            "version_hash",
            "is_active",
            "schedule",
            "description",
            "tags",
            "access_control",
            "updated_at",
            "next_dagrun_create_after",
        ],
    )
    asset_watchers.save_for_dag(conn, data["dag_id"], v_hash, data.get("asset_watchers") or [])


def forget_file(conn: Connection, fileloc: str) -> None:
    """A DAG file was deleted: its DAGs stop being scheduled; their history stays."""
    now = utcnow()
    gone = list(conn.execute(select(dag.c.dag_id).where(dag.c.fileloc == fileloc)).scalars())
    conn.execute(
        update(dag).where(dag.c.fileloc == fileloc).values(is_active=False, updated_at=now)
    )
    asset_watchers.forget_dags(conn, gone)
    conn.execute(delete(import_error).where(import_error.c.fileloc == fileloc))
    conn.execute(delete(dag_file).where(dag_file.c.fileloc == fileloc))


def shipped_by_file(conn: Connection) -> dict[str, dict[str, Any]]:
    """fileloc -> the manifest of the modules an active DAG of it imported from the DAG
    folder and the plugins folder (``loading/shipping.py``), for the files that have one."""
    rows = conn.execute(
        select(dag.c.fileloc, dag_version.c.serialized)
        .join(dag_version, dag_version.c.version_hash == dag.c.version_hash)
        .where(dag.c.is_active)
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        shipped = (row.serialized or {}).get("shipped")  # shipping.MANIFEST_KEY
        if isinstance(shipped, dict) and shipped.get("files"):
            found[row.fileloc] = shipped
    return found


def folder_counts(conn: Connection) -> tuple[int, int]:
    """The active DAGs, and the files whose last parse failed (Airflow's ``dagbag_size``
    and ``dag_processing.import_errors``)."""
    dags = conn.execute(select(func.count()).select_from(dag).where(dag.c.is_active)).scalar()
    errors = conn.execute(select(func.count()).select_from(import_error)).scalar()
    return int(dags or 0), int(errors or 0)


def parse_ages(conn: Connection, paths: Sequence[str]) -> dict[str, float]:
    """fileloc -> seconds since any process last saved a parse of it, for those of
    ``paths`` parsed so far (on the store's clock, as each parse's time is)."""
    now = utcnow()
    found: dict[str, float] = {}
    for first in range(0, len(paths), 500):  # a bound on the statement's parameters
        rows = conn.execute(
            select(dag_file.c.fileloc, dag_file.c.parsed_at).where(
                dag_file.c.fileloc.in_(paths[first : first + 500])
            )
        )
        found.update({row.fileloc: (now - row.parsed_at).total_seconds() for row in rows})
    return found


def failed_before(conn: Connection, seconds_ago: float) -> set[str]:
    """The files whose last parse failed more than ``seconds_ago`` seconds ago."""
    moment = utcnow() - timedelta(seconds=seconds_ago)
    found = conn.execute(select(import_error.c.fileloc).where(import_error.c.created_at < moment))
    return set(found.scalars())


def known_files(conn: Connection) -> dict[str, str]:
    """fileloc -> source hash of every file parsed so far."""
    return {row.fileloc: row.source_hash for row in conn.execute(select(dag_file))}
