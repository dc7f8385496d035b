"""The try's AIRFLOW_CTX_* ids are in its environment while its task runs, and reach a
BashOperator's command even with an env of its own."""

import os

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("bash_ctx_env", schedule=None, start_date=START, catchup=False):
    ids = BashOperator(
        task_id="ids",
        bash_command=(
            'echo "$AIRFLOW_CTX_DAG_ID/$AIRFLOW_CTX_TASK_ID/$AIRFLOW_CTX_TRY_NUMBER/$MINE"'
        ),
        env={"MINE": "mine"},
    )

    @task
    def see(value, **context):
        rec(context, "bash", value)
        names = ("DAG_ID", "TASK_ID", "TRY_NUMBER", "DAG_OWNER", "LOGICAL_DATE")
        rec(context, "environ", {n: os.environ.get(f"AIRFLOW_CTX_{n}") for n in names})
        rec(context, "run_id", os.environ.get("AIRFLOW_CTX_DAG_RUN_ID") == context["run_id"])

    see(ids.output)
