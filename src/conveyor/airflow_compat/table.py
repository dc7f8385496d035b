"""The one table of Airflow module paths and names, and the Conveyor object each stands for.

Data only: the import hook (``hook.py``) reads it to build the ``airflow...`` modules, the
validator (``lint.py``) to check a file's imports before it runs, and docs/airflow.md lists it
(a test keeps the two in step). A target is ``"module:attribute"``, resolved only when a DAG
file imports the name, so importing ``airflow`` costs nothing until a name is used; a test
checks that every target resolves.
"""

from __future__ import annotations

from conveyor.airflow_compat.orm import NO_SESSION
from conveyor.airflow_compat.targets import same_names
from conveyor.airflow_compat.timetable_names import SDK_TIMETABLE_NAMES, TIMETABLE_MODULES

#: Where the list of supported names is, for error messages.
DOCS = "docs/airflow.md"

_SHIMS = "conveyor.airflow_compat.shims"
_EXC = "conveyor.airflow_compat.exceptions"
_CONF = "conveyor.airflow_compat.configuration"
_PROVIDER_SDK = "conveyor.airflow_compat.provider_sdk"
_OPERATOR_LINK = "conveyor.airflow_compat.extra_links:BaseOperatorLink"
_HOOK = f"{_PROVIDER_SDK}:BaseHook"
_NOTIFIER = f"{_PROVIDER_SDK}:BaseNotifier"
_VALUES = "conveyor.airflow_compat.core_values"
_ORM = "conveyor.airflow_compat.orm"
_BAG = "conveyor.loading.dagbag:DagBag"

# Groups of names that several module paths export (Airflow moved them between versions).
_BASH = same_names("conveyor", "BashOperator")
_PYTHON = {
    **same_names(
        "conveyor",
        "PythonOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        "PythonVirtualenvOperator",
        "ExternalPythonOperator",
    ),
    **same_names(
        "conveyor.operators", "BranchPythonVirtualenvOperator", "BranchExternalPythonOperator"
    ),
    **same_names(_SHIMS, "get_current_context"),
}
#: The Python operators Airflow 1.10 had (the others came in 2.x).
_PYTHON_1_10 = ("PythonOperator", "BranchPythonOperator", "ShortCircuitOperator")
_EMPTY = same_names("conveyor", "EmptyOperator")
_DUMMY = {"DummyOperator": "conveyor:EmptyOperator"}  # Airflow's old name, same meaning
_TRIGGER = same_names("conveyor.airflow_compat.trigger_dagrun", "TriggerDagRunOperator")
_LATEST_ONLY = same_names("conveyor", "LatestOnlyOperator")
_BASE_SENSOR = {
    "BaseSensorOperator": "conveyor.sensors:BaseSensor",
    "PokeReturnValue": "conveyor:PokeReturnValue",
}
_BASH_SENSOR = same_names("conveyor", "BashSensor")
_PYTHON_SENSOR = same_names("conveyor", "PythonSensor")
_TIME_DELTA = {
    **same_names("conveyor", "TimeDeltaSensor"),
    **same_names("conveyor.sensors", "TimeDeltaSensorAsync"),
}
_WEEKDAY = same_names("conveyor", "DayOfWeekSensor")
_TIME = same_names("conveyor.sensors", "TimeSensor")
_DATE_TIME = same_names("conveyor.sensors", "DateTimeSensor", "DateTimeSensorAsync")
_TRIGGER_BASE = same_names("conveyor.triggers", "BaseTrigger", "BaseEventTrigger", "TriggerEvent")
_TEMPORAL_TRIGGERS = same_names("conveyor.triggers", "DateTimeTrigger", "TimeDeltaTrigger")
_FILE_TRIGGER = same_names("conveyor.triggers", "FileTrigger")
_FILE = same_names("conveyor.sensors", "FileSensor")
_FS_HOOK = same_names("conveyor.sensors.file", "FSHook")
_EXTERNAL = {
    **same_names("conveyor.sensors", "ExternalTaskSensor"),
    **same_names("conveyor.airflow_compat.branching", "ExternalTaskMarker"),
}
_BRANCH_DATETIME = same_names("conveyor.airflow_compat.branching", "BranchDateTimeOperator")
_BRANCH_WEEKDAY = same_names("conveyor.airflow_compat.branching", "BranchDayOfWeekOperator")
_HITL_OPERATORS = same_names(
    "conveyor.operators.hitl",
    "HITLOperator",
    "ApprovalOperator",
    "HITLBranchOperator",
    "HITLEntryOperator",
)
_HITL_ERRORS = same_names(
    "conveyor.operators.hitl", "HITLRejectException", "HITLTimeoutError", "HITLTriggerEventError"
)
_CHAIN = {
    "chain": "conveyor:chain",
    "cross_downstream": f"{_SHIMS}:cross_downstream",
}
#: Airflow 2.7's ``chain_linear``: in ``airflow.models.baseoperator`` and ``airflow.sdk`` only.
_CHAIN_LINEAR = {"chain_linear": "conveyor:chain_linear"}
#: Airflow 3.1's deadline alerts (``VariableInterval`` only from its module: it refuses).
_DEADLINE_CALLBACKS = same_names(
    "conveyor.model.deadlines", "AsyncCallback", "SyncCallback", "Callback"
)
_DEADLINES = same_names(
    "conveyor.model.deadlines",
    "DeadlineAlert",
    "DeadlineReference",
    "BaseDeadlineReference",
    "deadline_reference",
    "VariableInterval",
)
_DECORATORS = {
    "dag": f"{_SHIMS}:dag",
    "task": f"{_SHIMS}:task",
    "task_group": "conveyor:task_group",
    "setup": "conveyor:setup",
    "teardown": "conveyor:teardown",
}
_EXCEPTIONS = {
    "AirflowException": f"{_EXC}:AirflowException",
    "AirflowSkipException": "conveyor:Skip",
    "AirflowFailException": "conveyor:Fail",
    "DownstreamTasksSkipped": "conveyor.exceptions:DownstreamTasksSkipped",
    "AirflowSensorTimeout": "conveyor.sensors:SensorTimeout",
    "AirflowTaskTimeout": "conveyor.exceptions:AirflowTaskTimeout",
    "AirflowNotFoundException": "conveyor.exceptions:NotFoundError",
    "AirflowConfigException": "conveyor.exceptions:ConfigError",
    "DuplicateTaskIdFound": "conveyor.exceptions:DagDefinitionError",
    "AirflowDagCycleException": "conveyor.exceptions:CycleError",
    "ParamValidationError": f"{_EXC}:ParamValidationError",
    "DagRunAlreadyExists": f"{_EXC}:DagRunAlreadyExists",
    "DagNotFound": f"{_EXC}:DagNotFound",
    "DagRunNotFound": f"{_EXC}:DagRunNotFound",
    "TaskNotFound": f"{_EXC}:TaskNotFound",
    "TaskInstanceNotFound": f"{_EXC}:TaskInstanceNotFound",
    "PoolNotFound": f"{_EXC}:PoolNotFound",
    "AirflowBadRequest": f"{_EXC}:AirflowBadRequest",
    "TaskDeferred": "conveyor.exceptions:TaskDeferred",
    "TaskDeferralTimeout": "conveyor.exceptions:TaskDeferralTimeout",
    "AirflowRuntimeError": "conveyor.exceptions:AirflowRuntimeError",
    "ErrorType": "conveyor.exceptions:ErrorType",
}
_STATES = {
    "State": f"{_SHIMS}:State",
    "TaskInstanceState": "conveyor.states:TaskState",
    "DagRunState": "conveyor.states:RunState",
}

