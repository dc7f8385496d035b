"""Write what an Airflow database held into Conveyor's store, once.

Every writer takes only what the store does not have yet (a connection, a pool, a user, a
role, a run by its DAG and run id), so an import run again adds only what is new. Runs are
written with their task instances and tries in a few statements per batch, and pin the
version of their DAG that Conveyor parsed: a DAG Conveyor has not parsed has no history here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, tuple_

from conveyor.clock import utcnow
from conveyor.states import ExitKind, RunState, TaskState
from conveyor.store import dag_actions, due_times
from conveyor.store import pools as pool_rows
from conveyor.store import roles as role_rows
from conveyor.store import users as user_rows
from conveyor.store.airflow_import.records import AirflowRun, AirflowTaskInstance
from conveyor.store.tables import (
    connection,
    dag,
    dag_run,
    pool,
    role,
    task_event,
    task_instance,
    task_try,
    variable,
    web_user,
)
from conveyor.strict_json import check

#: Who made an imported run, and the timeline entry of each imported task instance.
IMPORTED_BY = "airflow import"

#: Airflow's run types as Conveyor names them (Airflow 3 says asset where 2 said dataset).
RUN_TYPES = {
    "scheduled": "scheduled",
    "manual": "manual",
    "backfill": "backfill",
    "dataset_triggered": "dataset_triggered",
    "asset_triggered": "dataset_triggered",
    "asset_materialization": "asset_materialize",
}
_TASK_STATES = {s.value for s in TaskState}
#: Airflow's states that Conveyor has no name for.
_TASK_STATE_ALIASES = {"restarting": TaskState.UP_FOR_RETRY.value, None: TaskState.NONE.value}
_EXIT_KINDS = {
    TaskState.SUCCESS.value: ExitKind.RETURN.value,
    TaskState.FAILED.value: ExitKind.EXCEPTION.value,
    TaskState.UP_FOR_RETRY.value: ExitKind.EXCEPTION.value,
    TaskState.SKIPPED.value: ExitKind.SKIP.value,
}


@dataclass(frozen=True)
class ConveyorDag:
    """A DAG as Conveyor's store has it: the version imported runs pin, its pause state."""

    dag_id: str
    version_hash: str
    is_paused: bool


@dataclass(frozen=True)
class Present:
    """What the store holds already, by key, so the import can skip it."""

    connections: frozenset[str]
    variables: frozenset[str]
    pools: dict[str, int | None]
    users: frozenset[str]
    roles: frozenset[str]
    dags: dict[str, ConveyorDag]
    runs: frozenset[tuple[str, str]]


def present(conn: Connection, dag_ids: Iterable[str]) -> Present:
    wanted = sorted(set(dag_ids))
    dags = {
        r.dag_id: ConveyorDag(r.dag_id, r.version_hash, bool(r.is_paused))
        for r in conn.execute(
            select(dag.c.dag_id, dag.c.version_hash, dag.c.is_paused).where(
                dag.c.dag_id.in_(wanted), dag.c.is_active.is_(True)
            )
        )
    }
    runs = conn.execute(
        select(dag_run.c.dag_id, dag_run.c.run_id).where(dag_run.c.dag_id.in_(wanted))
    )
    return Present(
        connections=frozenset(conn.execute(select(connection.c.conn_id)).scalars()),
        variables=frozenset(conn.execute(select(variable.c.key)).scalars()),
        pools={r.name: r.slots for r in conn.execute(select(pool.c.name, pool.c.slots))},
        users=frozenset(conn.execute(select(web_user.c.username)).scalars()),
        roles=frozenset(conn.execute(select(role.c.name)).scalars()),
        dags=dags,
        runs=frozenset((r.dag_id, r.run_id) for r in runs),
    )


def put_pool(conn: Connection, name: str, slots: int | None, description: str | None) -> None:
    pool_rows.set_pool(conn, name, slots, description)


def put_role(conn: Connection, name: str, permissions: Sequence[tuple[str, str]]) -> None:
    """A named role with ``(action, resource)`` permissions, if there is none of that name."""
    if role_rows.get_role(conn, name) is None:
        role_rows.create_role(conn, name)
    for action, resource in permissions:
        role_rows.add_permission(conn, name, action, resource)


def put_user(conn: Connection, username: str, roles: list[str], password_hash: str) -> None:
    """A user with ``roles`` (built-in and named, as ``users.set_roles`` takes them) and a
    password hash in Airflow's encoding, which sign-in accepts once and replaces."""
    user_rows.create_user(conn, username, user_rows.NO_BUILT_IN, password_hash)
    user_rows.set_roles(conn, username, roles)


def set_paused(conn: Connection, dag_id: str, paused: bool) -> None:
    dag_actions.set_paused(conn, dag_id, paused)


def schedule_from_history(conn: Connection, dag_ids: Sequence[str], now: datetime) -> None:
    """Have the scheduler work out these DAGs' next runs anew, from the runs now stored: the
    next run it had worked out before the import came from a history that lacked them."""
    due_times.mark_due(conn, dag_ids, now)
    for dag_id in dag_ids:
        dag_actions.set_next_run(conn, dag_id, None)


