"""Read Airflow's asset events and the updates its asset-scheduled DAGs had not consumed.

Airflow 3 names the tables ``asset``, ``asset_event``, ``asset_dag_run_queue`` and, for the
aliases events went through, ``asset_alias`` and ``asset_alias_asset_event``; Airflow 2
says dataset where 3 says asset. A queue row says a DAG has an update of the asset it has
not run on yet; which update, Airflow works out from the times, and so does this reader.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from conveyor.store.airflow_import.records import (
    AirflowAssetEvent,
    AirflowContents,
    AirflowQueuedAsset,
)
from conveyor.store.airflow_import.times import utc

#: The tables read, by Airflow 3's names and Airflow 2's.
TABLES = (
    "asset",
    "asset_event",
    "asset_dag_run_queue",
    "dataset",
    "dataset_event",
    "dataset_dag_run_queue",
    "asset_alias",
    "asset_alias_asset_event",
    "dataset_alias",
    "dataset_alias_dataset_event",
)


def read_assets(
    conn: Connection, tables: dict[str, Table], since: datetime, into: AirflowContents
) -> None:
    """The events from ``since`` on, and every event a queue row may stand for whatever its
    age (a pending update is never lost to ``since``)."""
    word = "asset" if "asset_event" in tables else "dataset"
    if f"{word}_event" not in tables:
        return
    assets, events = tables[word], tables[f"{word}_event"]
    queue = tables.get(f"{word}_dag_run_queue")
    asset_key = events.c[f"{word}_id"]
    uris = {r.id: r.uri for r in conn.execute(select(assets.c.id, assets.c.uri))}
    if queue is not None:
        for r in conn.execute(select(queue).order_by(queue.c.target_dag_id)).mappings():
            at = utc(r["created_at"])
            assert at is not None
            into.asset_queue.append(
                AirflowQueuedAsset(uris[r[f"{word}_id"]], r["target_dag_id"], at)
            )
    oldest = min([since, *(q.since for q in into.asset_queue)])
    bound = oldest if conn.dialect.name == "postgresql" else oldest.replace(tzinfo=None)
    taken = events.c.timestamp >= bound
    rows = conn.execute(
        select(events).where(taken).order_by(events.c.timestamp, events.c.id)
    ).mappings()
    aliases = _aliases(conn, tables, word, taken)
    for r in rows:
        at = utc(r["timestamp"])
        assert at is not None
        into.asset_events.append(
            AirflowAssetEvent(
                uri=uris[r[asset_key.name]],
                extra=_extra(r["extra"]),
                source_dag_id=r["source_dag_id"],
                source_run_id=r["source_run_id"],
                source_task_id=r["source_task_id"],
                source_map_index=-1 if r["source_map_index"] is None else r["source_map_index"],
                at=at,
                partition_key=r.get("partition_key"),
                source_alias=aliases.get(r["id"]),
            )
        )


def _aliases(conn: Connection, tables: dict[str, Table], word: str, taken: Any) -> dict[Any, str]:
    """The alias each event taken went through, by event id: the first by name."""
    aliases, links = tables.get(f"{word}_alias"), tables.get(f"{word}_alias_{word}_event")
    if aliases is None or links is None:
        return {}
    events = tables[f"{word}_event"]
    rows = conn.execute(
        select(links.c.event_id, aliases.c.name)
        .join(aliases, aliases.c.id == links.c.alias_id)
        .join(events, events.c.id == links.c.event_id)
        .where(taken)
        .order_by(links.c.event_id, aliases.c.name)
    )
    found: dict[Any, str] = {}
    for r in rows:
        found.setdefault(r.event_id, r.name)
    return found


def _extra(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
