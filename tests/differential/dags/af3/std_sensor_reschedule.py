"""A sensor in reschedule mode that is done at its second poke: the task succeeds, its try
number stays 1 (a reschedule is no new try), and it poked twice."""

import os

from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG, task
from difrec import START, rec


def second_time(**context):
    marker = os.path.join(os.environ["DIFFSUITE_RECORDS"], f"poke-{context['run_id']}")
    if os.path.exists(marker):
        return True
    open(marker, "w").close()
    return False


with DAG("std_sensor_reschedule", schedule=None, start_date=START, catchup=False):

    @task
    def after(**context):
        rec(context, "done", True)

    (
        PythonSensor(
            task_id="wait",
            python_callable=second_time,
            mode="reschedule",
            poke_interval=1,
            timeout=60,
        )
        >> after()
    )
