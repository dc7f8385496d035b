"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.sdk.bases.hook to
airflow.sdk.types."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.sdk.bases.hook": ["BaseHook"],
    "airflow.sdk.bases.notifier": ["BaseNotifier"],
    "airflow.sdk.bases.operator": ["BaseOperator", "chain", "cross_downstream"],
    "airflow.sdk.bases.sensor": ["BaseSensorOperator", "PokeReturnValue"],
    "airflow.sdk.exceptions": [
        "AirflowConfigException",
        "AirflowDagCycleException",
        "AirflowException",
        "AirflowFailException",
        "AirflowNotFoundException",
        "AirflowOptionalProviderFeatureException",
        "AirflowRuntimeError",
        "AirflowSensorTimeout",
        "AirflowSkipException",
        "AirflowTaskTimeout",
        "DuplicateTaskIdFound",
        "ErrorType",
        "ParamValidationError",
        "TaskDeferralTimeout",
        "TaskDeferred",
        "TaskNotFound",
    ],
    "airflow.sdk.execution_time.context": ["context_to_airflow_vars"],
    "airflow.sdk.module_loading": ["import_string", "qualname"],
    "airflow.sdk.types": ["RuntimeTaskInstanceProtocol"],
}

with DAG("names_sdk_other", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
