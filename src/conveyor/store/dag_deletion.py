"""Deleting a DAG's history by hand (``DELETE /api/v2/dags/{dag_id}``), as Airflow deletes
a DAG's metadata.

Every run of the DAG goes, with its task instances, tries, timeline events and XComs (as
:mod:`conveyor.store.run_deletion` deletes one), and so do its backfills and the dataset
updates queued for it. Its log files are the caller's to delete once the transaction
committed. Only a DAG whose runs have all finished is deleted: a queued or running run may
have a try running right now.

The DAG itself stays while its file is in the folder (Airflow's next parse would bring it
back at once; Conveyor keeps the parsed DAG, its pause and its versions). A DAG whose file
is gone (inactive) goes entirely: its row, its versions and the users' favourite marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from conveyor.exceptions import ConveyorError, NotFoundError
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import favorites, retention
from conveyor.store.retention import CleanReport
from conveyor.store.tables import (
    backfill,
    dag,
    dag_run,
    dag_version,
    dataset_dag_queue,
    partition_dag_queue,
    partition_key_log,
)

#: Runs named in the refusal (a DAG may have thousands).
SHOWN_RUNS = 5


class DagHasActiveRuns(ConveyorError):
    """A run of the DAG is queued or running: nothing is deleted (a 409 in the API)."""


@dataclass(frozen=True)
class DeletedDag:
    """What went with the DAG, and the log files of its tries (to delete after the commit)."""

    dag_id: str
    deleted: CleanReport
    backfills: int
    log_paths: list[str]
    #: Whether the DAG's own row went too (its file is gone).
    dag_removed: bool


def delete_dag(conn: Connection, dag_id: str) -> DeletedDag:
    """Delete the DAG's runs and what belongs to them in ``conn``'s transaction (and the
    DAG itself when its file is gone). Raises ``NotFoundError`` or :class:`DagHasActiveRuns`;
    nothing is deleted then."""
    # The DAG's row, then its runs, locked: the scheduler creates no run meanwhile and a
    # clear or a mark waits, then finds the runs gone.
    found = conn.execute(
        select(dag.c.is_active).where(dag.c.dag_id == dag_id).with_for_update()
    ).first()
    if found is None:
        raise NotFoundError(f"no DAG {dag_id!r}")
    rows = conn.execute(
        select(dag_run.c.id, dag_run.c.run_id, dag_run.c.state)
        .where(dag_run.c.dag_id == dag_id)
        .order_by(dag_run.c.id)
        .with_for_update()
    ).all()
    finished = {state.value for state in RUN_FINISHED}
    active = [r.run_id for r in rows if r.state not in finished]
    if active:
        shown = ", ".join(repr(r) for r in active[:SHOWN_RUNS])
        more = f" and {len(active) - SHOWN_RUNS} more" if len(active) > SHOWN_RUNS else ""
        raise DagHasActiveRuns(
            f"DAG {dag_id!r} has {len(active)} queued or running run(s) ({shown}{more}): "
            f"mark them {RunState.FAILED.value} or wait for them to end, then delete the DAG"
        )
    run_pks = [r.id for r in rows]
    paths = retention.log_paths(conn, run_pks) if run_pks else []
    report = retention.delete_runs(conn, run_pks) if run_pks else CleanReport()
    backfills = conn.execute(delete(backfill).where(backfill.c.dag_id == dag_id)).rowcount
    conn.execute(delete(dataset_dag_queue).where(dataset_dag_queue.c.target_dag_id == dag_id))
    conn.execute(delete(partition_dag_queue).where(partition_dag_queue.c.target_dag_id == dag_id))
    conn.execute(delete(partition_key_log).where(partition_key_log.c.target_dag_id == dag_id))
    removed = not found.is_active
    if removed:
        conn.execute(delete(dag).where(dag.c.dag_id == dag_id))
        conn.execute(delete(dag_version).where(dag_version.c.dag_id == dag_id))
        favorites.forget_dag(conn, dag_id)
    return DeletedDag(dag_id, report, int(backfills), paths, removed)
