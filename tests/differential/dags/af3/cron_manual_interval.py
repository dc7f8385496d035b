"""A manual run of a DAG with a cron schedule: its data interval and ds."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("cron_manual_interval", schedule="0 0 * * *", start_date=START, catchup=False):

    @task
    def look(**context):
        rec(context, "interval", [context["data_interval_start"], context["data_interval_end"]])
        rec(context, "ds", context["ds"])

    look()