_ASSETS = "conveyor.model.assets"
_DS = "conveyor.model.datasets"
#: Airflow 3's asset names.
_ASSET_NAMES = {
    **same_names(_ASSETS, "Asset", "AssetWatcher"),
    **same_names(_DS, "AssetAlias", "AssetAll", "AssetAny"),
}
_ASSET_DECORATOR = same_names("conveyor.airflow_compat.asset_decorator", "asset")
_METADATA = same_names(_ASSETS, "Metadata")
#: Airflow 2.9 / 2.10's names of the same.
_DATASET_NAMES = {
    "Dataset": "conveyor:Dataset",
    "DatasetAlias": f"{_DS}:AssetAlias",
    "DatasetAll": f"{_DS}:AssetAll",
    "DatasetAny": f"{_DS}:AssetAny",
}

#: Airflow module -> {name -> "conveyor.module:attribute"}. Packages on the way to a module
#: here (``airflow.providers``, ...) exist too, with no names of their own.
MODULES: dict[str, dict[str, str]] = {
    # -- Airflow 2.x ------------------------------------------------------------------------
    "airflow": {
        "DAG": f"{_SHIMS}:DAG",
        "Asset": f"{_ASSETS}:Asset",  # Airflow 3's lazy name, as airflow.sdk's
        "Dataset": "conveyor:Dataset",
        "XComArg": "conveyor.model.xcom_arg:XComArg",
        "AirflowException": f"{_EXC}:AirflowException",
        "__version__": f"{_CONF}:AIRFLOW_VERSION",
    },
    "airflow.version": {"version": f"{_CONF}:AIRFLOW_VERSION"},
    "airflow.configuration": {
        "conf": f"{_CONF}:conf",
        "AIRFLOW_HOME": f"{_CONF}:AIRFLOW_HOME",
    },
    "airflow.settings": {
        "Session": f"{_ORM}:Session",
        "AIRFLOW_HOME": f"{_CONF}:AIRFLOW_HOME",
        "DAGS_FOLDER": f"{_CONF}:DAGS_FOLDER",
        "PLUGINS_FOLDER": f"{_CONF}:PLUGINS_FOLDER",
        "SQL_ALCHEMY_CONN": f"{_CONF}:SQL_ALCHEMY_CONN",
    },
    "airflow.api.common.trigger_dag": {
        "trigger_dag": "conveyor.airflow_compat.triggering:trigger_dag",
    },
    "airflow.models": {
        "DAG": f"{_SHIMS}:DAG",
        "BaseOperator": "conveyor:BaseOperator",
        "Variable": "conveyor.connections:Variable",
        "Param": "conveyor:Param",
        "Connection": "conveyor.connections:Connection",
        "TaskInstance": "conveyor.worker.context:TaskInstanceHandle",
        "DagRun": "conveyor.store.runs:RunRow",
        "XComArg": "conveyor.model.xcom_arg:XComArg",
        "XCom": "conveyor.airflow_compat.xcom_model:XCom",
        "DagBag": _BAG,
    },
    "airflow.models.dag": {"DAG": f"{_SHIMS}:DAG", "get_last_dagrun": f"{_SHIMS}:last_dagrun"},
    "airflow.models.dagbag": {"DagBag": _BAG},
    "airflow.models.base": {"ID_LEN": f"{_VALUES}:ID_LEN"},
    "airflow.models.taskinstancekey": same_names(_VALUES, "TaskInstanceKey"),
    # Airflow's session helpers import, and the session they give refuses at first use.
    "airflow.utils.session": same_names(_ORM, "provide_session", "create_session", "NEW_SESSION"),
    "airflow.utils.db": same_names(_ORM, "provide_session", "create_session"),
    "airflow.utils.types": same_names(_VALUES, "DagRunType", "ArgNotSet", "NOTSET"),
    "airflow.sdk.definitions._internal.types": same_names(
        _VALUES, "ArgNotSet", "NOTSET", "is_arg_set"
    ),
    "airflow.utils.context": {"Context": f"{_SHIMS}:Context"},
    "airflow.sdk.definitions.context": {
        "Context": f"{_SHIMS}:Context",
        "get_current_context": f"{_SHIMS}:get_current_context",
    },
    "airflow.utils.xcom": {"XCOM_RETURN_KEY": "conveyor.airflow_compat.xcom_model:XCOM_RETURN_KEY"},
    "airflow.utils.log.logging_mixin": same_names(_VALUES, "LoggingMixin"),
    "airflow.sdk.definitions._internal.mixins": same_names(_VALUES, "LoggingMixin"),
    "airflow.config_templates.airflow_local_settings": same_names(
        _VALUES, "DEFAULT_LOGGING_CONFIG"
    ),
    "airflow.security.permissions": same_names(
        "conveyor.airflow_compat.permissions",
        "ACTION_CAN_CREATE",
        "ACTION_CAN_READ",
        "ACTION_CAN_EDIT",
        "ACTION_CAN_DELETE",
        "ACTION_CAN_ACCESS_MENU",
        "DEPRECATED_ACTION_CAN_DAG_READ",
        "DEPRECATED_ACTION_CAN_DAG_EDIT",
        "RESOURCE_DAG",
        "RESOURCE_DAG_PREFIX",
        "RESOURCE_DAG_RUN",
        "RESOURCE_TASK_INSTANCE",
        "DAG_ACTIONS",
        "resource_name_for_dag",
    ),
    "airflow.models.baseoperator": {
        "BaseOperator": "conveyor:BaseOperator",
        **_CHAIN,
        **_CHAIN_LINEAR,
    },
    "airflow.models.param": {"Param": "conveyor:Param"},
    "airflow.models.variable": {"Variable": "conveyor.connections:Variable"},
    "airflow.models.connection": {"Connection": "conveyor.connections:Connection"},
    "airflow.models.xcom_arg": {"XComArg": "conveyor.model.xcom_arg:XComArg"},
    "airflow.models.taskinstance": {
        "TaskInstance": "conveyor.worker.context:TaskInstanceHandle",
        "TaskInstanceKey": f"{_VALUES}:TaskInstanceKey",
    },
    "airflow.models.dagrun": {"DagRun": "conveyor.store.runs:RunRow"},
    # Airflow's XCom model, local API client and task-instance lookup: thin faces over the
    # store the running try uses (docs/airflow.md, "XCom, the local client and
    # get_task_instance").
    "airflow.models.xcom": {
        "XCom": "conveyor.airflow_compat.xcom_model:XCom",
        "BaseXCom": "conveyor.airflow_compat.xcom_model:XCom",
        "XCOM_RETURN_KEY": "conveyor.airflow_compat.xcom_model:XCOM_RETURN_KEY",
    },
    "airflow.api.client.local_client": {
        "Client": "conveyor.airflow_compat.local_client:Client",
    },
    "airflow.api.common.experimental.get_task_instance": {
        "get_task_instance": "conveyor.airflow_compat.task_instance_lookup:get_task_instance",
    },
    "airflow.operators.bash": _BASH,
    "airflow.operators.python": _PYTHON,
    "airflow.operators.empty": _EMPTY,
    "airflow.operators.dummy": _DUMMY,
    "airflow.operators.trigger_dagrun": _TRIGGER,
    "airflow.operators.latest_only": _LATEST_ONLY,
    "airflow.operators.datetime": _BRANCH_DATETIME,
    "airflow.operators.weekday": _BRANCH_WEEKDAY,
    "airflow.decorators": _DECORATORS,
    "airflow.sensors.base": _BASE_SENSOR,
    "airflow.sensors.bash": _BASH_SENSOR,
    "airflow.sensors.python": _PYTHON_SENSOR,
    "airflow.sensors.time_delta": _TIME_DELTA,
    "airflow.sensors.weekday": _WEEKDAY,
    "airflow.sensors.time_sensor": _TIME,
    "airflow.sensors.date_time": _DATE_TIME,
    "airflow.sensors.filesystem": _FILE,
    "airflow.sensors.external_task": _EXTERNAL,
    "airflow.utils.trigger_rule": {"TriggerRule": "conveyor:TriggerRule"},
    "airflow.utils.weight_rule": {"WeightRule": "conveyor.model.task:WeightRule"},
    "airflow.utils.task_group": {"TaskGroup": "conveyor:TaskGroup"},
    "airflow.utils.edgemodifier": {"Label": "conveyor:Label"},
    "airflow.utils.dates": {
        "days_ago": f"{_SHIMS}:days_ago",
        "datetime": "datetime:datetime",
        "timedelta": "datetime:timedelta",
    },
    "airflow.utils.helpers": _CHAIN,
    "airflow.utils.state": _STATES,
    "airflow.utils.timezone": {
        "datetime": f"{_SHIMS}:utc_datetime",
        "utcnow": f"{_SHIMS}:utcnow",
        "utc": "conveyor.model.dag:UTC",
    },
    "airflow.utils.weekday": {"WeekDay": "conveyor.sensors:WeekDay"},
    "airflow.contrib.utils.weekday": {"WeekDay": "conveyor.sensors:WeekDay"},  # 1.10
    "airflow.utils.decorators": {"apply_defaults": f"{_SHIMS}:apply_defaults"},
    "airflow.exceptions": _EXCEPTIONS,
    "airflow.datasets": _DATASET_NAMES,
    "airflow.datasets.metadata": _METADATA,
    "airflow.triggers.base": _TRIGGER_BASE,
    "airflow.triggers.temporal": _TEMPORAL_TRIGGERS,
    "airflow.triggers.file": _FILE_TRIGGER,
    # Airflow's common.messaging provider: Conveyor's schemes (triggers/message_queue.py).
    "airflow.providers.common.messaging.triggers.msg_queue": same_names(
        "conveyor.triggers", "MessageQueueTrigger"
    ),
    "airflow.hooks.base": {"BaseHook": _HOOK},
    "airflow.hooks.filesystem": _FS_HOOK,
    "airflow.macros": {
        "ds_add": "conveyor.model.templating:ds_add",
        "ds_format": "conveyor.model.templating:ds_format",
        "datetime": "datetime:datetime",
        "timedelta": "datetime:timedelta",
    },
    # -- Airflow 1.10 -----------------------------------------------------------------------
    # ``from airflow.operators import BashOperator``: 1.10 took operators from the package.
    "airflow.operators": {
        **_BASH,
        **{k: v for k, v in _PYTHON.items() if k in _PYTHON_1_10},
        **_DUMMY,
        **_TRIGGER,
        **_LATEST_ONLY,
    },
    "airflow.operators.sensors": {
        "BaseSensorOperator": "conveyor.sensors:BaseSensor",
        **{k: v for k, v in _EXTERNAL.items() if k == "ExternalTaskSensor"},
        **_TIME_DELTA,
        **_TIME,
    },
    "airflow.sensors.base_sensor_operator": {"BaseSensorOperator": "conveyor.sensors:BaseSensor"},
    "airflow.sensors.time_delta_sensor": _TIME_DELTA,
    "airflow.sensors.date_time_sensor": _DATE_TIME,
    "airflow.contrib.sensors.file_sensor": _FILE,
    "airflow.contrib.hooks.fs_hook": _FS_HOOK,
    "airflow.contrib.sensors.bash_sensor": _BASH_SENSOR,
    "airflow.contrib.sensors.python_sensor": _PYTHON_SENSOR,
    "airflow.contrib.sensors.weekday_sensor": _WEEKDAY,
    "airflow.operators.bash_operator": _BASH,
    "airflow.operators.python_operator": {
        k: v for k, v in _PYTHON.items() if k != "ExternalPythonOperator"
    },
    "airflow.operators.dummy_operator": _DUMMY,
    "airflow.operators.dagrun_operator": {
        **_TRIGGER,
        **same_names("conveyor.airflow_compat.trigger_dagrun", "DagRunOrder"),
    },
    "airflow.operators.latest_only_operator": _LATEST_ONLY,
    "airflow.sensors.external_task_sensor": _EXTERNAL,
    "airflow.hooks.base_hook": {"BaseHook": _HOOK},
    # -- Airflow 3.x ------------------------------------------------------------------------
    "airflow.sdk": {
        "__version__": f"{_VALUES}:TASK_SDK_VERSION",
        "BaseOperatorLink": _OPERATOR_LINK,
        "DAG": f"{_SHIMS}:SdkDAG",
        "dag": f"{_SHIMS}:sdk_dag",
        "task": f"{_SHIMS}:task",
        "task_group": "conveyor:task_group",
        "TaskGroup": "conveyor:TaskGroup",
        "BaseOperator": "conveyor:BaseOperator",
        "NEVER_EXPIRE": "conveyor.worker.task_state:NEVER_EXPIRE",
        "BaseSensorOperator": "conveyor.sensors:BaseSensor",
        "PokeReturnValue": "conveyor:PokeReturnValue",
        "Variable": "conveyor.connections:Variable",
        "Connection": "conveyor.connections:Connection",
        "BaseHook": _HOOK,
        "BaseNotifier": _NOTIFIER,
        "Param": "conveyor:Param",
        **_ASSET_NAMES,
        **_ASSET_DECORATOR,
        **_METADATA,
        "Label": "conveyor:Label",
        "TriggerRule": "conveyor:TriggerRule",
        "WeightRule": "conveyor.model.task:WeightRule",
        "XComArg": "conveyor.model.xcom_arg:XComArg",
        "Context": f"{_SHIMS}:Context",
        "get_current_context": f"{_SHIMS}:get_current_context",
        "setup": "conveyor:setup",
        "teardown": "conveyor:teardown",
        **_CHAIN,
        **_CHAIN_LINEAR,
        **_DEADLINE_CALLBACKS,
        **{k: v for k, v in _DEADLINES.items() if k != "VariableInterval"},
    },
    "airflow.sdk.exceptions": _EXCEPTIONS,
    # Deadline alerts (Airflow 3.1+): model/deadlines.py.
    "airflow.sdk.definitions.deadline": _DEADLINES,
    "airflow.sdk.definitions.callback": _DEADLINE_CALLBACKS,
    "airflow.sdk.definitions.asset": {**_ASSET_NAMES, "Dataset": "conveyor:Dataset"},
    "airflow.sdk.definitions.asset.decorators": _ASSET_DECORATOR,
    "airflow.sdk.definitions.asset.metadata": _METADATA,
    "airflow.assets": _ASSET_NAMES,
    # Airflow 3.3's task and asset state stores: the retention that never expires, and the
    # classes of context["task_state_store"] and context["asset_state_store"].
    "airflow.sdk.execution_time.context": {
        "NEVER_EXPIRE": "conveyor.worker.task_state:NEVER_EXPIRE",
        "TaskStateStore": "conveyor.worker.task_state:TaskStateStore",
        "TaskStateStoreAccessor": "conveyor.worker.task_state:TaskStateStore",
        "AssetStateStoreAccessor": "conveyor.worker.task_state:AssetStateStore",
        "AssetStateStoreAccessors": "conveyor.worker.task_state:AssetStateStores",
    },
    "airflow.sdk.definitions.decorators": {**_DECORATORS, "dag": f"{_SHIMS}:sdk_dag"},
    "airflow.task.trigger_rule": {"TriggerRule": "conveyor:TriggerRule"},
    "airflow.task.weight_rule": {"WeightRule": "conveyor.model.task:WeightRule"},
    # What Airflow's provider packages import from their compatibility layer, Conveyor's
    # own (the real package's other modules load when it is installed: installed_providers).
    "airflow.providers.common.compat.sdk": {
        **_EXCEPTIONS,
        "TriggerRule": "conveyor:TriggerRule",
        "WeightRule": "conveyor.model.task:WeightRule",
        "Context": f"{_SHIMS}:Context",
        "timezone": f"{_SHIMS}:timezone",
        "BaseOperator": "conveyor:BaseOperator",
        "BaseSensorOperator": "conveyor.sensors:BaseSensor",
        "PokeReturnValue": "conveyor:PokeReturnValue",
        "BaseHook": _HOOK,
        "BaseNotifier": _NOTIFIER,
        "Connection": "conveyor.connections:Connection",
        "Variable": "conveyor.connections:Variable",
        "Param": "conveyor:Param",
        "TaskGroup": "conveyor:TaskGroup",
        "XComArg": "conveyor.model.xcom_arg:XComArg",
        "conf": f"{_CONF}:conf",
        "AirflowSkipException": "conveyor:Skip",
        "AirflowFailException": "conveyor:Fail",
        "AirflowException": f"{_EXC}:AirflowException",
        "get_current_context": f"{_SHIMS}:get_current_context",
        "XCOM_RETURN_KEY": "conveyor.airflow_compat.xcom_model:XCOM_RETURN_KEY",
        **_CHAIN,
    },
    "airflow.providers.common.compat.notifier": {"BaseNotifier": _NOTIFIER},
    "airflow.sdk.bases.notifier": {"BaseNotifier": _NOTIFIER},
    "airflow.sdk.bases.hook": {"BaseHook": _HOOK},
    "airflow.sdk.bases.operatorlink": {"BaseOperatorLink": _OPERATOR_LINK},
    "airflow.models.baseoperatorlink": {"BaseOperatorLink": _OPERATOR_LINK},
    "airflow.notifications.basenotifier": {"BaseNotifier": _NOTIFIER},
    "airflow.providers.standard": {"__version__": f"{_VALUES}:STANDARD_PROVIDER_VERSION"},
    "airflow.providers.standard.utils.weekday": {"WeekDay": "conveyor.sensors:WeekDay"},
    "airflow.providers.standard.operators.bash": _BASH,
    "airflow.providers.standard.operators.python": _PYTHON,
    "airflow.providers.standard.operators.empty": _EMPTY,
    "airflow.providers.standard.operators.trigger_dagrun": _TRIGGER,
    "airflow.providers.standard.operators.latest_only": _LATEST_ONLY,
    "airflow.providers.standard.operators.datetime": _BRANCH_DATETIME,
    "airflow.providers.standard.operators.weekday": _BRANCH_WEEKDAY,
    "airflow.providers.standard.operators.hitl": _HITL_OPERATORS,
    "airflow.providers.standard.exceptions": _HITL_ERRORS,
    "airflow.sdk.execution_time.hitl": same_names("conveyor.operators.hitl", "HITLUser"),
    "airflow.providers.standard.sensors.bash": _BASH_SENSOR,
    "airflow.providers.standard.sensors.python": _PYTHON_SENSOR,
    "airflow.providers.standard.sensors.time_delta": _TIME_DELTA,
    "airflow.providers.standard.sensors.weekday": _WEEKDAY,
    "airflow.providers.standard.sensors.time": _TIME,
    "airflow.providers.standard.sensors.date_time": _DATE_TIME,
    "airflow.providers.standard.sensors.filesystem": _FILE,
    "airflow.providers.standard.hooks.filesystem": _FS_HOOK,
    "airflow.providers.standard.triggers.temporal": _TEMPORAL_TRIGGERS,
    "airflow.providers.standard.triggers.file": _FILE_TRIGGER,
    "airflow.providers.standard.sensors.external_task": _EXTERNAL,
}

