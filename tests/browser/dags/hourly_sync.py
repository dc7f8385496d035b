"""A scheduled DAG: its next run shows in the DAG list."""

from datetime import datetime

from conveyor import DAG, BashOperator

with DAG(
    "hourly_sync",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sync"],
    description="Mirror the warehouse every hour",
):
    pull = BashOperator(task_id="pull", bash_command="echo pulling")
    push = BashOperator(task_id="push", bash_command="echo pushing")
    pull >> push
