"""Context datetimes are pendulum's: .add(), .to_date_string(), .start_of()."""

from airflow.sdk import DAG, task
from difrec import START, attempt

with DAG("ctx_pendulum", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        when = context["logical_date"]
        attempt(context, "add", lambda: when.add(days=1).isoformat())
        attempt(context, "to_date_string", lambda: when.to_date_string())
        attempt(context, "start_of", lambda: when.start_of("month").isoformat())
        attempt(
            context, "interval_add", lambda: context["data_interval_end"].add(hours=1).isoformat()
        )

    look()
