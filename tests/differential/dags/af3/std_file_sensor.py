"""FileSensor on a file that exists (this DAG file itself, by absolute path) succeeds; one
on a glob pattern that matches succeeds too."""

import os

from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG, task
from difrec import START, rec

HERE = os.path.dirname(os.path.abspath(__file__))

with DAG("std_file_sensor", schedule=None, start_date=START, catchup=False):
    found = FileSensor(task_id="exact", filepath=os.path.join(HERE, "std_file_sensor.py"))
    pattern = FileSensor(task_id="pattern", filepath=os.path.join(HERE, "std_file_sens*.py"))

    @task
    def after(**context):
        rec(context, "sensor_value", context["ti"].xcom_pull(task_ids="exact"))

    [found, pattern] >> after()
