"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.sdk.definitions._internal.abstractoperator to
airflow.sdk.definitions.variable."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.sdk.definitions._internal.abstractoperator": ["DEFAULT_QUEUE"],
    "airflow.sdk.definitions._internal.types": ["ArgNotSet", "NOTSET", "is_arg_set"],
    "airflow.sdk.definitions.asset": ["Asset", "AssetAlias", "AssetAll", "AssetAny", "Dataset"],
    "airflow.sdk.definitions.asset.decorators": ["asset"],
    "airflow.sdk.definitions.asset.metadata": ["Metadata"],
    "airflow.sdk.definitions.connection": ["Connection"],
    "airflow.sdk.definitions.context": ["context_merge", "get_current_context"],
    "airflow.sdk.definitions.dag": ["DAG", "dag"],
    "airflow.sdk.definitions.decorators": ["dag", "setup", "task", "task_group", "teardown"],
    "airflow.sdk.definitions.mappedoperator": ["MappedOperator"],
    "airflow.sdk.definitions.param": ["Param"],
    "airflow.sdk.definitions.taskgroup": ["TaskGroup"],
    "airflow.sdk.definitions.variable": ["Variable"],
}

with DAG("names_sdk_definitions", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
