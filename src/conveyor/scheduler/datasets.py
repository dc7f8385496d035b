"""Data-driven scheduling: the scheduler loop's part for datasets.

A try's end records a successful task's dataset updates in the transaction that records the
success (``engine.outlets``); the scheduler loop turns full sets of pending updates into
runs (:func:`create_dataset_runs`). The DAG's row is locked with SKIP LOCKED while its
updates are consumed, so several schedulers create each dataset-triggered run once.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from conveyor.lifecycle import Actor
from conveyor.model.partitioned_timetables import PartitionedAssetTimetable, run_partition_date
from conveyor.model.schedules import DataInterval, DatasetSchedule
from conveyor.run_ids import run_id_problem
from conveyor.scheduler.problems import Problems
from conveyor.serialized import SerializedDag
from conveyor.stats import airflow as stats
from conveyor.store import datasets, runs, scheduling
from conveyor.store.datasets import PendingUpdate
from conveyor.store.engine import Connection, Store

log = logging.getLogger(__name__)

RUN_TYPE = "dataset_triggered"


def create_dataset_runs(
    store: Store, actor: Actor, now: datetime, problems: Problems | None = None
) -> int:
    """A run for each DAG whose datasets' condition holds over its pending updates (all of
    them, for a list); returns how many.

    ``problems``: each DAG is a unit of its own (one that raises is recorded and skipped)."""
    with store.read() as conn:
        dag_ids = datasets.queued_dag_ids(conn)
    made = 0
    for dag_id in dag_ids:
        unit = problems.guard("dataset_run", dag_id=dag_id) if problems else nullcontext()
        runs_made = 0
        with unit, store.write() as conn:
            runs_made = _create_runs(conn, store.supports_row_locks, dag_id, actor, now)
        if runs_made:
            made += 1
            stats.asset_runs_made(runs_made)
    return made


def _create_runs(conn: Connection, lock: bool, dag_id: str, actor: Actor, now: datetime) -> int:
    """The DAG's runs its assets' updates call for: a partitioned DAG's, one a partition;
    how many."""
    if lock and not runs.claim_dag(conn, dag_id):
        return 0  # another scheduler is on it; its updates wait for the next loop
    found = scheduling.active_dag_version(conn, dag_id)
    if found is None or found[1]:
        return 0  # updates stay queued: a paused DAG runs once it is unpaused
    version_hash = found[0]
    structure = runs.serialized_dag(conn, version_hash)
    schedule = structure.schedule
    if isinstance(schedule, PartitionedAssetTimetable):
        return _create_partition_runs(conn, dag_id, version_hash, schedule, actor, now)
    return int(_create_run(conn, dag_id, version_hash, structure, schedule, actor, now))


def _create_run(
    conn: Connection,
    dag_id: str,
    version_hash: str,
    structure: SerializedDag,
    schedule: object,
    actor: Actor,
    now: datetime,
) -> bool:
    if not isinstance(schedule, DatasetSchedule):
        return False
    pending = datasets.pending_updates(conn, dag_id)
    if not schedule.ready(set(pending)):
        return False
    active = scheduling.active_run_count(conn, dag_id)
    if active >= structure.max_active_runs:
        # As Airflow defers an asset-triggered DAG at its limit: the updates stay queued and
        # the run is made at the first loop after one of its runs ends.
        log.debug("%s: %d active runs, max_active_runs reached: its run waits", dag_id, active)
        return False
    used = [pending[key] for key in schedule.uris if key in pending]
    events = _events_since_queued(conn, used)
    interval = DataInterval(now, now)  # the moment its datasets were all updated
    run_pk = runs.create_run(
        conn,
        dag_id=dag_id,
        version_hash=version_hash,
        structure=structure,
        run_type=RUN_TYPE,
        logical_date=now,
        interval=(interval.start, interval.end),
        conf={"dataset_events": events},
        created_by=actor.name,
    )
    if run_pk is None:
        return False
    datasets.consume(conn, dag_id, [update.dataset_id for update in used])
    log.info("dataset-triggered run of %s: %s", dag_id, ", ".join(u.uri for u in used))
    return True


def _events_since_queued(conn: Connection, used: list[PendingUpdate]) -> list[dict[str, Any]]:
    """Every event of the run's datasets since each was queued, oldest first: as Airflow, a
    run consumes all the events that came while it waited (for its other datasets, or for
    room under ``max_active_runs``), not only the first. The queue keeps each dataset's
    first pending event; one event can come under its dataset and under an alias."""
    found: dict[int, dict[str, Any]] = {}
    for update in used:
        for event in datasets.events_of(conn, update.uri, limit=None, since_id=update.event_id):
            found.setdefault(event.id, event.as_conf())
    return [found[event_id] for event_id in sorted(found)]


def _create_partition_runs(
    conn: Connection,
    dag_id: str,
    version_hash: str,
    schedule: PartitionedAssetTimetable,
    actor: Actor,
    now: datetime,
) -> int:
    """A run for each partition key whose queued updates make the condition hold, with that
    key as its ``partition_key`` and the updates' events in its conf; how many."""
    structure = runs.serialized_dag(conn, version_hash)
    pending = _drop_stale(conn, dag_id, schedule, datasets.pending_partitions(conn, dag_id))
    logged = datasets.logged_partitions(conn, dag_id)
    arrived: dict[tuple[str, str], set[str]] = {}
    for key, update in logged:
        arrived.setdefault((key, update.uri), set()).add(str(update.partition_key))
    _warn_never_done(dag_id, schedule, pending)
    ready = schedule.ready_keys([(update.uri, key) for key, update in pending], arrived)
    made = 0
    for number, key in enumerate(ready):
        # A rollup's run holds every event its window's keys came in.
        used = [update for queued_key, update in [*pending, *logged] if queued_key == key]
        partition_date = run_partition_date(
            schedule, key, {u.uri for u in used}, (u.carried_date for u in used)
        )
        events = list({update.event_id: update.as_conf() for update in used}.values())
        run_pk = runs.create_run(
            conn,
            dag_id=dag_id,
            version_hash=version_hash,
            structure=structure,
            run_type=RUN_TYPE,
            logical_date=now,
            interval=(now, now),
            conf={"dataset_events": events},
            run_id=_partition_run_id(now, key, number),
            created_by=actor.name,
            partition_key=key,
            partition_date=partition_date,
        )
        if run_pk is None:
            continue
        datasets.consume_partition(conn, dag_id, key)
        log.info("dataset-triggered run of %s for partition %s", dag_id, key)
        made += 1
    return made


