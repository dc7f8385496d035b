"""An Airflow 3 DAG that does not say catchup= (Airflow 3's default is False)."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("ctx_catchup_default", schedule=None, start_date=START):

    @task
    def look(**context):
        rec(context, "catchup", context["dag"].catchup)

    look()
