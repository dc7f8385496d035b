"""What a DAG file asks that Airflow carries out and Conveyor does not is refused when the
task runs, never when the file loads: the file's other tasks and DAGs run, and the refused
task's try fails with a message that names the keyword and what to write instead."""

from __future__ import annotations

from datetime import datetime

from conveyor import DAG
from conveyor.lifecycle import TaskState
from conveyor.operators.python import PythonOperator
from conveyor.providers.amazon.sqs import SqsSensor
from conveyor.providers.docker.operator import DockerOperator
from conveyor.providers.google.bigquery_operators import BigQueryGetDataOperator
from conveyor.providers.google.bigquery_transfers import GCSToBigQueryOperator
from conveyor.providers.google.sql_to_gcs import PostgresToGCSOperator
from conveyor.providers.spark.operator import SparkSubmitOperator
from conveyor.testing import run_dag

with DAG("asks_too_much", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    fine = PythonOperator(task_id="fine", python_callable=lambda: "ran")
    spark = SparkSubmitOperator(
        task_id="spark", application="job.py", track_driver_via_k8s_api=True
    )
    fine >> spark


def test_the_file_loads_and_the_refused_task_fails_when_it_runs() -> None:
    result = run_dag(dag)
    assert result.task_state("fine") is TaskState.SUCCESS
    assert result.xcom("fine") == "ran"
    refused = result.tasks["spark"]
    assert refused.state is TaskState.FAILED
    assert refused.error is not None
    assert "track_driver_via_k8s_api is not supported by Conveyor" in refused.error
    assert "use client deploy mode" in refused.error


def test_each_operators_refusal_waits_for_its_run() -> None:
    """Built as a DAG file builds them, each says what will be refused and raises nothing."""
    with DAG("each", schedule=None, start_date=datetime(2026, 1, 1)):
        built = {
            "retrieve_output": DockerOperator(
                task_id="docker", image="debian", retrieve_output=True
            ),
            "external_table": GCSToBigQueryOperator(
                task_id="gcs",
                bucket="b",
                source_objects=["a.csv"],
                destination_project_dataset_table="p.d.t",
                external_table=True,
            ),
            "partition_columns": PostgresToGCSOperator(
                task_id="pg", sql="SELECT 1", bucket="b", filename="f", partition_columns=["a"]
            ),
            "message_filtering='jsonpath'": SqsSensor(
                task_id="sqs", sqs_queue="q", message_filtering="jsonpath"
            ),
            "encryption_configuration": BigQueryGetDataOperator(
                task_id="bq",
                dataset_id="d",
                table_id="t",
                encryption_configuration={"kmsKeyName": "k"},
            ),
        }
    for keyword, task in built.items():
        assert task.refused_when_run is not None and keyword in task.refused_when_run, keyword
    plain = DockerOperator(task_id="plain", image="debian")
    assert plain.refused_when_run is None
