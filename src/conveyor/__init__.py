"""Conveyor: a workflow orchestrator. Author DAGs with the names exported here."""

from conveyor.decorators import setup, task, teardown
from conveyor.exceptions import Fail, Skip
from conveyor.model.dag import DAG, dag
from conveyor.model.datasets import Dataset
from conveyor.model.dependencies import chain
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

__version__ = "0.1.0"

__all__ = [
    "DAG",
    "BaseOperator",
    "BashOperator",
    "BashSensor",
    "BranchPythonOperator",
    "Dataset",
    "DayOfWeekSensor",
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
    "TaskGroup",
    "TimeDeltaSensor",
    "TriggerRule",
    "__version__",
    "chain",
    "dag",
    "setup",
    "task",
    "task_group",
    "teardown",
]
