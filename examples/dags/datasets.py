"""Datasets: this DAG updates two datasets; ``datasets_report.py`` runs when both are updated.

A task's ``outlets`` name the datasets it updates: when the task succeeds, each of them gets
an update event, queued for every DAG scheduled on it.
"""

from conveyor import DAG, BashOperator, Dataset, task

ORDERS = Dataset("file:///warehouse/orders")
CUSTOMERS = Dataset("file:///warehouse/customers")

with DAG("datasets_export", schedule=None, tags=["example", "toolkit"]):
    orders = BashOperator(
        task_id="export_orders", bash_command="echo exporting orders", outlets=[ORDERS]
    )

    @task(outlets=[CUSTOMERS])
    def export_customers() -> str:
        return "customers exported"

    orders >> export_customers()
