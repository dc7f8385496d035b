"""Branching: pick one of two paths at run time, then join them again.

``choose_path`` returns the id of the task to follow; the other path is skipped, and the skip
flows down that path. ``join`` uses the trigger rule ``none_failed_min_one_success`` so that
it runs after whichever path ran, instead of being skipped along with the other path.

The path follows the weekday of the run's logical date, unless the run is triggered with
``{"mode": "weekday"}`` or ``{"mode": "weekend"}`` as its conf, which overrides the param.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conveyor import DAG, BashOperator, EmptyOperator, Fail, task

MODES = ("weekday", "weekend")

with DAG(
    "branching",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Defaults for {{ params.* }} and the ``params`` argument; a run's conf overrides them.
    params={"mode": "auto", "greeting": "hello"},
    tags=["example"],
    description="Choose a path by weekday (or by the 'mode' param) and join again",
):

    @task.branch
    def choose_path(logical_date: datetime, params: dict[str, Any]) -> str:
        mode = params["mode"]
        if mode == "auto":
            mode = "weekend" if logical_date.weekday() >= 5 else "weekday"
        if mode not in MODES:
            # Fail ends the task at once: retrying would not fix a bad parameter.
            raise Fail(f"param 'mode' must be 'auto', 'weekday' or 'weekend', got {mode!r}")
        return f"{mode}_report"  # must be a task directly downstream of this one

    # Fields like bash_command are Jinja templates, rendered just before the task runs. A
    # run's conf overrides params and reaches templates unquoted: a value meant for the shell
    # goes through env (the shell reads "$GREETING" as data) or the shell_quote filter.
    weekday_report = BashOperator(
        task_id="weekday_report",
        bash_command='echo "$GREETING: weekday report for {{ ds }}"',
        env={"GREETING": "{{ params.greeting }}"},
    )

    @task
    def weekday_publish() -> str:
        return "published the weekday report"

    @task
    def weekend_report(ds: str) -> str:
        return f"weekend summary for {ds}"

    weekend_cleanup = BashOperator(
        task_id="weekend_cleanup",
        bash_command=(
            "echo {{ params.greeting | shell_quote }}: clearing scratch space of {{ ds_nodash }}"
        ),
    )

    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")

    branch = choose_path()
    branch >> weekday_report >> weekday_publish() >> join
    branch >> weekend_report() >> weekend_cleanup >> join
