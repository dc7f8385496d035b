"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.providers.common.compat.notifier to
airflow.providers.common.compat.sdk."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.providers.common.compat.notifier": ["BaseNotifier"],
    "airflow.providers.common.compat.sdk": [
        "AirflowConfigException",
        "AirflowException",
        "AirflowFailException",
        "AirflowNotFoundException",
        "AirflowOptionalProviderFeatureException",
        "AirflowSensorTimeout",
        "AirflowSkipException",
        "AirflowTaskTimeout",
        "BaseHook",
        "BaseNotifier",
        "BaseOperator",
        "BaseSensorOperator",
        "Connection",
        "Param",
        "ParamValidationError",
        "PokeReturnValue",
        "TaskDeferred",
        "TaskGroup",
        "TriggerRule",
        "Variable",
        "WeightRule",
        "XCOM_RETURN_KEY",
        "XCom",
        "XComArg",
        "chain",
        "conf",
        "cross_downstream",
        "get_current_context",
    ],
}

with DAG("names_compat", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
