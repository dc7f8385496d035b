"""Data-driven scheduling: the scheduler loop's part for datasets.

A try's end records a successful task's dataset updates in the transaction that records the
success (``engine.outlets``); the scheduler loop turns full sets of pending updates into
runs (:func:`create_dataset_runs`). The DAG's row is locked with SKIP LOCKED while its
updates are consumed, so several schedulers create each dataset-triggered run once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection, select

from conveyor.model.schedules import DatasetSchedule
from conveyor.store import datasets, runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag
from conveyor.store.transitions import Actor

log = logging.getLogger(__name__)

RUN_TYPE = "dataset_triggered"


def create_dataset_runs(store: Store, actor: Actor, now: datetime) -> int:
    """A run for each DAG whose every dataset has a pending update; returns how many."""
    with store.read() as conn:
        dag_ids = datasets.queued_dag_ids(conn)
    made = 0
    for dag_id in dag_ids:
        with store.write() as conn:
            if _create_run(conn, store.supports_row_locks, dag_id, actor, now):
                made += 1
    return made


def _create_run(conn: Connection, lock: bool, dag_id: str, actor: Actor, now: datetime) -> bool:
    if lock and not runs.claim_dag(conn, dag_id):
        return False  # another scheduler is on it; its updates wait for the next loop
    row = conn.execute(
        select(dag.c.version_hash, dag.c.is_paused).where(
            dag.c.dag_id == dag_id, dag.c.is_active.is_(True)
        )
    ).first()
    if row is None or row.is_paused:
        return False  # updates stay queued: a paused DAG runs once it is unpaused
    structure = runs.serialized_dag(conn, row.version_hash)
    schedule = structure.schedule
    if not isinstance(schedule, DatasetSchedule):
        return False
    pending = datasets.pending_updates(conn, dag_id)
    if any(uri not in pending for uri in schedule.uris):
        return False
    used = [pending[uri] for uri in schedule.uris]
    interval = schedule.manual_interval(now)
    run_pk = runs.create_run(
        conn,
        dag_id=dag_id,
        version_hash=row.version_hash,
        structure=structure,
        run_type=RUN_TYPE,
        logical_date=now,
        interval=(interval.start, interval.end),
        conf={"dataset_events": [update.as_conf() for update in used]},
        created_by=actor.name,
    )
    if run_pk is None:
        return False
    datasets.consume(conn, dag_id, [update.dataset_id for update in used])
    log.info("dataset-triggered run of %s: %s", dag_id, ", ".join(schedule.uris))
    return True
