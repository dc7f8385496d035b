"""The date names templates see for a run at 2026-01-01 with no schedule."""

from airflow.sdk import DAG, task
from difrec import START, rec

NAMES = [
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
]

with DAG("tpl_date_names", schedule=None, start_date=START, catchup=False):

    @task
    def look(values, **context):
        for name, value in zip(NAMES, values, strict=True):
            rec(context, name, value)

    look([f"{{{{ {name} }}}}" for name in NAMES])
