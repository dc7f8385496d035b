"""Rows of the name table for what libraries built on Airflow import (dag-factory,
astronomer-cosmos), beyond what DAG files import: Airflow 3's ``airflow.sdk.bases`` and
``airflow.sdk.definitions`` paths, the module-loading and string helpers, the mapped
operator, the context helpers. Merged into ``table.MODULES``; the helpers themselves are in
``library_helpers``.
"""

from __future__ import annotations

from conveyor.airflow_compat.targets import same_names

_SHIMS = "conveyor.airflow_compat.shims"
_HELPERS = "conveyor.airflow_compat.library_helpers"
_LISTENERS = "conveyor.airflow_compat.listeners"
_LISTENER_MANAGER = {
    "get_listener_manager": f"{_LISTENERS}:get_listener_manager",
    "ListenerManager": f"{_LISTENERS}:ListenerManager",
    "hookimpl": f"{_LISTENERS}:hookimpl",
}

_IMPORT_STRING = {
    "import_string": f"{_HELPERS}:import_string",
    "qualname": f"{_HELPERS}:qualname",
}
_CONTEXT = {
    "Context": f"{_SHIMS}:Context",
    "context_merge": f"{_HELPERS}:context_merge",
    "get_current_context": f"{_SHIMS}:get_current_context",
}
_MAPPED = {"MappedOperator": "conveyor.model.task:MappedOperator"}
_DEFAULT_QUEUE = {"DEFAULT_QUEUE": f"{_HELPERS}:DEFAULT_QUEUE"}
_CONTEXT_VARS = same_names(
    "conveyor.model.context_vars",
    "context_to_airflow_vars",
    "AIRFLOW_VAR_NAME_FORMAT_MAPPING",
    "DEFAULT_FORMAT_PREFIX",
    "ENV_VAR_FORMAT_PREFIX",
)

LIBRARY_MODULES: dict[str, dict[str, str]] = {
    # -- Airflow 2.x paths ------------------------------------------------------------------
    "airflow.utils.module_loading": _IMPORT_STRING,
    "airflow.utils.strings": {"get_random_string": f"{_HELPERS}:get_random_string"},
    "airflow.utils.context": _CONTEXT,
    "airflow.utils.operator_helpers": _CONTEXT_VARS,
    "airflow.models": _MAPPED,
    "airflow.models.mappedoperator": _MAPPED,
    "airflow.models.abstractoperator": _DEFAULT_QUEUE,
    "airflow.listeners": {"hookimpl": f"{_LISTENERS}:hookimpl"},
    "airflow.listeners.listener": _LISTENER_MANAGER,
    "airflow.sdk.listener": _LISTENER_MANAGER,
    # -- Airflow 3.x paths ------------------------------------------------------------------
    "airflow.sdk.module_loading": _IMPORT_STRING,
    "airflow.sdk.bases.operator": {
        "BaseOperator": "conveyor:BaseOperator",
        "chain": "conveyor:chain",
        "cross_downstream": f"{_SHIMS}:cross_downstream",
    },
    "airflow.sdk.bases.sensor": {
        "BaseSensorOperator": "conveyor.sensors:BaseSensor",
        "PokeReturnValue": "conveyor:PokeReturnValue",
    },
    "airflow.sdk.definitions.dag": {"DAG": f"{_SHIMS}:SdkDAG", "dag": f"{_SHIMS}:sdk_dag"},
    "airflow.sdk.definitions.taskgroup": {
        "TaskGroup": "conveyor:TaskGroup",
        "task_group": "conveyor:task_group",
    },
    "airflow.sdk.definitions.variable": {"Variable": "conveyor.connections:Variable"},
    "airflow.sdk.definitions.connection": {"Connection": "conveyor.connections:Connection"},
    "airflow.sdk.definitions.param": {"Param": "conveyor:Param"},
    "airflow.sdk.definitions.mappedoperator": _MAPPED,
    "airflow.sdk.definitions.context": _CONTEXT,
    "airflow.sdk.definitions._internal.abstractoperator": _DEFAULT_QUEUE,
    "airflow.sdk.execution_time.context": _CONTEXT_VARS,
    "airflow.sdk.types": {
        "RuntimeTaskInstanceProtocol": "conveyor.worker.context:TaskInstanceHandle",
    },
}
