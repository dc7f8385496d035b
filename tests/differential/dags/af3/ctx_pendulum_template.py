"""Pendulum's methods on dates inside templates."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("ctx_pendulum_template", schedule=None, start_date=START, catchup=False):

    @task
    def look(value, **context):
        rec(context, "value", value)

    look("{{ logical_date.add(days=1).to_date_string() }}")
