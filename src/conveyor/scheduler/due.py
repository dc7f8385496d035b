"""Which scheduled runs of a DAG are due, and when the scheduler next has to look at it.

Pure arithmetic over the DAG's schedule (no clock, no store), so the due time the scheduler
stores in the DAG's row (store/due_times.py) can be tested on its own.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from conveyor.clock import frozen_at
from conveyor.model.schedules import DataInterval, RunInfo
from conveyor.serialized import SerializedDag

_ONE_US = timedelta(microseconds=1)


def due_runs(
    structure: SerializedDag,
    last: DataInterval | None,
    now: datetime,
    limit: int,
    pending: datetime | None = None,
) -> tuple[list[RunInfo], datetime | None]:
    """The scheduled runs due at ``now`` after the run covering ``last`` (at most ``limit``),
    and the DAG's next due time: the next run's ``run_after``, ``now`` when more than
    ``limit`` are due already, None when no further run will come.

    ``pending`` is the next run's time as last worked out (the DAG row's). Airflow's
    timetables decide their next run when the one before is made, and with catchup off
    that decision depends on the clock; so once that time has come, the timetable is asked
    as of just before it, and the run it promised is the run made, however late the loop
    comes round. The runs after it are asked about as of ``now``."""
    due: list[RunInfo] = []
    interval = last
    asked = now
    if structure.schedule.decided_ahead and pending is not None:
        pending = pending if pending.tzinfo else pending.replace(tzinfo=UTC)
        if pending <= now:
            asked = pending - _ONE_US
    while len(due) < limit:
        # A user's timetable that reads the clock reads the moment asked about.
        with frozen_at(asked) if structure.schedule.reads_clock else nullcontext():
            info = structure.schedule.next_run(
                last=interval,
                start_date=structure.start_date,
                end_date=structure.end_date,
                catchup=structure.catchup,
                now=asked,
            )
        if info is None:
            return due, None
        if info.run_after > now:
            return due, info.run_after
        due.append(info)
        interval = info.data_interval
        asked = now
    return due, now  # more are due: the next loop makes them
