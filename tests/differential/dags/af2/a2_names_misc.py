"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.api.common.experimental.get_task_instance to
airflow.timetables.datasets."""

import importlib

from airflow import DAG
from airflow.decorators import task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.api.common.experimental.get_task_instance": ["get_task_instance"],
    "airflow.datasets": ["Dataset", "DatasetAlias", "DatasetAll", "DatasetAny"],
    "airflow.datasets.metadata": ["Metadata"],
    "airflow.hooks.base_hook": ["BaseHook"],
    "airflow.models.mappedoperator": ["MappedOperator"],
    "airflow.sensors.base_sensor_operator": ["BaseSensorOperator"],
    "airflow.sensors.date_time_sensor": ["DateTimeSensor"],
    "airflow.sensors.external_task_sensor": ["ExternalTaskMarker", "ExternalTaskSensor"],
    "airflow.sensors.time_delta_sensor": ["TimeDeltaSensor"],
    "airflow.timetables.datasets": ["DatasetOrTimeSchedule"],
}

with DAG("a2_names_misc", schedule_interval=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
