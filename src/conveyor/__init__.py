"""Conveyor: a workflow orchestrator. Author DAGs with the names exported here."""

from conveyor.decorators import task
from conveyor.exceptions import Fail, Skip
from conveyor.model.dag import DAG, dag
from conveyor.model.datasets import Dataset
from conveyor.model.task import BaseOperator, chain
from conveyor.model.task_group import TaskGroup, task_group
from conveyor.model.trigger_rules import TriggerRule
from conveyor.operators import BashOperator, BranchPythonOperator, EmptyOperator, PythonOperator

__version__ = "0.1.0"

__all__ = [
    "DAG",
    "BaseOperator",
    "BashOperator",
    "BranchPythonOperator",
    "Dataset",
    "EmptyOperator",
    "Fail",
    "PythonOperator",
    "Skip",
    "TaskGroup",
    "TriggerRule",
    "__version__",
    "chain",
    "dag",
    "task",
    "task_group",
]
