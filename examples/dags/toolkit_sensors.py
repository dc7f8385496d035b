"""Sensors: wait for a file, a time, another DAG's task, an endpoint or a query.

``mode="reschedule"`` gives the worker slot back between pokes (the task shows as
``up_for_reschedule``); ``poke`` keeps it and loops. ``timeout`` counts from the first poke;
``soft_fail`` skips instead of failing when it runs out.
"""

from pathlib import Path

from conveyor import DAG, task
from conveyor.sensors import DateTimeSensor, FileSensor

DATA = Path(__file__).parent / "data"

with DAG("toolkit_sensors", schedule=None, tags=["example", "toolkit"]):
    orders_file = FileSensor(
        task_id="orders_file",
        filepath=str(DATA / "orders*.csv"),  # a pattern: done when anything matches
        mode="reschedule",
        poke_interval=30,
        timeout=6 * 3600,
    )
    start_of_interval = DateTimeSensor(
        task_id="start_of_interval",
        target_time="{{ data_interval_start }}",
        poke_interval=60,
        timeout=3600,
        soft_fail=True,
    )

    @task
    def count_files(ti=None) -> int:
        return len(ti.xcom_pull("orders_file"))

    [orders_file, start_of_interval] >> count_files()
    # Also: HttpSensor(url=... or conn_id=..., response_check="ready"),
    # SqlSensor(conn_id=..., sql="SELECT COUNT(*) FROM t WHERE ds = :ds", parameters=...),
    # ExternalTaskSensor(external_dag_id=..., external_task_id=...): see docs/toolkit.md.
