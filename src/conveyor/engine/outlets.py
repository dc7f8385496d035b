"""A successful try's dataset updates, recorded with its success.

The try's end (``engine.tries``) calls :func:`record_task_outlets` in the transaction that
records the success, so an update exists exactly when the success does; the scheduler loop
turns full sets of pending updates into runs (``scheduler.datasets``).
"""

from __future__ import annotations

from conveyor.model.assets import Emitted
from conveyor.store import datasets, runs
from conveyor.store.engine import Connection
from conveyor.store.runs import RunRow


def record_task_outlets(
    conn: Connection, run: RunRow, task_id: str, map_index: int, emitted: Emitted | None = None
) -> None:
    """After a try succeeded: its outlets' updates, with the extras its ``outlet_events``
    set, and the events it emitted through aliases. No statement for a task without outlets
    (the DAG structure is cached, and the run's advance reads it anyway)."""
    task = runs.serialized_dag(conn, run.version_hash).tasks.get(task_id)
    uris = (task.raw.get("outlets") if task is not None else None) or []
    through = emitted.through_aliases if emitted is not None else []
    if uris or through:
        extras = emitted.extras if emitted is not None else {}
        partitions = emitted.partitions if emitted is not None else {}
        datasets.record_updates(conn, run, task_id, map_index, uris, extras, through, partitions)
