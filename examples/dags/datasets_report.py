"""Scheduled by data: runs once both datasets of ``datasets.py`` have been updated.

The updates that started the run are in ``dag_run.conf["dataset_events"]`` (a run
triggered by hand has none).
"""

from conveyor import DAG, Dataset, task

ORDERS = Dataset("file:///warehouse/orders")
CUSTOMERS = Dataset("file:///warehouse/customers")

with DAG("datasets_report", schedule=[ORDERS, CUSTOMERS], tags=["example", "toolkit"]):

    @task
    def report(dag_run=None) -> list[str]:
        return sorted(event["uri"] for event in dag_run.conf.get("dataset_events", []))

    report()
