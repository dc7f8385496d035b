"""The names Airflow's ``common.compat`` provider's ``sdk`` module forwards, with the Airflow
paths it tries for each, newest first (read from apache-airflow-providers-common-compat
1.23.0, kept as data). Conveyor answers that module itself (``table.py`` says why): each name
here is given from the first of its paths that Conveyor's table maps, so a provider package
gets the same object as a DAG file importing it from ``airflow.sdk``.
"""

from __future__ import annotations

#: Paths tried, newest first -> the names forwarded to them.
_FORWARDED: dict[tuple[str, ...], tuple[str, ...]] = {
    ("airflow.sdk", "airflow.hooks.base"): ("BaseHook",),
    (
        "airflow.sdk.bases.branch",
        "airflow.operators.branch",
        "airflow.providers.standard.operators.branch",
    ): ("BaseBranchOperator", "BranchMixIn"),
    (
        "airflow.sdk.bases.skipmixin",
        "airflow.models.skipmixin",
        "airflow.providers.standard.utils.skipmixin",
    ): ("SkipMixin",),
    ("airflow.sdk", "airflow.sensors.base"): ("BaseSensorOperator", "PokeReturnValue"),
    ("airflow.sdk.bases.sensor", "airflow.sensors.base"): ("poke_mode_only",),
    ("airflow.sdk", "airflow.models.baseoperator"): (
        "BaseOperator",
        "chain",
        "chain_linear",
        "cross_downstream",
    ),
    ("airflow.sdk", "airflow.decorators"): ("task", "dag", "task_group", "setup", "teardown"),
    ("airflow.sdk.bases.decorator", "airflow.decorators"): ("TaskDecorator",),
    ("airflow.sdk.bases.decorator", "airflow.decorators.base"): (
        "task_decorator_factory",
        "get_unique_task_id",
        "DecoratedOperator",
        "DecoratedMappedOperator",
    ),
    ("airflow.sdk.bases.decorator", "airflow.utils.operator_helpers"): (
        "KeywordParameters",
        "determine_kwargs",
    ),
    ("airflow.sdk", "airflow.models.connection"): ("Connection",),
    ("airflow.sdk", "airflow.models.variable"): ("Variable",),
    ("airflow.sdk.execution_time.xcom", "airflow.models.xcom"): ("XCom",),
    ("airflow.sdk", "airflow.models.dag"): ("DAG",),
    ("airflow.sdk", "airflow.models.param"): ("Param",),
    ("airflow.sdk", "airflow.models.xcom_arg"): ("XComArg",),
    ("airflow.sdk.definitions.mappedoperator", "airflow.models.mappedoperator"): (
        "MappedOperator",
    ),
    ("airflow.sdk", "airflow.datasets.metadata"): ("Metadata",),
    ("airflow.sdk", "airflow.notifications.basenotifier"): ("BaseNotifier",),
    ("airflow.sdk.plugins_manager", "airflow.plugins_manager"): ("AirflowPlugin",),
    ("airflow.sdk", "airflow.models.baseoperatorlink"): ("BaseOperatorLink",),
    ("airflow.sdk.types", "airflow.models.taskinstancekey"): ("TaskInstanceKey",),
    ("airflow.sdk", "airflow.utils.task_group"): ("TaskGroup",),
    ("airflow.sdk", "airflow.utils.edgemodifier"): ("EdgeModifier", "Label"),
    ("airflow.sdk", "airflow.utils.state"): ("DagRunState", "TaskInstanceState"),
    ("airflow.sdk", "airflow.utils.trigger_rule"): ("TriggerRule",),
    ("airflow.sdk", "airflow.utils.weight_rule"): ("WeightRule",),
    ("airflow.sdk", "airflow.io.path"): ("ObjectStoragePath",),
    ("airflow.sdk.definitions.template", "airflow.utils.template"): ("literal",),
    ("airflow.sdk", "airflow.utils.context"): ("Context",),
    ("airflow.sdk.definitions.context", "airflow.utils.context"): ("context_merge",),
    (
        "airflow.sdk.definitions._internal.types",
        "airflow.providers.common.compat._set_during_execution",
    ): ("SET_DURING_EXECUTION",),
    ("airflow.sdk.execution_time.context", "airflow.utils.operator_helpers"): (
        "context_to_airflow_vars",
        "AIRFLOW_VAR_NAME_FORMAT_MAPPING",
    ),
    ("airflow.sdk", "airflow.providers.standard.operators.python", "airflow.operators.python"): (
        "get_current_context",
    ),
    ("airflow.sdk", "airflow.utils.dag_parsing_context"): ("get_parsing_context",),
    ("airflow.sdk.execution_time.timeout", "airflow.utils.timeout"): ("timeout",),
    ("airflow.models.xcom",): ("XCOM_RETURN_KEY",),
    ("airflow.sdk.lineage", "airflow.lineage.hook"): (
        "HookLineageCollector",
        "HookLineageReader",
        "get_hook_lineage_collector",
        "HookLineage",
        "NoOpCollector",
    ),
    ("airflow.sdk.exceptions", "airflow.exceptions"): (
        "AirflowException",
        "AirflowFailException",
        "AirflowNotFoundException",
        "AirflowOptionalProviderFeatureException",
        "AirflowSkipException",
        "AirflowTaskTimeout",
        "AirflowSensorTimeout",
        "ParamValidationError",
        "TaskDeferred",
        "XComNotFound",
        "AirflowConfigException",
    ),
    ("airflow.sdk.observability.stats", "airflow.observability.stats", "airflow.stats"): ("Stats",),
    (
        "airflow.sdk.log",
        "airflow.sdk._shared.secrets_masker",
        "airflow.sdk.execution_time.secrets_masker",
        "airflow.utils.log.secrets_masker",
    ): ("redact",),
    (
        "airflow.sdk.log",
        "airflow.sdk.execution_time.secrets_masker",
        "airflow.utils.log.secrets_masker",
    ): ("mask_secret",),
    ("airflow.sdk._shared.listeners", "airflow.listeners"): ("hookimpl",),
    ("airflow.sdk.listener", "airflow.listeners.listener"): ("get_listener_manager",),
    ("airflow.sdk.configuration", "airflow.configuration"): ("conf",),
    ("airflow.sdk", "airflow.providers.common.compat._resumable_job_mixin"): ("ResumableJobMixin",),
    ("airflow.sdk",): ("Asset", "AssetAlias", "AssetAll", "AssetAny"),
}

COMPAT_SDK_PATHS: dict[str, tuple[str, ...]] = {
    name: paths for paths, names in _FORWARDED.items() for name in names
}