MODULES.update(TIMETABLE_MODULES)
MODULES["airflow.sdk"] = {**MODULES["airflow.sdk"], **SDK_TIMETABLE_NAMES}

_SUBDAG = (
    "use a TaskGroup: make the sub-DAG's tasks inside `with TaskGroup(task_id):` in the "
    "parent DAG (from airflow.utils.task_group import TaskGroup)"
)

#: Names Airflow had that Conveyor does not provide, with what to write instead.
INSTEAD: dict[str, str] = {
    "airflow.operators.subdag.SubDagOperator": _SUBDAG,
    "airflow.operators.subdag_operator.SubDagOperator": _SUBDAG,
    "airflow.operators.SubDagOperator": _SUBDAG,
}

# Airflow's ORM and its local API: Conveyor's store is not Airflow's database.
_NO_SESSION = NO_SESSION
_NO_LOCAL_CLIENT = (
    "trigger a DAG with TriggerDagRunOperator, `conveyor dags trigger` or the REST API "
    "(POST /api/v1/dags/{dag_id}/runs)"
)
#: Airflow's ORM models and jobs: each imports, and refuses at use with this.
_ORM_MODELS = (
    "DagModel",
    "Log",
    "TaskReschedule",
    "RenderedTaskInstanceFields",
    "DagTag",
    "SlaMiss",
    "TaskFail",
    "Trigger",
    "DagWarning",
    "ImportError",
)
INSTEAD.update({f"airflow.models.{name}": _NO_SESSION for name in _ORM_MODELS})
INSTEAD.update(
    {
        "airflow.jobs.job.Job": _NO_SESSION,
        "airflow.models.log.Log": _NO_SESSION,
        "airflow.models.taskreschedule.TaskReschedule": _NO_SESSION,
        "airflow.models.renderedtifields.RenderedTaskInstanceFields": _NO_SESSION,
    }
)
INSTEAD.update(
    {
        "airflow.settings.engine": _NO_SESSION,
        "airflow.models.DagModel": "pause or unpause with `conveyor dags pause DAG` or the "
        "REST API (PATCH /api/v1/dags/{dag_id})",
        "airflow.models.dag.DagModel": "pause or unpause with `conveyor dags pause DAG` or the "
        "REST API (PATCH /api/v1/dags/{dag_id})",
        "airflow.api.common.trigger_dag.trigger_dag": _NO_LOCAL_CLIENT,
        "airflow.api.common.experimental.trigger_dag.trigger_dag": _NO_LOCAL_CLIENT,
    }
)

