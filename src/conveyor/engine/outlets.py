"""A successful try's dataset updates, recorded with its success.

The try's end (``engine.tries``) calls :func:`record_task_outlets` in the transaction that
records the success, so an update exists exactly when the success does; the scheduler loop
turns full sets of pending updates into runs (``scheduler.datasets``).
"""

from __future__ import annotations

from conveyor.store import datasets, runs
from conveyor.store.engine import Connection
from conveyor.store.runs import RunRow


def record_task_outlets(conn: Connection, run: RunRow, task_id: str, map_index: int) -> None:
    """After a try succeeded: its outlets' updates. No statement for a task without outlets
    (the DAG structure is cached, and the run's advance reads it anyway)."""
    task = runs.serialized_dag(conn, run.version_hash).tasks.get(task_id)
    uris = task.raw.get("outlets") if task is not None else None
    if uris:
        datasets.record_updates(conn, run, task_id, map_index, uris)
