"""Conveyor: a workflow orchestrator. Author DAGs with the names exported here.

The names are imported on first use (PEP 562): a process that imports only part of the
package, such as the command line reading its configuration, does not pay for the DAG
authoring API, its operators and sensors.
"""

from __future__ import annotations

import importlib

# Not typing's: every ``conveyor`` command line imports this package first, and typing
# costs as much as the rest of a quick command's client (mypy reads any TYPE_CHECKING so).
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from conveyor.decorators import setup, task, teardown
    from conveyor.exceptions import Fail, Skip
    from conveyor.model.dag import DAG, dag
    from conveyor.model.datasets import Dataset
    from conveyor.model.deadlines import (
        AsyncCallback,
        DeadlineAlert,
        DeadlineReference,
        SyncCallback,
    )
    from conveyor.model.dependencies import chain, chain_linear
    from conveyor.model.edges import Label
    from conveyor.model.params import Param
    from conveyor.model.task import BaseOperator
    from conveyor.model.task_group import TaskGroup, task_group
    from conveyor.model.trigger_rules import TriggerRule
    from conveyor.operators import (
        BashOperator,
        BranchPythonOperator,
        EmptyOperator,
        ExternalPythonOperator,
        LatestOnlyOperator,
        PythonOperator,
        PythonVirtualenvOperator,
        ShortCircuitOperator,
    )
    from conveyor.sensors import (
        BashSensor,
        DayOfWeekSensor,
        PokeReturnValue,
        PythonSensor,
        TimeDeltaSensor,
    )
    from conveyor.worker.task_state import NEVER_EXPIRE

__version__ = "0.1.0"

#: Each exported name and the module that defines it.
_EXPORTS: dict[str, str] = {
    "setup": "conveyor.decorators",
    "task": "conveyor.decorators",
    "teardown": "conveyor.decorators",
    "Fail": "conveyor.exceptions",
    "Skip": "conveyor.exceptions",
    "DAG": "conveyor.model.dag",
    "dag": "conveyor.model.dag",
    "Dataset": "conveyor.model.datasets",
    "AsyncCallback": "conveyor.model.deadlines",
    "DeadlineAlert": "conveyor.model.deadlines",
    "DeadlineReference": "conveyor.model.deadlines",
    "SyncCallback": "conveyor.model.deadlines",
    "chain": "conveyor.model.dependencies",
    "chain_linear": "conveyor.model.dependencies",
    "Label": "conveyor.model.edges",
    "Param": "conveyor.model.params",
    "BaseOperator": "conveyor.model.task",
    "TaskGroup": "conveyor.model.task_group",
    "task_group": "conveyor.model.task_group",
    "TriggerRule": "conveyor.model.trigger_rules",
    "BashOperator": "conveyor.operators",
    "BranchPythonOperator": "conveyor.operators",
    "EmptyOperator": "conveyor.operators",
    "ExternalPythonOperator": "conveyor.operators",
    "LatestOnlyOperator": "conveyor.operators",
    "PythonOperator": "conveyor.operators",
    "PythonVirtualenvOperator": "conveyor.operators",
    "ShortCircuitOperator": "conveyor.operators",
    "BashSensor": "conveyor.sensors",
    "DayOfWeekSensor": "conveyor.sensors",
    "PokeReturnValue": "conveyor.sensors",
    "PythonSensor": "conveyor.sensors",
    "TimeDeltaSensor": "conveyor.sensors",
    # Airflow 3.3's task state store: a retention that never expires.
    "NEVER_EXPIRE": "conveyor.worker.task_state",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later reads skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "DAG",
    "NEVER_EXPIRE",
    "AsyncCallback",
    "BaseOperator",
    "BashOperator",
    "BashSensor",
    "BranchPythonOperator",
    "Dataset",
    "DayOfWeekSensor",
    "DeadlineAlert",
    "DeadlineReference",
    "EmptyOperator",
    "ExternalPythonOperator",
    "Fail",
    "Label",
    "LatestOnlyOperator",
    "Param",
    "PokeReturnValue",
    "PythonOperator",
    "PythonSensor",
    "PythonVirtualenvOperator",
    "ShortCircuitOperator",
    "Skip",
    "SyncCallback",
    "TaskGroup",
    "TimeDeltaSensor",
    "TriggerRule",
    "__version__",
    "chain",
    "chain_linear",
    "dag",
    "setup",
    "task",
    "task_group",
    "teardown",
]
