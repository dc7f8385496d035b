"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.sdk to
airflow.sdk."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.sdk": [
        "Asset",
        "AssetAlias",
        "AssetAll",
        "AssetAny",
        "AssetOrTimeSchedule",
        "BaseHook",
        "BaseNotifier",
        "BaseOperator",
        "BaseSensorOperator",
        "Connection",
        "CronDataIntervalTimetable",
        "CronTriggerTimetable",
        "DAG",
        "DeltaDataIntervalTimetable",
        "DeltaTriggerTimetable",
        "EventsTimetable",
        "Metadata",
        "MultipleCronTriggerTimetable",
        "ObjectStoragePath",
        "Param",
        "PokeReturnValue",
        "TaskGroup",
        "TriggerRule",
        "Variable",
        "WeightRule",
        "XComArg",
        "__version__",
        "asset",
        "chain",
        "chain_linear",
        "cross_downstream",
        "dag",
        "get_current_context",
        "setup",
        "task",
        "task_group",
        "teardown",
    ]
}

with DAG("names_sdk", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
