"""prev_*_success of a DAG's first run are None."""

from airflow.sdk import DAG, task
from difrec import START, attempt

with DAG("ctx_prev_success", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        for name in [
            "prev_data_interval_start_success",
            "prev_data_interval_end_success",
            "prev_start_date_success",
        ]:
            attempt(context, name, lambda name=name: context[name])

    look()
