"""Sensors whose condition already holds succeed at their first poke: DateTimeSensor with a
past target, TimeDeltaSensor of no length after the run's interval, DayOfWeekSensor on the
logical date's day, BashSensor exiting 0, PythonSensor returning True (with op_kwargs)."""

import datetime as dt

from airflow.providers.standard.sensors.bash import BashSensor
from airflow.providers.standard.sensors.date_time import DateTimeSensor
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.providers.standard.sensors.weekday import DayOfWeekSensor
from airflow.sdk import DAG, task
from difrec import START, rec


def ready(wanted, **context):
    rec(context, "wanted", wanted)
    return wanted == "yes"


with DAG("std_sensors_done", schedule=None, start_date=START, catchup=False):
    sensors = [
        DateTimeSensor(task_id="date_time", target_time="2000-01-01T00:00:00+00:00"),
        DateTimeSensor(task_id="date_time_template", target_time="{{ logical_date }}"),
        TimeDeltaSensor(task_id="time_delta", delta=dt.timedelta(0)),
        DayOfWeekSensor(task_id="weekday", week_day="Thursday", use_task_logical_date=True),
        BashSensor(task_id="bash", bash_command="exit 0"),
        PythonSensor(task_id="python", python_callable=ready, op_kwargs={"wanted": "yes"}),
    ]

    @task
    def after(**context):
        rec(context, "sensor_xcom", context["ti"].xcom_pull(task_ids="python"))

    sensors >> after()
