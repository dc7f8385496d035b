"""``fail_fast=True`` (Airflow 3's DAG keyword; ``fail_stop`` in Airflow 2): once a task of a
run has failed (no retries left), the rest of the run stops, as Airflow stops it: every other
instance that is running is failed, every other unfinished one skipped; teardowns are left
to run, and instances that succeeded or failed stay. It happens in the transaction that
records the failure, under the run's lock, before the run is planned (so its plan ends the
run failed).

A running try failed here is stopped as a person's mark stops it
(``transitions.override``): its try is closed as stopped, its process is asked to stop in
the same transaction (``task_instance.stop_try``, which its executor or worker reads: SIGTERM
to its process group, its operator's ``on_kill``, SIGKILL after the grace; see
``store/stops.py``), and its worker's own late end report loses (the move is guarded by the
state).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace

from conveyor.lifecycle import STOP_UNFINISHED, Actor
from conveyor.serialized import SerializedDag
from conveyor.states import FINISHED, TaskState
from conveyor.store import transitions
from conveyor.store.engine import Connection
from conveyor.store.hop.run_lock import LockedRun
from conveyor.store.runs import TiRow

#: What a fail_fast stop leaves alone: the finished instances it cannot skip.
_STAYS = FINISHED - STOP_UNFINISHED.from_states


@dataclass
class Stopped:
    """What :func:`stop_others` did: the tries it failed while running, as (task instance
    id, try number), and the ids of the instances it skipped."""

    failed: list[tuple[int, int]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def failed_task(structure: SerializedDag, tis: MutableMapping[str, TiRow]) -> str | None:
    """A task of the run that failed (not a teardown), if any: what stops a fail_fast run."""
    for ti in tis.values():
        if ti.state is TaskState.FAILED and not structure.tasks[ti.task_id].is_teardown:
            return ti.task_id
    return None


def stop_others(
    conn: Connection,
    run: LockedRun,
    structure: SerializedDag,
    tis: MutableMapping[str, TiRow],
    actor: Actor,
) -> Stopped:
    """If a task of this fail_fast run failed, stop the others (see the module); ``tis``
    (key -> row, the run's instances read under its lock) is updated in place."""
    stopped = Stopped()
    culprit = failed_task(structure, tis)
    if culprit is None:
        return stopped
    reason = f"fail_fast: task {culprit} failed"
    for key, ti in list(tis.items()):
        if ti.task_id == culprit or ti.state in _STAYS:
            continue
        if structure.tasks[ti.task_id].is_teardown:
            continue  # a teardown still cleans up after its setups
        if ti.state is TaskState.RUNNING:
            failed = transitions.override(
                conn, ti.id, TaskState.FAILED, actor, retries=0, kind="failed", why=reason
            )
            if failed:
                stopped.failed.append((ti.id, ti.try_number))
                tis[key] = _with_state(ti, TaskState.FAILED)
            continue
        if transitions.stop_unfinished(conn, run, ti.id, ti.state, ti.try_number, reason, actor):
            stopped.skipped.append(ti.id)
            tis[key] = _with_state(ti, TaskState.SKIPPED)
    return stopped


def _with_state(ti: TiRow, state: TaskState) -> TiRow:
    return replace(ti, state=state, retry_at=None)
