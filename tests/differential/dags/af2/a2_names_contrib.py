"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.contrib.hooks.fs_hook to
airflow.contrib.utils.weekday."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.contrib.hooks.fs_hook": ["FSHook"],
    "airflow.contrib.sensors.bash_sensor": ["BashSensor"],
    "airflow.contrib.sensors.file_sensor": ["FileSensor"],
    "airflow.contrib.sensors.python_sensor": ["PythonSensor"],
    "airflow.contrib.sensors.weekday_sensor": ["DayOfWeekSensor"],
    "airflow.contrib.utils.weekday": ["WeekDay"],
}

with DAG("a2_names_contrib", schedule_interval=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
