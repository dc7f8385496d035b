"""A sensor past its timeout fails (soft_fail=False) or skips (soft_fail=True)."""

from airflow.sdk import DAG, task
from difrec import START

with DAG("sensor_timeout", schedule=None, start_date=START, catchup=False):

    @task.sensor(poke_interval=1, timeout=2, mode="poke")
    def never():
        return False

    @task.sensor(poke_interval=1, timeout=2, mode="poke", soft_fail=True)
    def never_soft():
        return False

    never()
    never_soft()