#: Keywords of ``DAG(...)`` / ``@dag(...)`` and of operators that Airflow takes and Conveyor
#: accepts with Airflow's meaning (a note says what it does here).
ACCEPTED_KEYWORDS: dict[str, str] = {
    "schedule_interval": "read as schedule=",
    "timetable": "read as schedule= (a timetable object)",
    "concurrency": "read as max_active_tasks=",
    "dag_display_name": "shown for the DAG in the UI, the API and the CLI lists",
    "task_display_name": "shown for the task in the UI and the API",
    "provide_context": "not needed: the context always reaches a callable asking for it",
    "do_xcom_push": "False: the return value is not stored",
    "xcom_push": "Airflow 1.10's name of do_xcom_push",
    "multiple_outputs": "a returned dict is also stored key by key",
    "email": "the addresses email_on_failure / email_on_retry send to",
    "email_on_failure": "sent through the smtp_default connection when it exists",
    "email_on_retry": "sent through the smtp_default connection when it exists",
    "default_view": "accepted; display only",
    "orientation": "accepted; display only",
    "owner_links": "accepted; display only",
    "access_control": "grants named roles read or edit on this DAG; Airflow 2's can_dag_read / "
    "can_dag_edit and Airflow 3's nested {'DAGs': ...} form are read too",
    "is_paused_upon_creation": "the DAG's pause state when first registered (over the setting "
    "dags_are_paused_at_creation); later parses keep the state a person set",
    "weight_rule": "downstream (the default), upstream or absolute, as Airflow sums "
    "priority_weight; a custom PriorityWeightStrategy is refused",
    "run_as_user": "accepted and ignored",
    "executor_config": "honoured by the Kubernetes executor (its pod_override is laid over "
    "the pod template); accepted and ignored by the local and Celery executors",
    "resources": "the pod's requests and limits under the Kubernetes executor; accepted and "
    "ignored by the local and Celery executors",
    "executor": "'KubernetesExecutor' runs the task in a pod under executor = "
    "celery_kubernetes; accepted and ignored by the other executors",
    "inlets": "kept: the task reads their events as inlet_events",
    "pre_execute": "called with the context before execute",
    "post_execute": "called with the context and the result after execute",
    "wait_for_downstream": "implies depends_on_past; the previous run's direct downstream "
    "instances must have succeeded or been skipped",
    "max_active_tis_per_dag": "at most N instances queued, running or deferred across the "
    "DAG's runs",
    "max_active_tis_per_dagrun": "at most N instances queued, running or deferred in a run",
    "map_index_template": "rendered at the end of each try, shown instead of the map index",
    "start_date": "on a task: runs before it have no instance of the task (as Airflow)",
    "end_date": "on a task: runs after it have no instance of the task (as Airflow)",
    "doc_md": "the task's doc",
    "doc_rst": "the task's doc",
    "doc_json": "the task's doc",
    "doc_yaml": "the task's doc",
    "fail_stop": "Airflow 2's name of fail_fast",
    "fail_fast": "a failed task fails the run's running tasks and skips the rest; only the "
    "default trigger rule",
}

