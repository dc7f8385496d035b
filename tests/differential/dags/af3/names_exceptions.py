"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.exceptions to
airflow.exceptions."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.exceptions": [
        "AirflowBadRequest",
        "AirflowConfigException",
        "AirflowDagCycleException",
        "AirflowException",
        "AirflowFailException",
        "AirflowNotFoundException",
        "AirflowOptionalProviderFeatureException",
        "AirflowProviderDeprecationWarning",
        "AirflowSensorTimeout",
        "AirflowSkipException",
        "AirflowTaskTimeout",
        "DagNotFound",
        "DagRunAlreadyExists",
        "DagRunNotFound",
        "DuplicateTaskIdFound",
        "ParamValidationError",
        "PoolNotFound",
        "TaskDeferralTimeout",
        "TaskDeferred",
        "TaskInstanceNotFound",
        "TaskNotFound",
    ]
}

with DAG("names_exceptions", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
