"""Deleting one run by hand (the API, the UI's button, ``conveyor runs delete``).

A run goes with its task instances, tries, timeline events and XComs (and, by foreign key,
its callback requests and scheduler problems); its log files are the caller's to delete
once the transaction committed, with :func:`conveyor.logs.delete_try_logs`. Only a finished
run can be deleted: a queued or running one may have a try that a process is running right
now, whose end would then have no run to record into. Mark its task instances failed (or
wait for it to end) first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from conveyor.exceptions import ConveyorError
from conveyor.states import RUN_FINISHED
from conveyor.store import manual, retention
from conveyor.store.retention import CleanReport


class RunNotFinished(ConveyorError):
    """The run is queued or running: it is not deleted (a 409 in the API)."""


@dataclass(frozen=True)
class DeletedRun:
    """What went with the run, and the log files of its tries (to delete after the commit)."""

    dag_id: str
    run_id: str
    deleted: CleanReport
    log_paths: list[str]


def delete_run(conn: Connection, dag_id: str, run_id: str) -> DeletedRun:
    """Delete a finished run and what belongs to it, in ``conn``'s transaction.

    Raises ``NotFoundError`` (no such run) or :class:`RunNotFinished`; nothing is deleted then.
    """
    run = manual.locked_run(conn, dag_id, run_id)  # a clear or a mark waits, or finds it gone
    if run.state not in RUN_FINISHED:
        raise RunNotFinished(
            f"run {run_id!r} of DAG {dag_id!r} is {run.state.value}: only a finished run can "
            "be deleted; mark its task instances failed (or wait for it to end) first"
        )
    paths = retention.log_paths(conn, [run.id])
    return DeletedRun(dag_id, run_id, retention.delete_runs(conn, [run.id]), paths)