#: How a note of ``ACCEPTED_KEYWORDS`` marks a keyword Conveyor takes but ignores (or only
#: would display): ``conveyor dags validate`` warns where a file gives one. A keyword given
#: its meaning gets another note, and its warning goes with the marker.
IGNORED_MARKERS = ("accepted and ignored", "accepted;")

#: What an ignored keyword does in Airflow, for the warning (keyword -> "it ...").
AIRFLOW_MEANING: dict[str, str] = {
    "dag_display_name": "shows this name instead of the DAG id",
    "task_display_name": "shows this name instead of the task id",
    "default_view": "opens the DAG on this view in the UI",
    "orientation": "lays the graph out in this direction",
    "owner_links": "links the owner's name in the UI",
    "is_paused_upon_creation": "decides whether the DAG starts paused when first seen",
    "weight_rule": "derives the priority weight from the downstream or upstream tasks",
    "run_as_user": "runs the task as this Unix user",
    "executor_config": "hands the executor per-task settings (a pod override ...)",
    "resources": "declares the CPU, memory and disk the task needs",
    "executor": "runs the task on this one of the configured executors",
    "wait_for_downstream": "waits for the previous run's tasks right after this one",
    "max_active_tis_per_dag": "limits running instances of this task across runs",
    "max_active_tis_per_dagrun": "limits running instances of this task within a run",
    "map_index_template": "names each instance of a mapped task",
    "start_date": "does not schedule the task before its own start_date",
    "end_date": "does not schedule the task after its own end_date",
    "fail_stop": "fails the run's other running tasks as soon as one fails",
    "fail_fast": "fails the run's other running tasks as soon as one fails",
}


