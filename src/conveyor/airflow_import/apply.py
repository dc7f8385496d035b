"""Read an Airflow database and carry out the import's plan in Conveyor's store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conveyor.airflow_import.fernet import AirflowSecrets
from conveyor.airflow_import.plan import ImportPlan, make_plan
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.connections import repository
from conveyor.store.airflow_import import asset_writing, reading, writing
from conveyor.store.airflow_import.records import AirflowRun
from conveyor.store.engine import Store

#: Runs written per transaction: a long history goes in steps, each one whole.
RUNS_PER_TRANSACTION = 500


def plan_import(
    store: Store, url: str, fernet_keys: str | None, since: datetime, now: datetime | None = None
) -> ImportPlan:
    """What importing the Airflow database at ``url`` would do; nothing is changed."""
    secrets = AirflowSecrets(fernet_keys)
    with reading.airflow_database(url) as (source, tables):
        with store.read() as conn:
            here = writing.present(conn, reading.dag_ids(source, tables))
        contents = reading.read_all(source, tables, since, already=here.runs)
    with store.read() as conn:
        return make_plan(conn, contents, here, secrets, now or utcnow())


def apply_plan(store: Store, settings: Settings, plan: ImportPlan) -> None:
    """Carry out ``plan``: settings and users first, then the history, then each DAG's
    schedule worked out again from it."""
    for connection in plan.connections:
        repository.set_connection(store, settings, connection)
    for variable in plan.variables:
        repository.set_variable(store, settings, variable.key, variable.value, variable.description)
    with store.write() as conn:
        for name, slots, description in plan.pools:
            writing.put_pool(conn, name, slots, description)
        for role in plan.roles:
            writing.put_role(conn, role.name, role.permissions)
        for user in plan.users:
            writing.put_user(conn, user.username, user.roles, user.password_hash)
        for dag_id, paused in sorted(plan.pause.items()):
            writing.set_paused(conn, dag_id, paused)
    _write_history(store, plan.runs, plan)
    _write_asset_events(store, plan)
    with store.write() as conn:
        writing.schedule_from_history(conn, [d.dag_id for d in plan.dags], utcnow())


def _write_history(store: Store, runs: Sequence[AirflowRun], plan: ImportPlan) -> None:
    versions = {d.dag_id: d for d in _conveyor_dags(store, plan)}
    for first in range(0, len(runs), RUNS_PER_TRANSACTION):
        batch = runs[first : first + RUNS_PER_TRANSACTION]
        with store.write() as conn:
            # Another import may have taken some meanwhile: those are left as they are.
            taken = writing.run_keys(conn, [(r.dag_id, r.run_id) for r in batch])
            writing.put_runs(
                conn, [r for r in batch if (r.dag_id, r.run_id) not in taken], versions
            )


def _write_asset_events(store: Store, plan: ImportPlan) -> None:
    """The events, and the updates DAGs wait for, in one transaction: an update is queued
    only with its event's first import, so an import run again never queues one that
    Conveyor's scheduler has consumed since."""
    with store.write() as conn:
        made = asset_writing.put_events(conn, plan.asset_events)
        for update in plan.asset_queue:
            event_id = made[update.event]
            if event_id is not None:
                at = plan.asset_events[update.event].at
                asset_writing.queue_update(conn, update.uri, update.dag_id, event_id, at)


def _conveyor_dags(store: Store, plan: ImportPlan) -> list[writing.ConveyorDag]:
    with store.read() as conn:
        return list(writing.present(conn, [d.dag_id for d in plan.dags]).dags.values())
