"""Which scheduled runs of a DAG are due, and when the scheduler next has to look at it.

Pure arithmetic over the DAG's schedule (no clock, no store), so the due time the scheduler
stores in the DAG's row (store/due_times.py) can be tested on its own.
"""

from __future__ import annotations

from datetime import datetime

from conveyor.model.schedules import DataInterval, RunInfo
from conveyor.serialized import SerializedDag


def due_runs(
    structure: SerializedDag, last: DataInterval | None, now: datetime, limit: int
) -> tuple[list[RunInfo], datetime | None]:
    """The scheduled runs due at ``now`` after the run covering ``last`` (at most ``limit``),
    and the DAG's next due time: the next run's ``run_after``, ``now`` when more than
    ``limit`` are due already, None when no further run will come."""
    due: list[RunInfo] = []
    interval = last
    while len(due) < limit:
        info = structure.schedule.next_run(
            last=interval,
            start_date=structure.start_date,
            end_date=structure.end_date,
            catchup=structure.catchup,
            now=now,
        )
        if info is None:
            return due, None
        if info.run_after > now:
            return due, info.run_after
        due.append(info)
        interval = info.data_interval
    return due, now  # more are due: the next loop makes them
