"""``LatestOnlyOperator``: let downstream tasks run only in the run of the latest interval.

A scheduled run whose interval is not the most recent one (a catchup or backfill run, or a
run that started late) skips its direct downstream tasks; trigger rules carry on from there.
A manual run always goes on, as do a run without an interval (a point in time) and a run
of a DAG whose schedule has no next interval.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conveyor.clock import utcnow
from conveyor.model.schedules import DataInterval
from conveyor.model.task import BaseOperator


class LatestOnlyOperator(BaseOperator):
    ui_color = "#e9ffdb"
    is_branch = True  # follows all its direct downstream tasks, or none

    def execute(self, context: dict[str, Any]) -> list[str]:
        run = context["dag_run"]
        everything = sorted(self.downstream_task_ids)
        if run.run_type == "manual":
            print("[conveyor] a manual run: downstream tasks go on", flush=True)
            return everything
        if is_latest_interval(context, utcnow()):
            print("[conveyor] the latest interval: downstream tasks go on", flush=True)
            return everything
        print("[conveyor] not the latest interval: skipping direct downstream", flush=True)
        return []


def is_latest_interval(context: dict[str, Any], now: datetime) -> bool:
    """Whether ``now`` lies within the interval after the run's (so no later one is due)."""
    dag = context["dag"]
    interval = DataInterval(context["data_interval_start"], context["data_interval_end"])
    if interval.start == interval.end:
        return True  # a point in time (a dataset-triggered run, say): each run is the latest
    following = dag.schedule.next_run(
        last=interval, start_date=dag.start_date, end_date=None, catchup=True, now=now
    )
    if following is None:
        return True  # no next interval: this is the last one
    return bool(following.data_interval.start < now <= following.data_interval.end)
