"""The operators that ship with Conveyor."""

from conveyor.operators.bash import BashOperator
from conveyor.operators.empty import EmptyOperator
from conveyor.operators.python import BranchPythonOperator, PythonOperator

__all__ = ["BashOperator", "BranchPythonOperator", "EmptyOperator", "PythonOperator"]
