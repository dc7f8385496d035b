"""Task groups and pools: give a pipeline structure, and limit what reaches one system.

Try it:

    conveyor pools set warehouse 2 --description "the warehouse takes two loads at once"
    conveyor dags trigger groups_and_pools
    conveyor pools list                                   # the warehouse's slots in use
    conveyor tasks why groups_and_pools latest load.load_invoices
        # while two loads run: waiting for a slot in pool 'warehouse' (2 of 2 used)

Without the pool, the loads wait and `conveyor tasks why` says that the pool does not exist.
In the web UI's Graph tab, each group is one node: click it to open it, click its label to
close it again.
"""

import time

from conveyor import DAG, EmptyOperator, TaskGroup, task, task_group

SOURCES = ("orders", "customers", "invoices")

with DAG("groups_and_pools", schedule=None, max_active_tasks=8, tags=["example", "toolkit"]):
    start = EmptyOperator(task_id="start")

    # Every task made inside gets the id "extract.<task_id>" and the group's default_args.
    with TaskGroup("extract", tooltip="pull each source", default_args={"retries": 2}) as extract:
        for source in SOURCES:

            @task(task_id=f"pull_{source}")
            def pull(name: str = source) -> int:
                time.sleep(0.1)
                return len(name) * 100  # rows pulled

            pull()

    @task_group
    def load() -> None:
        """Load the warehouse: two loads at a time, the biggest tables first."""
        loads = []
        for weight, table in enumerate(reversed(SOURCES), start=1):  # orders weighs most

            @task(task_id=f"load_{table}", pool="warehouse", priority_weight=weight)
            def load_table(name: str = table) -> str:
                time.sleep(0.3)
                return f"loaded {name}"

            loads.append(load_table())

        # Takes both of the pool's slots: it never runs beside a load.
        @task(pool="warehouse", pool_slots=2)
        def rebuild_indexes() -> None:
            time.sleep(0.2)

        loads >> rebuild_indexes()

    with TaskGroup("report", tooltip="check, then publish") as report:
        with TaskGroup("checks") as checks:  # nested: ids "report.checks.<task_id>"
            EmptyOperator(task_id="row_counts") >> EmptyOperator(task_id="freshness")
        checks >> EmptyOperator(task_id="publish")

    start >> extract >> load() >> report
