"""LatestOnlyOperator in a manual run lets its downstream tasks run."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.sdk import DAG
from difrec import START

with DAG("latest_only_manual", schedule=None, start_date=START, catchup=False):
    LatestOnlyOperator(task_id="latest") >> EmptyOperator(task_id="after")
