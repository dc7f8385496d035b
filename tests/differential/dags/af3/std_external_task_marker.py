"""ExternalTaskMarker runs as a task that succeeds (clearing across DAGs is not run here)."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskMarker
from airflow.sdk import DAG
from difrec import START

with DAG("std_external_task_marker", schedule=None, start_date=START, catchup=False):
    ExternalTaskMarker(
        task_id="marker", external_dag_id="other_dag", external_task_id="other_task"
    ) >> EmptyOperator(task_id="after")