#: Keywords the Kubernetes executor honours and the others ignore.
KUBERNETES_KEYWORDS = frozenset({"executor_config", "resources", "executor"})


def ignored_keywords(executor: str = "local") -> dict[str, str]:
    """Keywords Conveyor still takes and ignores under ``executor``, each with its note."""
    honoured = KUBERNETES_KEYWORDS if executor in ("kubernetes", "celery_kubernetes") else ()
    return {
        keyword: note
        for keyword, note in ACCEPTED_KEYWORDS.items()
        if any(marker in note for marker in IGNORED_MARKERS) and keyword not in honoured
    }


#: Keywords Airflow takes that Conveyor refuses, with what to write instead.
REFUSED_KEYWORDS: dict[str, str] = {
    "jinja_environment_kwargs": "not supported; templates use Conveyor's Jinja settings",
    "sla_miss_callback": "",  # Conveyor has it: listed so the linter never flags it
}
REFUSED_KEYWORDS = {k: v for k, v in REFUSED_KEYWORDS.items() if v}


def lookup(module: str, name: str) -> str | None:
    """The target of ``from module import name``, or None when the table has none."""
    return MODULES.get(module, {}).get(name)


def is_package(module: str) -> bool:
    """Whether ``module`` is on the way to a mapped module (``airflow.providers`` ...)."""
    prefix = module + "."
    return any(m.startswith(prefix) for m in MODULES)


