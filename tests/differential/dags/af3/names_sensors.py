"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.sensors.base to
airflow.sensors.weekday."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.sensors.base": ["BaseSensorOperator", "PokeReturnValue"],
    "airflow.sensors.bash": ["BashSensor"],
    "airflow.sensors.date_time": ["DateTimeSensor", "DateTimeSensorAsync"],
    "airflow.sensors.external_task": ["ExternalTaskMarker", "ExternalTaskSensor"],
    "airflow.sensors.filesystem": ["FileSensor"],
    "airflow.sensors.python": ["PythonSensor"],
    "airflow.sensors.time_delta": ["TimeDeltaSensor", "TimeDeltaSensorAsync"],
    "airflow.sensors.time_sensor": ["TimeSensor"],
    "airflow.sensors.weekday": ["DayOfWeekSensor"],
}

with DAG("names_sensors", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
