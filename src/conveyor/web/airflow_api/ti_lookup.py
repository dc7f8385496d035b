"""One task instance of a run, by task id and map index, or Airflow's 404 for it."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query

from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.tasks import InstanceRow

#: Airflow's ``map_index`` query parameter: -1 for a task that is not mapped.
MapIndexQuery = Annotated[int, Query(ge=-1, le=2**31 - 1)]


def instance_or_404(
    conn: Connection, dag_id: str, run_id: str, task_id: str, map_index: int
) -> tuple[RunListing, InstanceRow]:
    """The run and its instance of ``task_id`` at ``map_index``; 404 (the run's, or the
    instance's in Airflow's words) when there is none."""
    run = run_reads.get_run(conn, dag_id, run_id)
    row = task_reads.instance(conn, run.id, task_id, map_index)
    if row is None:
        if map_index == -1 and task_reads.count_mapped(conn, run.id, task_id):
            raise HTTPException(404, "Task instance is mapped, add the map_index value to the URL")
        raise HTTPException(
            404,
            f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, task_id: "
            f"`{task_id}` and map_index: `{map_index}` was not found",
        )
    return run, row