def known_module(module: str) -> bool:
    """A module the hook builds: mapped, a package of mapped ones, or one whose names
    ``INSTEAD`` explains (so the error names what to write)."""
    hinted = any(name.rpartition(".")[0] == module for name in INSTEAD)
    return module in MODULES or is_package(module) or hinted


def members(module: str) -> list[str]:
    """The names and submodules the hook gives ``module``, for messages and ``dir()``."""
    prefix = module + "."
    below = {m[len(prefix) :].split(".")[0] for m in MODULES if m.startswith(prefix)}
    return sorted(set(MODULES.get(module, {})) | below)


def why_missing(module: str, name: str | None = None) -> str:
    """The error text for an Airflow module or name the table does not map."""
    what = f"{module}.{name}" if name else module
    hint = INSTEAD.get(what)
    if hint:
        return f"{what} is not provided by Conveyor: {hint} (supported names: {DOCS})"
    refused_provider = _refused.refused_provider(what)
    if refused_provider:
        return f"{_refused.refusal(what, refused_provider)} (supported names: {DOCS})"
    provider = _providers.provider_of(what)
    if provider in _providers.PROVIDERS:
        names = _providers.provider_names(provider)
        return (
            f"{what} is not provided by Conveyor: of the {provider!r} provider it has "
            f"{', '.join(names)}{_installed.override_hint(provider)} (supported names: {DOCS})"
        )
    if provider and provider != "standard":
        return (
            f"{what} is not provided by Conveyor: operators of the {provider!r} provider "
            f"talk to outside services, which Conveyor does not ship; "
            f"{_refused.install_hint(provider)} (supported names: {DOCS})"
        )
    return f"{what} is not provided by Conveyor (supported modules and names: {DOCS})"


def _merge(extra: dict[str, dict[str, str]]) -> None:
    for module, names in extra.items():
        MODULES[module] = {**MODULES.get(module, {}), **names}


# The providers' paths live in their own module (one provider's rows beside the others'),
# and are part of this table from here on.
from conveyor.airflow_compat import installed_providers as _installed  # noqa: E402
from conveyor.airflow_compat import providers_refused as _refused  # noqa: E402
from conveyor.airflow_compat import table_libraries as _libraries  # noqa: E402
from conveyor.airflow_compat import table_providers as _providers  # noqa: E402

_merge(_providers.PROVIDER_MODULES)