def put_runs(conn: Connection, runs: Sequence[AirflowRun], dags: dict[str, ConveyorDag]) -> int:
    """Insert runs with their task instances and tries; the task instances written. Each
    table takes one batched statement (insertmanyvalues), its new ids back in order."""
    if not runs:
        return 0
    now = utcnow()
    run_rows = [_run_values(r, dags[r.dag_id].version_hash, now) for r in runs]
    made = conn.execute(
        insert(dag_run).returning(dag_run.c.id, sort_by_parameter_order=True), run_rows
    )
    run_pks = list(made.scalars())
    kept = [
        (run_pk, found, ti)
        for run_pk, found in zip(run_pks, runs, strict=True)
        for ti in found.task_instances
        if ti.state != "removed"
    ]
    if not kept:
        return 0
    made = conn.execute(
        insert(task_instance).returning(task_instance.c.id, sort_by_parameter_order=True),
        [_instance_values(run_pk, found, ti, now) for run_pk, found, ti in kept],
    )
    ti_ids = list(made.scalars())
    tries = [
        row
        for ti_id, (_, _, ti) in zip(ti_ids, kept, strict=True)
        for row in _try_values(ti_id, ti)
    ]
    if tries:
        conn.execute(insert(task_try), tries)
    conn.execute(
        insert(task_event),
        [_event_values(ti_id, ti, now) for ti_id, (_, _, ti) in zip(ti_ids, kept, strict=True)],
    )
    return len(kept)


def run_keys(conn: Connection, keys: Sequence[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """Which of these (dag_id, run_id) the store holds."""
    if not keys:
        return frozenset()
    rows = conn.execute(
        select(dag_run.c.dag_id, dag_run.c.run_id).where(
            tuple_(dag_run.c.dag_id, dag_run.c.run_id).in_(list(keys))
        )
    )
    return frozenset((r.dag_id, r.run_id) for r in rows)


def run_date(found: AirflowRun) -> datetime | None:
    """The date a run is known by: its logical date, else (an Airflow 3 run asked for
    without one) when it was to run, else when it was queued."""
    return found.logical_date or found.run_after or found.queued_at or found.start_date


def _run_values(found: AirflowRun, version_hash: str, now: datetime) -> dict[str, Any]:
    logical = run_date(found) or now
    conf = found.conf or {}
    check(conf, f"run {found.run_id!r} of DAG {found.dag_id!r}", "conf")
    state = found.state if found.state in {s.value for s in RunState} else RunState.QUEUED.value
    return {
        "dag_id": found.dag_id,
        "run_id": found.run_id,
        "run_type": RUN_TYPES.get(found.run_type, "manual"),
        "state": state,
        "logical_date": logical,
        "data_interval_start": found.data_interval_start or logical,
        "data_interval_end": found.data_interval_end or logical,
        "conf": conf,
        "version_hash": version_hash,
        "created_by": IMPORTED_BY,
        "queued_at": found.queued_at or found.start_date or logical,
        "start_date": found.start_date,
        "end_date": found.end_date,
        "user_note": found.note,
        "updated_at": now,
    }


def task_state(value: str | None) -> str:
    """Airflow's state of a task instance as Conveyor names it."""
    if value in _TASK_STATES:
        assert value is not None
        return value
    return _TASK_STATE_ALIASES.get(value, TaskState.NONE.value)


def _instance_values(
    run_pk: int, found: AirflowRun, ti: AirflowTaskInstance, now: datetime
) -> dict[str, Any]:
    return {
        "run_pk": run_pk,
        "dag_id": found.dag_id,
        "run_id": found.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "state": task_state(ti.state),
        "try_number": ti.try_number,
        # Airflow counts the retries left after the first try; Conveyor counts every try.
        "max_tries": max(ti.max_tries, 0) + 1,
        "priority_weight": ti.priority_weight or 1,
        "queue": ti.queue or "default",
        "pool": ti.pool,
        "pool_slots": ti.pool_slots,
        "queued_at": ti.queued_at,
        "start_date": ti.start_date,
        "end_date": ti.end_date,
        "hostname": ti.hostname,
        "pid": ti.pid,
        # A try Airflow left running is judged by its last heartbeat, as after a restart.
        "heartbeat_at": ti.heartbeat_at or ti.start_date,
        "user_note": ti.note,
        "rendered_map_index": ti.rendered_map_index,
        "updated_at": now,
    }


def _try_values(ti_id: int, ti: AirflowTaskInstance) -> list[dict[str, Any]]:
    rows = []
    for number, found in enumerate(ti.tries, start=1):
        state = task_state(found.state)
        duration = found.duration
        if duration is None and found.start_date and found.end_date:
            duration = (found.end_date - found.start_date).total_seconds()
        rows.append(
            {
                "ti_id": ti_id,
                "try_number": found.try_number or number,
                "state": state,
                "hostname": found.hostname,
                "pid": found.pid,
                "start_date": found.start_date,
                "end_date": found.end_date,
                "duration": duration,
                # A try with no end recorded (one Airflow left started) ended no known way.
                "exit_kind": _EXIT_KINDS.get(state) if found.end_date is not None else None,
            }
        )
    return rows


def _event_values(ti_id: int, ti: AirflowTaskInstance, now: datetime) -> dict[str, Any]:
    state = task_state(ti.state)
    return {
        "ti_id": ti_id,
        "try_number": ti.try_number,
        "at": now,
        "kind": "imported",
        "actor": IMPORTED_BY,
        "message": f"imported from Airflow as {state} after {len(ti.tries)} tries"
        + (f": {ti.reason}" if ti.reason else ""),
        "detail": None,
    }
