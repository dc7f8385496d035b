"""Airflow's date filters: ds, ds_nodash, ts, ts_nodash, ts_nodash_with_tz."""

from airflow.sdk import DAG, task
from difrec import START, rec

FILTERS = ["ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz"]

with DAG("tpl_filters", schedule=None, start_date=START, catchup=False):

    @task
    def look(values, **context):
        for name, value in zip(FILTERS, values, strict=True):
            rec(context, name, value)

    look([f"{{{{ logical_date | {name} }}}}" for name in FILTERS])