# What Airflow's provider packages import of the core at the top of their modules.
_HELPERS = "conveyor.airflow_compat.provider_helpers"
_PROVIDER_EXCEPTIONS = same_names(
    _HELPERS, "AirflowProviderDeprecationWarning", "AirflowOptionalProviderFeatureException"
)
_merge(
    {
        "airflow.exceptions": _PROVIDER_EXCEPTIONS,
        "airflow.sdk.exceptions": _PROVIDER_EXCEPTIONS,
        "airflow.providers.common.compat.sdk": {
            **_PROVIDER_EXCEPTIONS,
            "XCom": "conveyor.airflow_compat.xcom_model:XCom",
        },
        "airflow.utils.strings": same_names(_HELPERS, "to_boolean"),
        "airflow.utils.helpers": same_names(_HELPERS, "exactly_one", "merge_dicts"),
    }
)
_merge(_libraries.LIBRARY_MODULES)

# Airflow core's helpers that DAG files, tasks and provider packages call: the parsing
# context, masking, timeouts, a task's own metrics, moved names (task_helpers), and the
# branch base classes a team subclasses.
_TASK_HELPERS = "conveyor.airflow_compat.task_helpers"
_PARSING_CONTEXT = same_names(
    "conveyor.loading.parsing_context", "get_parsing_context", "AirflowParsingContext"
)
_MASKING = same_names(_TASK_HELPERS, "mask_secret", "redact")
_TIMEOUT = same_names(_TASK_HELPERS, "timeout")
_POKE_ONLY = same_names(_TASK_HELPERS, "poke_mode_only")
_STATS = same_names(_TASK_HELPERS, "Stats")
_BRANCH_BASES = same_names("conveyor.airflow_compat.branching", "BaseBranchOperator", "BranchMixIn")
_SKIP_MIXIN = same_names("conveyor.airflow_compat.branching", "SkipMixin")
_XCOM_NOT_FOUND = same_names(_EXC, "XComNotFound")
_EDGE_MODIFIER = {"EdgeModifier": "conveyor:Label"}  # Label is the class Airflow's makes
_LITERAL = same_names("conveyor.model.templating", "literal", "LiteralValue")
_RESUMABLE = same_names("conveyor.airflow_compat.resumable_job", "ResumableJobMixin")
_HOOK_LINEAGE = {
    **same_names(_TASK_HELPERS, "get_hook_lineage_collector", "NoOpCollector", "HookLineage"),
    "HookLineageCollector": f"{_TASK_HELPERS}:NoOpCollector",
}
_merge(
    {
        "airflow.utils.dag_parsing_context": _PARSING_CONTEXT,
        "airflow.sdk.definitions.context": _PARSING_CONTEXT,
        "airflow.sdk": {
            **_PARSING_CONTEXT,
            **_BRANCH_BASES,
            **_EDGE_MODIFIER,
            "DagRunState": "conveyor.states:RunState",
            "TaskInstanceState": "conveyor.states:TaskState",
            "TaskInstance": "conveyor.worker.context:TaskInstanceHandle",
            "conf": f"{_CONF}:conf",
            **_RESUMABLE,
            **_SKIP_MIXIN,
            "literal": _LITERAL["literal"],
        },
        "airflow.utils.edgemodifier": _EDGE_MODIFIER,
        "airflow.sdk.definitions.edges": {**_EDGE_MODIFIER, "Label": "conveyor:Label"},
        "airflow.operators.branch": _BRANCH_BASES,
        "airflow.providers.standard.operators.branch": _BRANCH_BASES,
        "airflow.sdk.bases.branch": _BRANCH_BASES,
        "airflow.models": _SKIP_MIXIN,
        "airflow.models.skipmixin": _SKIP_MIXIN,
        "airflow.sdk.bases.skipmixin": _SKIP_MIXIN,
        "airflow.providers.standard.utils.skipmixin": _SKIP_MIXIN,
        "airflow.utils.log.secrets_masker": _MASKING,
        "airflow.sdk.log": _MASKING,
        "airflow.sdk.execution_time.secrets_masker": _MASKING,
        "airflow.sdk._shared.secrets_masker": _MASKING,
        "airflow.utils.timeout": _TIMEOUT,
        "airflow.sdk.execution_time.timeout": _TIMEOUT,
        "airflow.sensors.base": _POKE_ONLY,
        "airflow.sdk.bases.sensor": _POKE_ONLY,
        "airflow.stats": _STATS,
        "airflow.observability.stats": _STATS,
        "airflow.sdk.observability.stats": _STATS,
        "airflow.exceptions": _XCOM_NOT_FOUND,
        "airflow.sdk.exceptions": _XCOM_NOT_FOUND,
        "airflow.lineage.hook": _HOOK_LINEAGE,
        "airflow.sdk.lineage": _HOOK_LINEAGE,
        "airflow.sdk.bases.resumablejobmixin": _RESUMABLE,
        "airflow.utils.template": _LITERAL,
        "airflow.sdk.definitions.template": _LITERAL,
        "airflow.utils.deprecation_tools": same_names(
            _TASK_HELPERS, "add_deprecated_classes", "DeprecatedImportWarning"
        ),
    }
)

# What the common.compat provider's sdk module forwards, from the first path Conveyor maps.
from conveyor.airflow_compat.table_compat_sdk import COMPAT_SDK_PATHS  # noqa: E402

_compat_sdk = MODULES["airflow.providers.common.compat.sdk"]
for _name, _paths in COMPAT_SDK_PATHS.items():
    _target = next((MODULES[p][_name] for p in _paths if _name in MODULES.get(p, {})), None)
    if _target is not None:
        _compat_sdk.setdefault(_name, _target)
