"""The operators that ship with Conveyor."""

from conveyor.operators.bash import BashOperator
from conveyor.operators.empty import EmptyOperator
from conveyor.operators.latest_only import LatestOnlyOperator
from conveyor.operators.python import BranchPythonOperator, PythonOperator
from conveyor.operators.short_circuit import ShortCircuitOperator
from conveyor.operators.virtualenv import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)

__all__ = [
    "BashOperator",
    "BranchExternalPythonOperator",
    "BranchPythonOperator",
    "BranchPythonVirtualenvOperator",
    "EmptyOperator",
    "ExternalPythonOperator",
    "LatestOnlyOperator",
    "PythonOperator",
    "PythonVirtualenvOperator",
    "ShortCircuitOperator",
]
