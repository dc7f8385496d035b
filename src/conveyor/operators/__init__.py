"""The operators that ship with Conveyor."""

from conveyor.operators.bash import BashOperator
from conveyor.operators.empty import EmptyOperator
from conveyor.operators.latest_only import LatestOnlyOperator
from conveyor.operators.python import BranchPythonOperator, PythonOperator
from conveyor.operators.short_circuit import ShortCircuitOperator

__all__ = [
    "BashOperator",
    "BranchPythonOperator",
    "EmptyOperator",
    "LatestOnlyOperator",
    "PythonOperator",
    "ShortCircuitOperator",
]
