"""A sensor that times out with soft_fail=True is skipped, and its downstream with it;
without soft_fail it fails (PythonSensor returning False, a timeout of one second)."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG
from difrec import START

with DAG("std_sensor_soft_fail", schedule=None, start_date=START, catchup=False):
    soft = PythonSensor(
        task_id="soft", python_callable=lambda: False, timeout=1, poke_interval=0.2, soft_fail=True
    )
    hard = PythonSensor(task_id="hard", python_callable=lambda: False, timeout=1, poke_interval=0.2)
    soft >> EmptyOperator(task_id="after_soft")
    hard >> EmptyOperator(task_id="after_hard")
