"""{{ prev_start_date_success }} renders None on a first run."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("ctx_prev_success_template", schedule=None, start_date=START, catchup=False):

    @task
    def look(value, **context):
        rec(context, "value", value)

    look("{{ prev_start_date_success }}|{{ prev_data_interval_start_success }}")
