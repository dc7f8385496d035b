"""The SQL of datasets: recording updates, queueing them for consumers, consuming them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, null, select, true

from conveyor.clock import utcnow
from conveyor.model.datasets import ALIAS_PREFIX
from conveyor.model.partition_mappers import PartitionMapper, as_keys, fan_out_cap
from conveyor.model.partitioned_timetables import PartitionedAssetTimetable
from conveyor.model.schedules import DatasetSchedule
from conveyor.stats import airflow as stats
from conveyor.store import runs
from conveyor.store.engine import after_commit
from conveyor.store.runs import RunRow
from conveyor.store.sql import upsert
from conveyor.store.tables import (
    dag,
    dataset,
    dataset_dag_queue,
    dataset_event,
    partition_dag_queue,
    partition_key_log,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedEvent:
    """An asset event as its listeners are told of it, once committed."""

    uri: str
    extra: dict[str, Any]
    source_dag_id: str | None
    source_task_id: str | None
    source_run_id: str | None
    source_map_index: int | None
    source_alias: str | None
    partition_key: str | None = None
    partition_date: datetime | None = None  # the producing run's (Airflow 3.3)


#: Told of the asset events a process commits (set by its Airflow listeners).
_events_recorded: Callable[[list[RecordedEvent]], None] | None = None


def on_asset_events(hook: Callable[[list[RecordedEvent]], None] | None) -> None:
    """Tell ``hook`` of the asset events this process records, once each commit is made."""
    global _events_recorded
    _events_recorded = hook


def tell_after_commit(conn: Connection, events: list[RecordedEvent]) -> None:
    hook = _events_recorded
    if hook is not None and events:
        after_commit(conn, lambda: hook(events))


def dataset_id(conn: Connection, uri: str) -> int:
    """The id of the dataset with this URI, created on first use."""
    upsert(conn, dataset, {"uri": uri, "extra": {}, "created_at": utcnow()}, key=["uri"], update=[])
    return int(conn.execute(select(dataset.c.id).where(dataset.c.uri == uri)).scalar_one())


def dataset_id_of(conn: Connection, uri: str) -> int | None:
    """The id of the dataset with this URI; None when it has no row yet."""
    found = conn.execute(select(dataset.c.id).where(dataset.c.uri == uri)).scalar()
    return None if found is None else int(found)


def asset_uri(conn: Connection, found_id: int) -> str | None:
    """The URI of the asset with this id; None when there is none (an alias's row is not
    an asset)."""
    uri = conn.execute(select(dataset.c.uri).where(dataset.c.id == found_id)).scalar()
    return None if uri is None or str(uri).startswith(ALIAS_PREFIX) else str(uri)


def alias_uris(conn: Connection, alias_name: str) -> list[str]:
    """The URIs of the datasets events were emitted to through the alias, in URI order."""
    rows = conn.execute(
        select(dataset.c.uri)
        .join(dataset_event, dataset_event.c.dataset_id == dataset.c.id)
        .where(dataset_event.c.source_alias == alias_name)
        .distinct()
        .order_by(dataset.c.uri)
    )
    return [str(uri) for uri in rows.scalars()]


def consumer_schedules(conn: Connection) -> dict[str, DatasetSchedule]:
    """Active DAGs scheduled on datasets: dag_id -> their schedule."""
    rows = conn.execute(
        select(dag.c.dag_id, dag.c.version_hash).where(
            dag.c.is_active.is_(True), dag.c.schedule.startswith(DatasetSchedule.PREFIX)
        )
    ).all()
    found: dict[str, DatasetSchedule] = {}
    for row in rows:
        schedule = runs.serialized_dag(conn, row.version_hash).schedule
        if isinstance(schedule, DatasetSchedule):
            found[row.dag_id] = schedule
    return found


def consumers(conn: Connection) -> dict[str, list[str]]:
    """Active DAGs scheduled on datasets: dag_id -> their dataset URIs."""
    return {dag_id: schedule.uris for dag_id, schedule in consumer_schedules(conn).items()}


def queue_event(
    conn: Connection,
    schedules: dict[str, DatasetSchedule],
    key: str,
    queued_as: Callable[[], int],
    event_id: int,
    partition_key: str | None,
    now: datetime,
    partition_date: datetime | None = None,
) -> None:
    """Queue an event for each DAG whose schedule names ``key`` (a URI or an alias's key),
    under the dataset row ``queued_as()`` gives. A DAG on a PartitionedAssetTimetable has
    it queued under the key its mapper makes of ``partition_key``; an event without a key,
    or one its mapper refuses, makes no run of it (as Airflow, which logs it).
    ``partition_date``: the producing run's, kept with the update when its mapper carries
    it (the identity's key tells no date of its own)."""
    for dag_id, schedule in schedules.items():
        if key not in schedule.uris:
            continue
        if not isinstance(schedule, PartitionedAssetTimetable):
            upsert(
                conn,
                dataset_dag_queue,
                {
                    "dataset_id": queued_as(),
                    "target_dag_id": dag_id,
                    "event_id": event_id,
                    "created_at": now,
                },
                key=["dataset_id", "target_dag_id"],
                update=[],
            )
            continue
        if partition_key is None:
            log.warning("%s is partitioned; an event of %s without a partition key", dag_id, key)
            continue
        mapper = schedule.mapper_for(key)
        targets = _targets(dag_id, key, mapper, partition_key)
        carried = partition_date if mapper.carries_partition_date() else None
        fingerprint = schedule.fingerprint() if targets else None
        for target in targets:
            row = {
                "dataset_id": queued_as(),
                "target_dag_id": dag_id,
                "partition_key": target,
                "event_id": event_id,
                "created_at": now,
            }
            queued = ["dataset_id", "target_dag_id", "partition_key"]
            kept = {**row, "partition_date": carried, "fingerprint": fingerprint}
            upsert(conn, partition_dag_queue, kept, queued, [])
            if mapper.is_rollup:  # its run waits for its window's keys: each is kept
                logged = {**row, "source_key": partition_key}
                upsert(conn, partition_key_log, logged, [*queued, "source_key"], [])


def _targets(dag_id: str, key: str, mapper: PartitionMapper, partition_key: str) -> list[str]:
    """The keys an event's key maps to; none when the mapper refuses it or fans it out
    past its cap (Airflow logs both and queues nothing)."""
    try:
        targets = as_keys(mapper.to_downstream(partition_key))
    except (ValueError, TypeError) as exc:
        log.warning("%s: partition key %r of %s maps to none: %s", dag_id, partition_key, key, exc)
        return []
    cap = fan_out_cap(mapper)
    if len(targets) > cap:
        log.error(
            "%s: partition key %r of %s maps to %d keys, more than max_downstream_keys=%d; "
            "no run was queued for this event",
            dag_id,
            partition_key,
            key,
            len(targets),
            cap,
        )
        return []
    return targets


def record_updates(
    conn: Connection,
    run: RunRow,
    task_id: str,
    map_index: int,
    uris: list[str],
    extras: dict[str, dict[str, Any]] | None = None,
    through_aliases: list[tuple[str, str, dict[str, Any]]] | None = None,
    partitions: dict[str, list[str]] | None = None,
) -> None:
    """One event per dataset the task updated, queued for every DAG that consumes it.

    ``extras``: the extra of each URI's event (``outlet_events[...].extra``).
    ``through_aliases``: (alias name, URI, extra) of each event emitted through an alias;
    queued for the DAGs on that URI and for those on the alias.
    ``partitions``: the partition keys a URI's events are of (``add_partitions``: an event
    each); any other event is of the run's partition key.

    A consumer's queue keeps the first update it has not consumed yet; later ones are events
    too but do not add runs: the DAG runs once per "all of my datasets were updated".
    """
    now = utcnow()
    wanted_by = consumer_schedules(conn)
    added: dict[str, list[str | None]] = {uri: list(k) for uri, k in (partitions or {}).items()}
    emitted: list[tuple[str | None, str, dict[str, Any] | None, str | None]] = [
        (None, uri, (extras or {}).get(uri), key)
        for uri in uris
        for key in added.get(uri) or [run.partition_key]
    ]
    emitted += [
        (alias, uri, extra or None, run.partition_key)
        for alias, uri, extra in through_aliases or []
    ]
    told = [
        RecordedEvent(
            uri,
            extra or {},
            run.dag_id,
            task_id,
            run.run_id,
            map_index,
            alias,
            key,
            run.partition_date,
        )
        for alias, uri, extra, key in emitted
    ]
    tell_after_commit(conn, told)
    if emitted:
        after_commit(conn, lambda: stats.asset_updates(len(emitted)))
    for alias, uri, extra, partition_key in emitted:
        ds_id = dataset_id(conn, uri)
        event_id = conn.execute(
            insert(dataset_event)
            .values(
                dataset_id=ds_id,
                source_dag_id=run.dag_id,
                source_run_id=run.run_id,
                source_task_id=task_id,
                source_map_index=map_index,
                created_at=now,
                extra=extra,
                source_alias=alias,
                partition_key=partition_key,
            )
            .returning(dataset_event.c.id)
        ).scalar_one()
        keys = [uri] if alias is None else [uri, ALIAS_PREFIX + alias]
        for key in keys:
            row_id = ds_id if key == uri else None

            def queued_as(key: str = key, row_id: int | None = row_id) -> int:
                return row_id if row_id is not None else dataset_id(conn, key)  # an alias's row

            queue_event(
                conn, wanted_by, key, queued_as, event_id, partition_key, now, run.partition_date
            )


def queued_dag_ids(conn: Connection) -> list[str]:
    """DAGs with at least one pending dataset update (of a partition, too)."""
    plain = set(conn.execute(select(dataset_dag_queue.c.target_dag_id).distinct()).scalars())
    partitioned = conn.execute(select(partition_dag_queue.c.target_dag_id).distinct()).scalars()
    return sorted(plain.union(partitioned))


@dataclass(frozen=True)
class PendingUpdate:
    dataset_id: int
    uri: str  # the schedule key it is queued under: a dataset's URI or an alias's key
    event_id: int
    source_dag_id: str
    source_run_id: str
    source_task_id: str
    at: datetime
    event_uri: str = ""  # the updated dataset's URI (another than ``uri`` for an alias)
    extra: dict[str, Any] | None = None
    source_alias: str | None = None
    source_map_index: int = -1
    partition_key: str | None = None  # the event's own key (not the one it is queued under)
    #: the producing run's partition_date, when the consumer's mapper carries it
    carried_date: datetime | None = None
    #: the consumer's mappers when it was queued (``PartitionedAssetTimetable.fingerprint``)
    fingerprint: str | None = None

    def as_conf(self) -> dict[str, Any]:
        """Its event as a run's ``dataset_events`` entry."""
        return EventRow(
            self.event_id,
            self.event_uri or self.uri,
            dict(self.extra or {}),
            self.at,
            self.source_dag_id,
            self.source_run_id,
            self.source_task_id,
            self.source_map_index,
            self.source_alias,
            self.partition_key,
        ).as_conf()


def pending_updates(conn: Connection, dag_id: str) -> dict[str, PendingUpdate]:
    """The pending update of each dataset (or alias) for this DAG, by its schedule key."""
    return {update.uri: update for _, update in _pending(conn, dataset_dag_queue, dag_id)}


def pending_partitions(conn: Connection, dag_id: str) -> list[tuple[str, PendingUpdate]]:
    """The pending updates of a DAG on a PartitionedAssetTimetable, each with the partition
    key it is queued under."""
    return [(str(key), update) for key, update in _pending(conn, partition_dag_queue, dag_id)]


def logged_partitions(conn: Connection, dag_id: str) -> list[tuple[str, PendingUpdate]]:
    """The updates a rollup's pending partitions have had, one per upstream key (each
    update's ``partition_key``), with the partition key each is logged under."""
    return [(str(key), update) for key, update in _pending(conn, partition_key_log, dag_id)]


def _pending(conn: Connection, queue: Any, dag_id: str) -> list[tuple[Any, PendingUpdate]]:
    """The pending updates of a queue table for this DAG, each with the queue row's
    ``partition_key`` (None for the plain queue)."""
    updated = dataset.alias("updated")
    queued_key = queue.c.partition_key if "partition_key" in queue.c else null()
    carried = queue.c.partition_date if "partition_date" in queue.c else null()
    fingerprint = queue.c.fingerprint if "fingerprint" in queue.c else null()
    rows = conn.execute(
        select(
            dataset.c.id,
            dataset.c.uri,
            dataset_event.c.id.label("event_id"),
            dataset_event.c.source_dag_id,
            dataset_event.c.source_run_id,
            dataset_event.c.source_task_id,
            dataset_event.c.source_map_index,
            dataset_event.c.created_at,
            dataset_event.c.extra,
            dataset_event.c.source_alias,
            dataset_event.c.partition_key,
            updated.c.uri.label("event_uri"),
            queued_key.label("queued_key"),
            carried.label("carried_date"),
            fingerprint.label("fingerprint"),
        )
        .select_from(queue)
        .join(dataset, dataset.c.id == queue.c.dataset_id)
        .join(dataset_event, dataset_event.c.id == queue.c.event_id)
        .join(updated, updated.c.id == dataset_event.c.dataset_id)
        .where(queue.c.target_dag_id == dag_id)
        .order_by(dataset_event.c.id)
    )
    return [
        (
            r.queued_key,
            PendingUpdate(
                r.id,
                r.uri,
                r.event_id,
                r.source_dag_id,
                r.source_run_id,
                r.source_task_id,
                r.created_at,
                event_uri=r.event_uri,
                extra=r.extra,
                source_alias=r.source_alias,
                source_map_index=r.source_map_index,
                partition_key=r.partition_key,
                carried_date=r.carried_date,
                fingerprint=r.fingerprint,
            ),
        )
        for r in rows
    ]


def consume_partition(conn: Connection, dag_id: str, partition_key: str) -> int:
    """Remove the pending updates of one partition key of a DAG; how many there were."""
    logged = partition_key_log.c
    conn.execute(
        delete(partition_key_log).where(
            logged.target_dag_id == dag_id, logged.partition_key == partition_key
        )
    )
    q = partition_dag_queue.c
    done = conn.execute(
        delete(partition_dag_queue).where(
            q.target_dag_id == dag_id, q.partition_key == partition_key
        )
    )
    return int(done.rowcount)


@dataclass(frozen=True)
class EventRow:
    id: int
    uri: str
    extra: dict[str, Any]
    at: datetime
    source_dag_id: str
    source_run_id: str
    source_task_id: str
    source_map_index: int
    source_alias: str | None
    partition_key: str | None = None

    def as_conf(self) -> dict[str, Any]:
        """As a run's ``dataset_events`` entry."""
        return {
            "id": self.id,
            "uri": self.uri,
            "extra": dict(self.extra),
            "source_dag_id": self.source_dag_id,
            "source_run_id": self.source_run_id,
            "source_task_id": self.source_task_id,
            "source_map_index": self.source_map_index,
            "source_aliases": [self.source_alias] if self.source_alias else [],
            "at": self.at.isoformat(),
            "partition_key": self.partition_key,
        }


def events_of(
    conn: Connection,
    key: str,
    limit: int | None = 1000,
    source_dag_ids: Collection[str] | None = None,
    since_id: int | None = None,
) -> list[EventRow]:
    """The newest ``limit`` events of a dataset (by URI) or emitted through an alias (by its
    key), oldest first; ``source_dag_ids``: only the events those DAGs' tasks emitted;
    ``since_id``: only that event and the later ones."""
    query = select(dataset_event, dataset.c.uri).join(
        dataset, dataset.c.id == dataset_event.c.dataset_id
    )
    if since_id is not None:
        query = query.where(dataset_event.c.id >= since_id)
    if source_dag_ids is not None:
        query = query.where(dataset_event.c.source_dag_id.in_(sorted(source_dag_ids)))
    if key.startswith(ALIAS_PREFIX):
        query = query.where(dataset_event.c.source_alias == key[len(ALIAS_PREFIX) :])
    else:
        query = query.where(dataset.c.uri == key)
    rows = conn.execute(query.order_by(dataset_event.c.id.desc()).limit(limit)).all()
    return [
        EventRow(
            r.id,
            r.uri,
            dict(r.extra or {}),
            r.created_at,
            r.source_dag_id,
            r.source_run_id,
            r.source_task_id,
            r.source_map_index,
            r.source_alias,
            r.partition_key,
        )
        for r in reversed(rows)
    ]


def consume(conn: Connection, dag_id: str, dataset_ids: list[int]) -> int:
    """Remove these pending updates of a DAG; how many there were."""
    return int(
        conn.execute(
            delete(dataset_dag_queue).where(
                dataset_dag_queue.c.target_dag_id == dag_id,
                dataset_dag_queue.c.dataset_id.in_(dataset_ids),
            )
        ).rowcount
    )


@dataclass(frozen=True)
class DatasetSummary:
    uri: str
    created_at: datetime
    last_event: dict[str, Any] | None
    events: int
    consumers: list[str]


def list_datasets(
    conn: Connection, source_dag_ids: Collection[str] | None = None
) -> list[DatasetSummary]:
    """Every dataset with its newest event, its number of events and the DAGs it schedules;
    ``source_dag_ids``: only the events those DAGs' tasks emitted are counted and shown."""
    emitted = (
        true()
        if source_dag_ids is None
        else dataset_event.c.source_dag_id.in_(sorted(source_dag_ids))
    )
    counts: dict[int, int] = dict(
        conn.execute(
            select(dataset_event.c.dataset_id, func.count())
            .where(emitted)
            .group_by(dataset_event.c.dataset_id)
        ).all()
    )
    newest = (
        select(func.max(dataset_event.c.id))
        .where(emitted)
        .group_by(dataset_event.c.dataset_id)
        .scalar_subquery()
    )
    last = {
        r.dataset_id: r
        for r in conn.execute(select(dataset_event).where(dataset_event.c.id.in_(newest)))
    }
    by_uri: dict[str, list[str]] = {}
    for dag_id, uris in consumers(conn).items():
        for uri in uris:
            by_uri.setdefault(uri, []).append(dag_id)
    summaries = []
    rows = conn.execute(
        select(dataset).where(~dataset.c.uri.startswith(ALIAS_PREFIX)).order_by(dataset.c.uri)
    )
    for row in rows:
        event = last.get(row.id)
        summaries.append(
            DatasetSummary(
                uri=row.uri,
                created_at=row.created_at,
                last_event=None
                if event is None
                else {
                    "source_dag_id": event.source_dag_id,
                    "source_run_id": event.source_run_id,
                    "source_task_id": event.source_task_id,
                    "source_map_index": event.source_map_index,
                    "at": event.created_at,
                    "extra": dict(event.extra or {}),
                    "source_alias": event.source_alias,
                },
                events=int(counts.get(row.id, 0)),
                consumers=sorted(by_uri.get(row.uri, [])),
            )
        )
    return summaries
