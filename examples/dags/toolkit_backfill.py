"""A daily DAG to backfill: run its past days from the command line.

    conveyor backfill toolkit_daily --from 2026-01-01 --to 2026-01-31 --max-active 4

Each day becomes a run of type ``backfill``. Ctrl-C stops, and the same command resumes;
``--reprocess failed`` reruns the days that failed, ``--reprocess all`` every day.
"""

from datetime import datetime

from conveyor import DAG, task

with DAG(
    "toolkit_daily",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,  # the scheduler makes only the latest day; backfill does the rest
    tags=["example", "toolkit"],
):

    @task
    def summarize(ds=None, data_interval_end=None) -> str:
        return f"summary of {ds} (data up to {data_interval_end})"

    summarize()
