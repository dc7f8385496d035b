"""Context dates of a run at 2026-01-01 with no schedule: data interval of no length."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("ctx_dates", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        for name in [
            "ds",
            "ds_nodash",
            "ts",
            "logical_date",
            "data_interval_start",
            "data_interval_end",
        ]:
            rec(context, name, context[name])

    look()
