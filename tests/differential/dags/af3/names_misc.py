"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow to
airflow.version."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow": ["AirflowException", "DAG", "Dataset", "XComArg", "__version__"],
    "airflow.api.client.local_client": ["Client"],
    "airflow.api.common.trigger_dag": ["trigger_dag"],
    "airflow.config_templates.airflow_local_settings": ["DEFAULT_LOGGING_CONFIG"],
    "airflow.configuration": ["AIRFLOW_HOME", "conf"],
    "airflow.decorators": ["dag", "setup", "task", "task_group", "teardown"],
    "airflow.hooks.base": ["BaseHook"],
    "airflow.hooks.filesystem": ["FSHook"],
    "airflow.listeners": ["hookimpl"],
    "airflow.macros": ["datetime", "ds_add", "ds_format", "timedelta"],
    "airflow.notifications.basenotifier": ["BaseNotifier"],
    "airflow.plugins_manager": ["AirflowPlugin"],
    "airflow.settings": [
        "AIRFLOW_HOME",
        "DAGS_FOLDER",
        "PLUGINS_FOLDER",
        "SQL_ALCHEMY_CONN",
        "Session",
    ],
    "airflow.task.trigger_rule": ["TriggerRule"],
    "airflow.task.weight_rule": ["WeightRule"],
    "airflow.triggers.base": ["BaseTrigger", "TriggerEvent"],
    "airflow.triggers.file": ["FileTrigger"],
    "airflow.triggers.temporal": ["DateTimeTrigger", "TimeDeltaTrigger"],
    "airflow.version": ["version"],
}

with DAG("names_misc", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
