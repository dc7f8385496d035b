"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.providers.standard to
airflow.providers.standard.utils.weekday."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.providers.standard": ["__version__"],
    "airflow.providers.standard.hooks.filesystem": ["FSHook"],
    "airflow.providers.standard.operators.bash": ["BashOperator"],
    "airflow.providers.standard.operators.datetime": ["BranchDateTimeOperator"],
    "airflow.providers.standard.operators.empty": ["EmptyOperator"],
    "airflow.providers.standard.operators.latest_only": ["LatestOnlyOperator"],
    "airflow.providers.standard.operators.python": [
        "BranchExternalPythonOperator",
        "BranchPythonOperator",
        "BranchPythonVirtualenvOperator",
        "ExternalPythonOperator",
        "PythonOperator",
        "PythonVirtualenvOperator",
        "ShortCircuitOperator",
        "get_current_context",
    ],
    "airflow.providers.standard.operators.trigger_dagrun": ["TriggerDagRunOperator"],
    "airflow.providers.standard.operators.weekday": ["BranchDayOfWeekOperator"],
    "airflow.providers.standard.sensors.bash": ["BashSensor"],
    "airflow.providers.standard.sensors.date_time": ["DateTimeSensor", "DateTimeSensorAsync"],
    "airflow.providers.standard.sensors.external_task": [
        "ExternalTaskMarker",
        "ExternalTaskSensor",
    ],
    "airflow.providers.standard.sensors.filesystem": ["FileSensor"],
    "airflow.providers.standard.sensors.python": ["PythonSensor"],
    "airflow.providers.standard.sensors.time": ["TimeSensor"],
    "airflow.providers.standard.sensors.time_delta": ["TimeDeltaSensor", "TimeDeltaSensorAsync"],
    "airflow.providers.standard.sensors.weekday": ["DayOfWeekSensor"],
    "airflow.providers.standard.triggers.file": ["FileTrigger"],
    "airflow.providers.standard.triggers.temporal": ["DateTimeTrigger", "TimeDeltaTrigger"],
    "airflow.providers.standard.utils.weekday": ["WeekDay"],
}

with DAG("names_standard", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