def _drop_stale(
    conn: Connection,
    dag_id: str,
    schedule: PartitionedAssetTimetable,
    pending: list[tuple[str, PendingUpdate]],
) -> list[tuple[str, PendingUpdate]]:
    """The pending updates, without the partitions queued under other mappers than the
    DAG's now: those are dropped with their rollup's keys (firing on a window of the old
    definition, or waiting for keys the new one will never get, would both be wrong)."""
    now = schedule.fingerprint()
    stale = {key for key, u in pending if u.fingerprint is not None and u.fingerprint != now}
    for key in sorted(stale):
        datasets.consume_partition(conn, dag_id, key)
    if stale:
        log.info(
            "%s: dropped %d pending partition(s) queued under its earlier partition mappers",
            dag_id,
            len(stale),
        )
    return [(key, u) for key, u in pending if key not in stale]


#: The (DAG, asset) of the rollups already said never to fire, so a partition that waits
#: forever is told once per scheduler process, not every loop (as Airflow's scheduler).
_TOLD: set[tuple[str, str]] = set()


def _warn_never_done(
    dag_id: str, schedule: PartitionedAssetTimetable, pending: list[tuple[str, PendingUpdate]]
) -> None:
    for key, update in pending:
        reason = schedule.never_done(update.uri, key)
        if reason is None or (dag_id, update.uri) in _TOLD:
            continue
        _TOLD.add((dag_id, update.uri))
        log.warning(
            "rollup asset %s on DAG %s is permanently unreachable for partition %s: %s",
            update.uri,
            dag_id,
            key,
            reason,
        )


def _partition_run_id(now: datetime, key: str, number: int) -> str:
    """``dataset_triggered__<now>__<key>``: several partitions' runs are made at one moment;
    a key a run id cannot hold is replaced by its place in the loop's list."""
    base = runs.make_run_id(RUN_TYPE, now)
    named = f"{base}__{key}"
    return named if run_id_problem(named) is None else f"{base}__{number}"
