"""Asset watchers in the store: which exist, who runs each, and the messages they recorded.

A DAG's registration writes the watchers its schedule's assets name (:func:`save_for_dag`).
Triggerers claim the watchers no live triggerer holds (:func:`claim`), as they claim
triggers, so each watcher runs in one triggerer. A message becomes an event through
:func:`record_message`: the event, its queueing for the DAGs scheduled on the asset and the
message's id go in the caller's one transaction; a message whose id is there already makes
no second event, which is what lets the triggerer acknowledge a message only after the
commit and still record each message once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, not_, or_, select, update

from conveyor.clock import utcnow
from conveyor.store.sql import upsert
from conveyor.store.tables import asset_watcher, asset_watcher_message, dataset, triggerer

_W = asset_watcher


@dataclass(frozen=True)
class WatcherRow:
    """A watcher as the triggerer runs it."""

    id: int
    dataset_id: int
    uri: str
    name: str
    dag_id: str
    version_hash: str
    classpath: str
    kwargs: dict[str, Any]


def save_for_dag(
    conn: Connection, dag_id: str, version_hash: str, watchers: Sequence[dict[str, Any]]
) -> None:
    """The watchers this DAG version names (``uri``, ``name``, ``classpath``, ``kwargs``
    each); those the DAG named before and no longer does are removed."""
    # The assets' module (and through it the schedules, croniter) is imported where a
    # watcher is written or a message recorded: the store's DAG writer imports this module,
    # and a command line that syncs an unchanged DAG folder writes neither.
    from conveyor.store.datasets import dataset_id

    kept: list[int] = []
    now = utcnow()
    for watcher in watchers:
        found_id = dataset_id(conn, watcher["uri"])
        kept.append(
            upsert_watcher(conn, found_id, watcher, dag_id, version_hash, now),
        )
    conn.execute(delete(_W).where(_W.c.dag_id == dag_id, _W.c.id.not_in(kept)))


def upsert_watcher(
    conn: Connection,
    found_id: int,
    watcher: dict[str, Any],
    dag_id: str,
    version_hash: str,
    now: datetime,
) -> int:
    """Write one watcher; a changed one is released, so its triggerer starts it anew."""
    where = and_(_W.c.dataset_id == found_id, _W.c.name == watcher["name"])
    stored = conn.execute(select(_W.c.id, _W.c.classpath, _W.c.kwargs).where(where)).first()
    values = {
        "dag_id": dag_id,
        "version_hash": version_hash,
        "classpath": watcher["classpath"],
        "kwargs": watcher["kwargs"],
    }
    if stored is None:
        upsert(
            conn,
            asset_watcher,
            {"dataset_id": found_id, "name": watcher["name"], "created_at": now, **values},
            key=["dataset_id", "name"],
            update=list(values),
        )
    else:
        changed = (stored.classpath, stored.kwargs) != (watcher["classpath"], watcher["kwargs"])
        extra = {"triggerer_id": None} if changed else {}
        conn.execute(update(_W).where(where).values(**values, **extra))
    return int(conn.execute(select(_W.c.id).where(where)).scalar_one())


def forget_dags(conn: Connection, dag_ids: Sequence[str]) -> None:
    """These DAGs are gone: their watchers stop."""
    if dag_ids:
        conn.execute(delete(_W).where(_W.c.dag_id.in_(list(dag_ids))))


def claim(conn: Connection, triggerer_id: str, now: datetime, threshold: timedelta) -> int:
    """Take every watcher no live triggerer holds; how many."""
    alive = select(triggerer.c.id).where(
        triggerer.c.stopped_at.is_(None), triggerer.c.heartbeat_at > now - threshold
    )
    free = select(_W.c.id).where(
        or_(_W.c.triggerer_id.is_(None), not_(_W.c.triggerer_id.in_(alive)))
    )
    if conn.dialect.name == "postgresql":
        free = free.with_for_update(skip_locked=True)
    ids = list(conn.execute(free).scalars())
    if ids:
        conn.execute(update(_W).where(_W.c.id.in_(ids)).values(triggerer_id=triggerer_id))
    return len(ids)


def held_by(conn: Connection, triggerer_id: str) -> list[WatcherRow]:
    """The watchers this triggerer holds."""
    rows = conn.execute(
        select(_W, dataset.c.uri)
        .join(dataset, dataset.c.id == _W.c.dataset_id)
        .where(_W.c.triggerer_id == triggerer_id)
        .order_by(_W.c.id)
    )
    return [
        WatcherRow(
            r.id, r.dataset_id, r.uri, r.name, r.dag_id, r.version_hash, r.classpath, r.kwargs
        )
        for r in rows
    ]


def release(conn: Connection, triggerer_id: str) -> None:
    """This triggerer stops: its watchers are free for the others at once."""
    conn.execute(update(_W).where(_W.c.triggerer_id == triggerer_id).values(triggerer_id=None))


def record_message(
    conn: Connection, watcher: WatcherRow, message_id: str | None, extra: dict[str, Any]
) -> int | None:
    """One message as an event of the watcher's asset, queued for the DAGs scheduled on it;
    the event's id, or None when this message was recorded before (nothing is written)."""
    if message_id is not None:
        seen = conn.execute(
            select(asset_watcher_message.c.event_id).where(
                asset_watcher_message.c.dataset_id == watcher.dataset_id,
                asset_watcher_message.c.watcher_name == watcher.name,
                asset_watcher_message.c.message_id == message_id,
            )
        ).scalar()
        if seen is not None:
            return None
    from conveyor.store.asset_events import record_external_event  # see save_for_dag

    event_id = record_external_event(conn, watcher.dataset_id, extra)
    if event_id is None:
        return None  # the asset's row went with its last DAG: nothing to record it on
    if message_id is not None:
        # The primary key makes a second writer of the same message fail its transaction:
        # one of two triggerers that both held the watcher (a stale heartbeat) wins.
        conn.execute(
            insert(asset_watcher_message).values(
                dataset_id=watcher.dataset_id,
                watcher_name=watcher.name,
                message_id=message_id,
                event_id=event_id,
                created_at=utcnow(),
            )
        )
    return event_id
